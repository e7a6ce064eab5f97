//! Policy compile from arbitrary bytes: the input is written as the policy file (one path per
//! process, see [`crate::scratch`]) and goes through `policy::load` + `policy::compile`. It never
//! panics, and every error of a readable (UTF-8) file is located: it names the file, a 1-based
//! line and column, and says what is wrong. Read as a reload reads it (streamed, each key cut
//! out and parsed from a slice of its own) it parses to the same policy, or fails the same way.

use std::path::Path;

use portcullis::policy::{self, CompileErrors, Reading};

use crate::scratch;

/// Check one input.
pub fn run(data: &[u8]) {
    let path = scratch::write("policy.json", data);
    check(&path, std::str::from_utf8(data).is_ok());
    same_streamed(&path);
}

/// Reading the policy at `path` whole and streamed gives the same policies and fingerprint, or
/// the same errors.
pub fn same_streamed(path: &Path) {
    let whole = policy::load_reading(path, &policy::no_env, Reading::Whole);
    let streamed = policy::load_reading(path, &policy::no_env, Reading::Streamed);
    match (whole, streamed) {
        (Ok(w), Ok(s)) => {
            assert_eq!(format!("{:?}", w.policies), format!("{:?}", s.policies));
            assert_eq!(w.fingerprint(), s.fingerprint());
        }
        (Err(w), Err(s)) => assert_eq!(w.to_string(), s.to_string()),
        (w, s) => panic!(
            "whole and streamed reading disagree: {:?} / {:?}",
            w.err().map(|e| e.to_string()),
            s.err().map(|e| e.to_string())
        ),
    }
}

/// Load and compile the policy at `path`; when `readable`, insist every error is located.
pub fn check(path: &Path, readable: bool) {
    let result = policy::load(path).and_then(|input| policy::compile(input).map(|_| ()));
    if let Err(errors) = result {
        assert_located(&errors, readable);
    }
}

fn assert_located(errors: &CompileErrors, readable: bool) {
    assert!(!errors.0.is_empty(), "an error without a problem");
    for p in &errors.0 {
        assert!(!p.message.is_empty(), "no message: {p}");
        assert!(!p.file.as_os_str().is_empty(), "no file: {p}");
        if readable {
            assert!(p.line >= 1 && p.column >= 1, "not located: {p}");
        }
    }
}
