//! Fuzz target: see [`portcullis_fuzz::linea21`] for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portcullis_fuzz::linea21::run(data));
