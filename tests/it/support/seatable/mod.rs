//! The SeaTable token setup: the gateway on top of `Harness` with SeaTable's requests
//! (`gateway`), the test policy (`policy`), and key material with a token forger (`keys`).
//!
//! The HTTP clients, the recording upstream and the gateway harness are the shared ones of
//! `support`.

#![allow(
    dead_code,
    reason = "each test module uses a different part of the support code"
)]

pub mod gateway;
pub mod keys;
pub mod policy;

pub use crate::support::client::Resp;
pub use gateway::{Gw, form, rows_path, std_rows_path};
pub use policy::*;
