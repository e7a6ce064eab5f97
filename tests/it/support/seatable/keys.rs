//! Key material the test policies use, and a forger: tests sign tokens themselves with
//! jsonwebtoken (or by hand for `alg: none`) to prove what the gateway refuses and accepts.
//!
//! The HS256 secrets reach the gateway through the injected environment (`{"env": ...}`); the
//! Ed25519 private key through a file, its public key inline.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// Account-token HS256 secret (env `PC_ACCT_KEY`, kid `acct-1`).
pub const ACCT_SECRET: &str = "acct-secret-5c1f0e8d7a6b4c3d2e1f0a9b8c7d6e5f";
/// Temporary-token HS256 secret (env `PC_TEMP_KEY`, kid `temp-1`).
pub const TEMP_SECRET: &str = "temp-secret-0a1b2c3d4e5f60718293a4b5c6d7e8f9";
/// Base-token HS256 secret (env `PC_BASE_KEY`, kid `base-1`).
pub const BASE_SECRET: &str = "base-secret-f9e8d7c6b5a4938271605f4e3d2c1b0a";
/// A second base-token secret, for rotation (env `PC_BASE_KEY_2`, kid `base-2`).
pub const BASE_SECRET_2: &str = "base-secret-two-77665544332211000011223344556677";

/// SeaTable's deployment secret, `DTABLE_PRIVATE_KEY` (env of the same name, signing key
/// `dtable` with `"shape": "seatable"` once `policy::seatable_interop` adds it).
pub const DTABLE_SECRET: &str = "dtable-private-key-1f2e3d4c5b6a79880796a5b4c3d2e1f0";

/// Ed25519 base key (kid `base-ed`): PKCS#8 private key.
pub const ED_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIH8sr6qyIgUZyBgVFJfeWyQy2t3EbRyVO1wXMMCPsC6c
-----END PRIVATE KEY-----
";
/// Ed25519 base key (kid `base-ed`): public key.
pub const ED_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAU0oTupSN6d8EWpOBLT9ycyGZuBd/KvBtwPWZ29YsEpw=
-----END PUBLIC KEY-----
";
/// An Ed25519 key the gateway does not know.
pub const ED_OTHER_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIMF/5meV6r4YW8ntRMImyNlfO3pj5LxNvi/7m3JbRubA
-----END PRIVATE KEY-----
";

/// The environment the gateway's reloader sees.
pub fn env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("PC_ACCT_KEY", ACCT_SECRET),
        ("PC_TEMP_KEY", TEMP_SECRET),
        ("PC_BASE_KEY", BASE_SECRET),
        ("PC_BASE_KEY_2", BASE_SECRET_2),
        ("DTABLE_PRIVATE_KEY", DTABLE_SECRET),
    ]
}

/// Claims as the gateway writes them, for `kind` (`account`, `temporary`, `base`).
pub fn claims(kind: &str, sub: &str, now: i64, ttl: i64) -> Value {
    json!({
        "kind": kind,
        "sub": sub,
        "iat": now,
        "exp": now + ttl,
        "jti": hex::encode(rand::random::<[u8; 16]>()),
    })
}

/// Base-token claims for `base` with `perm` (`rw` or `r`).
pub fn base_claims(sub: &str, base: &str, perm: &str, now: i64, ttl: i64) -> Value {
    let mut c = claims("base", sub, now, ttl);
    c["dtable_uuid"] = json!(base);
    c["permission"] = json!(perm);
    c["username"] = json!(sub);
    c
}

/// Base-token claims exactly as dtable-web writes them (integer `exp`, no `kid` in the header
/// when signed with `hs256(None, DTABLE_SECRET, ..)`). `app`: minted from an API token.
pub fn dtable_web_base(user: &str, app: Option<&str>, base: &str, perm: &str, exp: i64) -> Value {
    let mut c = json!({
        "exp": exp,
        "dtable_uuid": base,
        "username": user,
        "permission": perm,
        "id_in_org": "",
        "org_id": -1,
        "owner_id": user,
        "user_department_ids_map": {
            "current_user_department_ids": [],
            "current_user_department_and_sub_ids": []
        },
    });
    if let Some(app) = app {
        c["app_name"] = json!(app);
    }
    c
}

/// Temporary API token claims exactly as dtable-web writes them (decimal `exp`).
pub fn dtable_web_temp(user: &str, base: &str, exp: f64) -> Value {
    json!({ "username": user, "dtable_uuid": base, "exp": exp })
}

/// Sign `claims` with an HS256 `secret` under `kid` (`None`: no kid).
pub fn hs256(kid: Option<&str>, secret: &str, claims: &Value) -> String {
    portcullis::token::crypto::install();
    let mut h = Header::new(Algorithm::HS256);
    h.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&h, claims, &EncodingKey::from_secret(secret.as_bytes())).expect("sign")
}

/// Sign `claims` with an Ed25519 PEM private key under `kid`.
pub fn eddsa(kid: &str, private_pem: &str, claims: &Value) -> String {
    portcullis::token::crypto::install();
    let mut h = Header::new(Algorithm::EdDSA);
    h.kid = Some(kid.to_owned());
    let key = EncodingKey::from_ed_pem(private_pem.as_bytes()).expect("ed25519 pem");
    jsonwebtoken::encode(&h, claims, &key).expect("sign")
}

/// An unsigned token: `{"alg": "none"}` header, empty signature.
pub fn unsigned(kid: &str, claims: &Value) -> String {
    let h = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT", "kid": kid}).to_string());
    let c = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{h}.{c}.")
}

/// A token's header and claims, read without verifying.
pub fn peek(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut next = || {
        let b = URL_SAFE_NO_PAD
            .decode(parts.next().expect("token part"))
            .expect("base64url");
        serde_json::from_slice::<Value>(&b).expect("json")
    };
    let header = next();
    (header, next())
}

/// The `kid` a token was signed under.
pub fn kid_of(token: &str) -> String {
    peek(token).0["kid"]
        .as_str()
        .expect("token has a kid")
        .to_owned()
}
