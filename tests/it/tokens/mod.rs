//! Token feature tests: SeaTable-compatible token endpoints and signed-token verification on
//! proxied routes, over real HTTP against an in-process gateway on port 0 with a recording
//! upstream and a manual clock.
//!
//! Each module tests one concept; `crate::support::seatable` holds their setup.

mod api_tokens;
mod cli;
mod endpoints;
mod forged;
mod last_access;
mod login;
mod permission_changes;
mod revocation;
mod rotation;
mod scope;
mod seatable_catch_all;
mod seatable_forged;
mod seatable_minted;
mod secrets;
mod throttle;
