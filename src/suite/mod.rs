//! Policy tests: `portcullis test` runs cases — a request and the outcome it must get — through
//! the gateway's own decision (`gateway::canonicalize`, `decision::authorize`), offline, and
//! reports every failure with its file, line and the expected versus actual outcome, plus the
//! routes, keys and roles no case exercised.
//!
//! `raw` is the test file format (unknown fields refused), `run` decides the cases, `report`
//! writes the human lines and the JUnit XML.

pub mod raw;
pub mod report;
pub mod run;

pub use run::{Coverage, Outcome, SuiteError, run_files};
