//! Fuzz target: see [`portcullis_fuzz::php_name`] for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portcullis_fuzz::php_name::run(data));
