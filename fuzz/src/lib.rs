//! The bodies of Portcullis' fuzz targets, one module per target.
//!
//! Each module exposes `run(data: &[u8])`: it feeds the bytes to one parser of hostile input and
//! panics only when an invariant breaks. The libFuzzer binaries in `fuzz_targets/` call `run`, and
//! `tests/corpus.rs` replays every corpus file through the same `run`, so the corpora (seeds and
//! kept crashes) are regression tests on a machine without cargo-fuzz.
//!
//! # Layout
//!
//! - [`canonicalize`]: request targets → `canonical::canonicalize` and `parse_pairs`.
//! - [`php_name`]: parameter names → `php::php_name`, `single_value`, `mentions`.
//! - [`credential`]: header values and query → `credential::extract`.
//! - [`token`]: strings → signed-token verification against a policy with an HS256 key.
//! - [`policy`]: policy file bytes → `policy::load` + `compile`; every error located.
//! - [`linea21`]: Linea21 import bytes → the same, through a fixed policy importing them.
//! - [`scim_filter`]: SCIM filter strings → `scim::parse` and `Filter::matches`.
//! - [`upstream_response`]: upstream response bytes → `upstream_wire::response_head` and a
//!   chunked body through `upstream_chunked::Chunked`.
//! - [`request_head`]: client request bytes → `server::h1_head::Reader`, whole and in pieces,
//!   against httparse.
//! - [`scratch`]: the per-process directory the policy targets write their files to.

pub mod canonicalize;
pub mod credential;
pub mod linea21;
pub mod php_name;
pub mod policy;
pub mod request_head;
pub mod scim_filter;
pub mod scratch;
pub mod token;
pub mod upstream_response;
