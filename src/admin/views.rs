//! The admin listener's read-only views of the running policy: the compiled route table, keys
//! and users with their state, recent denials, and `POST /decide`, which explains a hypothetical
//! request exactly as `portcullis explain` does. Ids, states and times only: never a digest, a
//! password hash or a secret.

use http::Method;
use serde_json::{Value, json};

use crate::denials::Denials;
use crate::explain::{self, Who};
use crate::policy::Snapshot;
use crate::route::{Target, ValueSource};

/// Unix seconds as RFC 3339 UTC.
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn source(v: Option<&ValueSource>) -> Value {
    match v {
        None => Value::Null,
        Some(ValueSource::Literal(s)) => json!(s),
        Some(ValueSource::Path(p)) => json!({ "path": p }),
        Some(ValueSource::Query(q)) => json!({ "query": q }),
        Some(ValueSource::SeaTableBase(p)) => json!({ "seatable_base": p }),
    }
}

/// `GET /routes`: every route in precedence order (the order the policy lists them; among routes
/// on one path template, those naming methods, then those with more query constraints, win).
pub fn routes(s: &Snapshot) -> Value {
    let routes: Vec<Value> = s
        .routes
        .routes
        .iter()
        .map(|r| {
            let target = match r.target {
                Target::Upstream(i) => json!({ "upstream": s.upstreams.get(i).map(|u| &u.name) }),
                Target::Builtin(e) => json!({ "builtin": format!("{e:?}") }),
            };
            json!({
                "id": r.id,
                "index": r.index,
                "methods": r.methods.iter().map(Method::as_str).collect::<Vec<_>>(),
                "path": r.template,
                "module": source(r.module.as_ref()),
                "action": source(r.action.as_ref()),
                "resources": r.resources.iter().map(|(n, v)| (n.clone(), source(Some(v)))).collect::<serde_json::Map<_, _>>(),
                "public": r.public(),
                "rank": { "has_methods": r.rank().0, "query_constraints": r.rank().1 },
                "target": target,
            })
        })
        .collect();
    json!({ "generation": s.generation, "routes": routes })
}

/// The state of a credential at `now`.
fn state(
    disabled: bool,
    not_before: Option<i64>,
    expires_at: Option<i64>,
    now: i64,
) -> &'static str {
    if disabled {
        "disabled"
    } else if not_before.is_some_and(|t| now < t) {
        "not_yet_valid"
    } else if expires_at.is_some_and(|t| now >= t) {
        "expired"
    } else {
        "valid"
    }
}

/// `GET /keys`: each key's id, state and validity window (never its digest).
pub fn keys(s: &Snapshot, now: i64) -> Value {
    let keys: Vec<Value> = s
        .keys
        .iter()
        .map(|k| {
            json!({
                "id": k.id(),
                "state": state(k.disabled(), k.not_before(), k.expires_at(), now),
                "not_before": k.not_before().map(rfc3339),
                "expires_at": k.expires_at().map(rfc3339),
                "modules": k.grants().modules.keys().collect::<std::collections::BTreeSet<_>>(),
            })
        })
        .collect();
    // contract.fit keys the management APIs created: their user and scoped roles, never a digest.
    let managed: Vec<Value> = s
        .managed
        .keys
        .iter()
        .zip(&s.managed.state.api_keys)
        .map(|(k, raw)| {
            json!({
                "id": k.id,
                "state": state(!k.usable, None, k.expires_at, now),
                "expires_at": k.expires_at.map(rfc3339),
                "user": raw.user,
                "roles": raw.roles,
            })
        })
        .collect();
    json!({ "generation": s.generation, "keys": keys, "managed_keys": managed })
}

/// `GET /users`: each user's name and state (never a password hash or TOTP secret).
pub fn users(s: &Snapshot) -> Value {
    let mut users: Vec<Value> = s
        .directory
        .users
        .values()
        .map(|u| {
            json!({
                "name": u.name,
                "state": if u.disabled { "disabled" } else { "valid" },
                "two_factor": u.totp.is_some(),
                "tokens_valid_after": u.tokens_valid_after.map(rfc3339),
            })
        })
        .collect();
    users.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    json!({ "generation": s.generation, "users": users })
}

/// `GET /denials`: the recent denials, newest first.
pub fn denials(d: &Denials) -> Value {
    let (recent, total) = d.recent();
    let recent: Vec<Value> = recent
        .iter()
        .map(|d| {
            let mut v = serde_json::to_value(d).unwrap_or_default();
            let at =
                time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(d.at_ms) * 1_000_000)
                    .ok()
                    .and_then(|t| {
                        t.format(&time::format_description::well_known::Rfc3339)
                            .ok()
                    });
            v["time"] = json!(at);
            v
        })
        .collect();
    json!({ "total": total, "recent": recent })
}

/// What `POST /decide` takes: a hypothetical request.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hypothetical {
    /// The method (default GET).
    #[serde(default = "get")]
    pub method: String,
    /// Path and query.
    pub path: String,
    /// The Host, if any.
    pub host: Option<String>,
    /// Decide as this key (by id; secrets are not taken here).
    pub key_id: Option<String>,
}

fn get() -> String {
    "GET".into()
}

/// `POST /decide`: the report `portcullis explain` prints, and whether it would be allowed.
pub fn decide(s: &Snapshot, h: &Hypothetical, now: i64) -> Result<Value, &'static str> {
    let method = Method::from_bytes(h.method.as_bytes()).map_err(|_| "invalid method")?;
    let who = h.key_id.as_deref().map_or(Who::Nobody, Who::KeyId);
    let (report, allowed) = explain::explain(s, &method, &h.path, h.host.as_deref(), who, now);
    Ok(json!({ "allowed": allowed, "report": report }))
}
