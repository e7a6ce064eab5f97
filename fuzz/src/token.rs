//! Signed-token verification: arbitrary strings go through `identity::validate` and the token
//! key ring and directory of a policy with one HS256 key per token use, compiled once per process. Nothing but
//! a token signed with one of those keys may verify, and the fuzzer cannot forge HMAC-SHA256: any
//! input that verifies, other than the exact tokens [`mint`] signs (fixed claims), is a forgery.

use std::sync::OnceLock;

use portcullis::credential::Carrier;
use portcullis::identity;
use portcullis::kinds::{CredentialKind, KeyUse};
use portcullis::policy::{self, Snapshot};
use portcullis::token::claims::Claims;

use crate::scratch;

/// The time every verification happens at (2026-01-01), so seeds stay valid.
pub const NOW: i64 = 1_767_225_600;

/// Every token use, accepted by the fuzzed verifications.
const USES: [KeyUse; 3] = [KeyUse::Account, KeyUse::Temporary, KeyUse::Base];

const POLICY: &str = r#"{
  "mode": "limited-access",
  "upstreams": { "app": { "url": "builtin:echo" } },
  "routes": [],
  "signing_keys": {
    "acct-1": { "use": "account", "alg": "HS256", "secret": { "inline": "fuzz-account-secret-0123456789abcdef" } },
    "temp-1": { "use": "temporary", "alg": "HS256", "secret": { "inline": "fuzz-temporary-secret-0123456789abcd" } },
    "base-1": { "use": "base", "alg": "HS256", "secret": { "inline": "fuzz-base-secret-0123456789abcdefghij" } }
  }
}"#;

/// The compiled policy, built on first use.
pub fn snapshot() -> &'static Snapshot {
    static SNAPSHOT: OnceLock<Snapshot> = OnceLock::new();
    SNAPSHOT.get_or_init(|| {
        let path = scratch::write("token-policy.json", POLICY.as_bytes());
        let input = policy::load(&path).expect("fuzz token policy loads");
        policy::compile(input).expect("fuzz token policy compiles")
    })
}

/// A valid token of `use_` for alice with fixed claims (so the same string every time), for the
/// seeds and the replay test.
pub fn mint(use_: KeyUse) -> String {
    let mut claims = Claims::new(use_, "alice", NOW - 60, 3600);
    claims.jti = format!("fuzz-seed-{use_:?}");
    snapshot().directory.keys.sign(&claims).expect("sign")
}

/// The minted tokens, one per use: the only strings that may verify.
fn minted() -> &'static [String] {
    static MINTED: OnceLock<Vec<String>> = OnceLock::new();
    MINTED.get_or_init(|| USES.iter().map(|u| mint(*u)).collect())
}

/// Check one input.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let s = snapshot();
    // The key ring checks signature and claims; the directory adds revocation (alice is no user
    // of this policy, so her tokens are revoked there).
    let verified = s.directory.keys.verify(text, &USES, NOW).is_ok();
    let _ = s.directory.verify(text, &USES, NOW);
    let kinds = [
        CredentialKind::ApiKey,
        CredentialKind::Account,
        CredentialKind::Temporary,
        CredentialKind::Base,
        CredentialKind::ApiToken,
    ];
    let _ = identity::validate(
        portcullis::decision::sources(s),
        Carrier::Authorization,
        text,
        &kinds,
        NOW,
    );
    if verified {
        assert!(
            minted().iter().any(|m| m == text),
            "a token nobody minted verified: {text:?}"
        );
    }
}
