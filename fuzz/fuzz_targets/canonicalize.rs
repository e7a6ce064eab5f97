//! Fuzz target: see [`portcullis_fuzz::canonicalize`] for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portcullis_fuzz::canonicalize::run(data));
