//! Fuzz target: see [`portcullis_fuzz::upstream_response`] for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portcullis_fuzz::upstream_response::run(data));
