//! Support for the token tests: the gateway harness (`gateway`), the test policy (`policy`),
//! key material and a token forger (`keys`), a recording upstream (`upstream`), HTTP clients
//! (`client`), log capture (`logs`) and temporary directories (`tmp`).

#![allow(
    dead_code,
    reason = "each test module uses a different part of the support code"
)]

pub mod client;
pub mod gateway;
pub mod keys;
#[path = "../../common/logs.rs"]
pub mod logs;
pub mod policy;
#[path = "../../common/tmp.rs"]
pub mod tmp;
pub mod upstream;

pub use client::Resp;
pub use gateway::{Gw, form, rows_path};
pub use policy::*;
