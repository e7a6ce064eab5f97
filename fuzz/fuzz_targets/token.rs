//! Fuzz target: see [`portcullis_fuzz::token`] for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portcullis_fuzz::token::run(data));
