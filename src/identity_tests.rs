//! Tests of `identity`.
use std::sync::Arc;

use super::*;

fn index(key: Key) -> KeyIndex {
    let mut ix = KeyIndex::default();
    ix.insert(key).unwrap();
    ix.finish();
    ix
}

fn key(secret: &str) -> Key {
    Key {
        id: "k1".into(),
        digest: digest(secret),
        grants: Arc::new(Grants::default()),
        status: "P".into(),
        not_before: Some(100),
        expires_at: Some(200),
        disabled: false,
    }
}

#[test]
fn validity_window_and_state() {
    let ix = index(key("s3cret"));
    assert_eq!(
        validate_key(&ix, &digest("s3cret"), 150).unwrap().id(),
        "k1"
    );
    assert!(matches!(
        validate_key(&ix, &digest("other"), 150),
        Err(Rejection::UnknownCredential)
    ));
    assert!(matches!(
        validate_key(&ix, &digest("s3cret"), 99),
        Err(Rejection::CredentialNotYetValid)
    ));
    assert!(matches!(
        validate_key(&ix, &digest("s3cret"), 200),
        Err(Rejection::CredentialExpired)
    ));
    let mut k = key("s3cret");
    k.disabled = true;
    let ix = index(k);
    assert!(matches!(
        validate_key(&ix, &digest("s3cret"), 150),
        Err(Rejection::CredentialDisabled)
    ));
    assert!(matches!(
        assume_key(&ix, "k1", 150),
        Err(Rejection::CredentialDisabled)
    ));
}

#[test]
fn digests_are_equal_only_when_every_byte_is() {
    let a = digest("a secret");
    assert!(same_digest(&a, &digest("a secret")));
    for at in [0, 7, 8, 15, 16, 23, 24, 31] {
        let mut b = a;
        b[at] ^= 0x01;
        assert!(!same_digest(&a, &b), "byte {at} differs");
    }
}
