//! Fuzz target: see [`portcullis_fuzz::request_head`] for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portcullis_fuzz::request_head::run(data));
