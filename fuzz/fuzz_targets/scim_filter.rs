//! Fuzz target: see [`portcullis_fuzz::scim_filter`] for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portcullis_fuzz::scim_filter::run(data));
