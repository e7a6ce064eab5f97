//! The SeaTable token setup: the gateway harness (`gateway`), the test policy (`policy`), key
//! material and a token forger (`keys`), a recording upstream (`upstream`) and HTTP clients
//! (`client`).

#![allow(
    dead_code,
    reason = "each test module uses a different part of the support code"
)]

pub mod client;
pub mod gateway;
pub mod keys;
pub mod policy;
pub mod upstream;

pub use client::Resp;
pub use gateway::{Gw, form, rows_path};
pub use policy::*;
