//! `portcullis diff OLD NEW`: the access a policy change gives or takes, found by reasoning over
//! grants and routes, not by enumerating requests.
//!
//! `access` works out, for one principal (a key or a user) and one route, what the route would
//! decide — allow, deny with its reason, or "by the module and action the request names" for
//! routes that capture them — from the same compiled types the gateway decides with. `compare`
//! pairs the two snapshots' principals and routes, re-decides only the pairs where something
//! changed, and classifies each change as widening or narrowing; `report` prints it grouped by
//! credential, or as JSON.

pub mod access;
pub mod compare;
pub mod report;

pub use compare::{Diff, compare};
