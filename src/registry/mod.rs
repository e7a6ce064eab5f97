//! The registry: what the management APIs record — contract.fit roles, placeholder users and
//! scoped API keys, Trivore authorisation records — as stored (`state`) and compiled for the
//! request path (`index`).
//!
//! It is the managed counterpart of the policy files: raw (the `registry` section of the
//! gateway's own file) → compiled (`Index`) → published in the same `policy::Snapshot` as the
//! compiled policy. It imports neither the policy nor the request path; the policy hands it the
//! `Rules` it needs (what permission names and authorisation types mean).

pub mod grants;
pub mod index;
pub mod instant;
pub mod state;

pub use grants::{Binding, Delegation, Key, Scoped};
pub use index::{Fault, Index, Rules};
pub use state::State;
