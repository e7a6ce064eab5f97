//! Test support: spawn the gateway on port 0 with a policy of its own (`gateway`), a recording
//! upstream (`upstream`), the policy writer (`policy`), HTTP clients (`client`), log capture
//! (`logs`), temporary directories (`tmp`) and the built binary (`cli`).

pub mod cli;
pub mod client;
pub mod gateway;
#[path = "../../common/logs.rs"]
pub mod logs;
pub mod php;
pub mod policy;
#[path = "../../common/tmp.rs"]
pub mod tmp;
pub mod upstream;

pub use gateway::{Harness, Options};
pub use upstream::{Reply, Upstream};
