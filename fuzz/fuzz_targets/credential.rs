//! Fuzz target: see [`portcullis_fuzz::credential`] for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portcullis_fuzz::credential::run(data));
