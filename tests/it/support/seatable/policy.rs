//! The test policy: users (one with 2FA), two bases, an external link, the four HS256/EdDSA
//! signing keys and routes in both error styles, as JSON that tests edit before (re)loading.
//!
//! Passwords are hashed with cheap argon2id parameters (the PHC string carries them) so the
//! debug-built gateway verifies them quickly; the hashes are made once per test binary.

use std::sync::LazyLock;

use argon2::password_hash::PasswordHasher;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::keys::ED_PUBLIC;

/// Owner of both bases; holds `account/read` for account-token routes.
pub const ALICE: &str = "alice@example.org";
/// Read-only member of the sales base.
pub const BOB: &str = "bob@example.org";
/// Read-write member of the sales base, with 2FA.
pub const CAROL: &str = "carol@example.org";
/// A user with no base at all.
pub const MALLORY: &str = "mallory@example.org";

/// Alice's password.
pub const ALICE_PW: &str = "alice-pw-Tr0ub4dor&3-7f1c";
/// Bob's password.
pub const BOB_PW: &str = "bob-pw-correct-horse-9e2d";
/// Carol's password.
pub const CAROL_PW: &str = "carol-pw-battery-staple-41aa";
/// Mallory's password.
pub const MALLORY_PW: &str = "mallory-pw-5b7e0c11";
/// Carol's TOTP secret (base32, 160 bits).
pub const CAROL_TOTP: &str = "KRSXG5CTMVRXEZLUKN2XAZLSKNSWG4TFOQ";

/// The sales base: workspace 7, "Sales Base", with a dtable-db URL.
pub const SALES: &str = "5a1e5000-0000-4000-8000-000000000001";
/// Its name (a space, as SeaTable base names often have).
pub const SALES_NAME: &str = "Sales Base";
/// The other base: workspace 7, "Other", no dtable-db, API gateway on.
pub const OTHER: &str = "07be7000-0000-4000-8000-000000000002";
/// Its name.
pub const OTHER_NAME: &str = "Other";
/// The workspace of both bases.
pub const WS: u64 = 7;
/// An external link token of the sales base (stored as its digest).
pub const LINK_TOKEN: &str = "linktok-3f9a0c5e7d2b4a6c8e0f1a3b5c7d9e1f";

static HASHES: LazyLock<Vec<(&str, String)>> = LazyLock::new(|| {
    [ALICE_PW, BOB_PW, CAROL_PW, MALLORY_PW]
        .into_iter()
        .map(|pw| (pw, hash(pw)))
        .collect()
});

/// A fresh argon2id PHC string of `password`, with cheap parameters.
pub fn hash(password: &str) -> String {
    let params = argon2::Params::new(256, 1, 1, None).expect("argon2 params");
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    a.hash_password(password.as_bytes())
        .expect("hash")
        .to_string()
}

/// The argon2id PHC string of `password` (cached for the test users' passwords).
pub fn phc(password: &str) -> String {
    HASHES
        .iter()
        .find(|(pw, _)| *pw == password)
        .map_or_else(|| hash(password), |(_, h)| h.clone())
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// `/api/v2.1/workspace/7/dtable/<name>/<rest>`, the name percent-encoded as clients send it.
pub fn base_path(name: &str, rest: &str) -> String {
    format!(
        "/api/v2.1/workspace/{WS}/dtable/{}/{rest}",
        name.replace(' ', "%20")
    )
}

fn base_route(id: &str, prefix: &str, style: &str) -> Value {
    json!({
        "id": id, "path": format!("{prefix}/{{base}}/{{*rest}}"),
        "module": "dtable", "action": "access",
        "resources": { "base": { "path": "base" } },
        "upstream": "up", "accept": ["base"], "error_style": style
    })
}

/// The standard test policy; `upstream` is the recording upstream's URL.
pub fn standard(upstream: &str) -> Value {
    json!({
        "mode": "limited-access",
        "upstreams": { "up": { "url": upstream } },
        "routes": [
            base_route("st-rows", "/dtable-server/api/v1/dtables", "seatable"),
            base_route("gw-rows", "/api-gateway/api/v2/dtables", "seatable"),
            base_route("std-rows", "/std/dtables", "standard"),
            { "id": "account", "path": "/account/{*rest}", "module": "account", "action": "read",
              "upstream": "up", "accept": ["account"] }
        ],
        "users": {
            ALICE: { "password": phc(ALICE_PW), "permissions": { "account": ["read"] } },
            BOB: { "password": phc(BOB_PW) },
            CAROL: { "password": phc(CAROL_PW), "totp_secret": { "inline": CAROL_TOTP } },
            MALLORY: { "password": phc(MALLORY_PW) }
        },
        "signing_keys": {
            "acct-1": { "use": "account", "alg": "HS256", "secret": { "env": "PC_ACCT_KEY" } },
            "temp-1": { "use": "temporary", "alg": "HS256", "secret": { "env": "PC_TEMP_KEY" } },
            "base-1": { "use": "base", "alg": "HS256", "secret": { "env": "PC_BASE_KEY" },
                        "created": "2025-01-01T00:00:00Z" },
            "base-ed": { "use": "base", "alg": "EdDSA",
                         "private_key": { "file": "keys/base-ed.pem" },
                         "public_key": { "inline": ED_PUBLIC },
                         "created": "2024-01-01T00:00:00Z" }
        },
        "bases": {
            SALES: {
                "workspace_id": WS, "name": SALES_NAME, "owner": ALICE,
                "members": { BOB: "r", CAROL: "rw" },
                "dtable_server": "https://cloud.example/dtable-server/",
                "dtable_socket": "https://cloud.example/",
                "dtable_db": "https://cloud.example/dtable-db/"
            },
            OTHER: {
                "workspace_id": WS, "name": OTHER_NAME, "owner": ALICE,
                "dtable_server": "https://cloud.example/dtable-server/",
                "dtable_socket": "https://cloud.example/",
                "use_api_gateway": true
            }
        },
        "links": { "link-sales": { "sha256": sha256_hex(LINK_TOKEN), "base": SALES } },
        "seatable": {}
    })
}

/// The SeaTable-interop additions to the standard policy: the deployment secret as a SeaTable
/// key (`dtable`, from `DTABLE_PRIVATE_KEY`), a catch-all route `/cat/{*rest}` (standard errors)
/// whose base comes from SeaTable's path shapes, and the sales base minting SeaTable-shaped
/// tokens when `sales_shape` is `seatable`.
pub fn seatable_interop(p: &mut Value, sales_shape: &str) {
    p["signing_keys"]["dtable"] = json!({
        "shape": "seatable", "alg": "HS256", "secret": { "env": "DTABLE_PRIVATE_KEY" }
    });
    p["routes"].as_array_mut().expect("routes").push(json!({
        "id": "catch-all", "path": "/cat/{*rest}",
        "module": "dtable", "action": "access",
        "resources": { "base": { "seatable_base": "rest" } },
        "upstream": "up", "accept": ["base"]
    }));
    p["bases"][SALES]["token_shape"] = json!(sales_shape);
}
