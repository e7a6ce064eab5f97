//! Test support: spawn the gateway on port 0 with a policy of its own (`gateway`), a recording
//! upstream (`upstream`), the policy writer (`policy`), HTTP clients (`client`), log capture
//! (`logs`), temporary directories (`tmp`), the built binary (`cli`), a real PHP upstream (`php`),
//! a real nginx (`nginx`) and the SeaTable token setup (`seatable`).

pub mod ca;
pub mod cli;
pub mod client;
pub mod fleet;
pub mod gateway;
pub mod logs;
pub mod manage;
pub mod nginx;
pub mod php;
pub mod policy;
pub mod ports;
pub mod postgres;
pub mod redis;
pub mod seatable;
pub mod tmp;
pub mod upstream;

pub use gateway::{Harness, Options};
pub use upstream::{Reply, Upstream};
