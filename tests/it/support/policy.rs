//! The policy writer: secrets and keys for tests, the standard test policy, and helpers that
//! write policy JSON to disk.
//!
//! Secrets are long and distinctive so a log scan for them means something; keys hold only the
//! SHA-256 digest, as the policy format requires.

use std::path::Path;

use serde_json::{Value, json};

/// Reads indicators and levels.
pub const READER: &str = "rdr-s3cret-8b1d4e2f9a77c031";
/// Every action on every module; content status `all`.
pub const ADMIN: &str = "adm-s3cret-5c93f0aa12de6b48";
/// `documents.list`, scoped to inbox `a`.
pub const INBOX_A: &str = "inb-s3cret-0f6e21b7c4d98a35";
/// Every indicator action, read-only.
pub const READ_ONLY: &str = "ro-s3cret-7aa40c2e9b13f566";
/// Expired on 2026-01-01.
pub const EXPIRED: &str = "exp-s3cret-1e5d7c3b2a908f44";
/// Valid from 2026-07-01.
pub const FUTURE: &str = "fut-s3cret-9d2c6b1a0e8f7d55";
/// Disabled by the operator.
pub const DISABLED: &str = "dis-s3cret-3b7a9c5e1d2f0a66";

/// Every secret above, for scanning logs and bodies.
pub const ALL_SECRETS: &[&str] = &[READER, ADMIN, INBOX_A, READ_ONLY, EXPIRED, FUTURE, DISABLED];

/// The time the test clock reads: 2026-06-01T00:00:00Z.
pub fn now() -> i64 {
    time::macros::datetime!(2026-06-01 0:00 UTC).unix_timestamp()
}

/// Lowercase hex SHA-256 of `secret`.
pub fn digest(secret: &str) -> String {
    hex::encode(portcullis::identity::digest(secret))
}

/// A key entry for `secret` with `permissions`, plus any `extra` fields.
pub fn key(secret: &str, permissions: Value, extra: Value) -> Value {
    let mut k = json!({ "sha256": digest(secret), "permissions": permissions });
    if let (Some(k), Value::Object(extra)) = (k.as_object_mut(), extra) {
        k.extend(extra);
    }
    k
}

/// The standard test policy, forwarding to `upstream_url`:
///
/// | route id | methods | path | module / action |
/// |---|---|---|---|
/// | `public` | GET | `/public/{*rest}` | public |
/// | `linea21-api` | GET, POST | `/api/` | query `module` / query `action` |
/// | `api-by-path` | GET, POST, PUT | `/api/v1/{module}/{action}` | path / path |
/// | `inbox-documents` | GET | `/inboxes/{inbox}/documents` | `documents` / `list`, resource `inbox` |
/// | `keep` | GET | `/keep/{action}` | `keep` / path, `keep_credential` |
/// | `files` | GET | `/files/{name}` | `files` / `read`, `allow_encoded_percent` |
pub fn standard(upstream_url: &str) -> Value {
    json!({
        "mode": "limited-access",
        "credential_query_params": ["token", "api_key"],
        "upstreams": { "app": { "url": upstream_url, "timeout_ms": 10000 } },
        "routes": [
            { "id": "public", "methods": ["GET"], "path": "/public/{*rest}",
              "upstream": "app", "public": true },
            { "id": "linea21-api", "methods": ["GET", "POST"], "path": "/api/",
              "module": { "query": "module" }, "action": { "query": "action" }, "upstream": "app" },
            { "id": "api-by-path", "methods": ["GET", "POST", "PUT"], "path": "/api/v1/{module}/{action}",
              "module": { "path": "module" }, "action": { "path": "action" }, "upstream": "app" },
            { "id": "inbox-documents", "methods": ["GET"], "path": "/inboxes/{inbox}/documents",
              "module": "documents", "action": "list",
              "resources": { "inbox": { "path": "inbox" } }, "upstream": "app" },
            { "id": "keep", "methods": ["GET"], "path": "/keep/{action}",
              "module": "keep", "action": { "path": "action" }, "upstream": "app",
              "keep_credential": true },
            { "id": "files", "methods": ["GET"], "path": "/files/{name}",
              "module": "files", "action": "read", "upstream": "app",
              "allow_encoded_percent": true }
        ],
        "roles": {
            "indicator-reader": { "indicator": ["list", "info"], "level": ["list"] }
        },
        "keys": {
            "reader": { "sha256": digest(READER), "roles": ["indicator-reader"] },
            "admin": key(ADMIN, json!({
                "indicator": ["all"], "level": ["all"], "documents": ["all"],
                "keep": ["all"], "files": ["all"], "upload": ["all"]
            }), json!({ "status": "all" })),
            "inbox-a": key(INBOX_A, json!({ "documents": ["list"] }),
                json!({ "scope": { "inbox": ["a"] } })),
            "read-only": key(READ_ONLY, json!({ "indicator": ["all"], "upload": ["all"] }),
                json!({ "read_only": true })),
            "expired": key(EXPIRED, json!({ "indicator": ["all"] }),
                json!({ "expires_at": "2026-01-01T00:00:00Z" })),
            "future": key(FUTURE, json!({ "indicator": ["all"] }),
                json!({ "not_before": "2026-07-01T00:00:00Z" })),
            "disabled": key(DISABLED, json!({ "indicator": ["all"] }),
                json!({ "disabled": true }))
        }
    })
}

/// Write `policy` to `path` as pretty JSON, creating parent directories.
pub fn write(path: &Path, policy: &Value) {
    write_text(
        path,
        &serde_json::to_string_pretty(policy).expect("serialize policy"),
    );
}

/// Write `text` to `path`, creating parent directories.
pub fn write_text(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create policy dir");
    }
    std::fs::write(path, text).expect("write policy");
}

/// The directory holding the repository's test fixtures.
pub fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Write `policy` to a fresh temporary directory and load + compile it there.
pub fn compile(
    policy: &Value,
) -> Result<portcullis::policy::Snapshot, portcullis::policy::CompileErrors> {
    let dir = crate::support::tmp::TempDir::new("compile");
    let path = dir.join("policy.json");
    write(&path, policy);
    portcullis::policy::load(&path).and_then(portcullis::policy::compile)
}
