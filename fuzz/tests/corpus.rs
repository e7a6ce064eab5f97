//! Replays every file of `fuzz/corpus/<target>/` through that target's `run`, the function the
//! libFuzzer binary calls: the seeds and every kept crash are regression tests wherever plain
//! `cargo test` runs, without cargo-fuzz or nightly. Also checks that the token target's setup is
//! not vacuous (its minted tokens verify).

use std::path::Path;

use portcullis::kinds::KeyUse;
use portcullis_fuzz::{
    canonicalize, credential, linea21, php_name, policy, request_head, scim_filter, token,
    upstream_response,
};

/// Run `run` on every file under `corpus/<target>`; there must be at least one.
fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("corpus entry").path();
        let data = std::fs::read(&path).expect("read corpus file");
        run(&data);
        n += 1;
    }
    assert!(n > 0, "empty corpus {}", dir.display());
}

#[test]
fn canonicalize_corpus() {
    replay("canonicalize", canonicalize::run);
}

#[test]
fn php_name_corpus() {
    replay("php_name", php_name::run);
}

#[test]
fn credential_corpus() {
    replay("credential", credential::run);
}

#[test]
fn token_corpus() {
    replay("token", token::run);
}

#[test]
fn policy_corpus() {
    replay("policy", policy::run);
}

#[test]
fn linea21_corpus() {
    replay("linea21", linea21::run);
}

#[test]
fn scim_filter_corpus() {
    replay("scim_filter", scim_filter::run);
}

#[test]
fn minted_tokens_verify() {
    let s = token::snapshot();
    for u in [KeyUse::Account, KeyUse::Temporary, KeyUse::Base] {
        let t = token::mint(u);
        assert!(
            s.directory.keys.verify(&t, &[u], token::NOW).is_ok(),
            "{u:?}"
        );
        token::run(t.as_bytes());
    }
}

/// Writes the minted tokens to `corpus/token/` (run once with `--ignored` after changing the
/// fuzz policy's keys or claims; they are the only inputs that exercise a successful verify).
#[test]
#[ignore = "writes the token seeds"]
fn write_token_seeds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/token");
    for u in [KeyUse::Account, KeyUse::Temporary, KeyUse::Base] {
        let path = dir.join(format!("seed-minted-{u:?}").to_lowercase());
        std::fs::write(path, token::mint(u)).expect("write seed");
    }
}

#[test]
fn request_head_corpus() {
    replay("request_head", request_head::run);
}

#[test]
fn upstream_response_corpus() {
    replay("upstream_response", upstream_response::run);
}
