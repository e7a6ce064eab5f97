//! Fuzz target: see [`portcullis_fuzz::policy`] for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portcullis_fuzz::policy::run(data));
