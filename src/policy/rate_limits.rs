//! Rate-limit compilation: the raw `rate_limit` of keys, users and routes, the `quota` of keys,
//! and the top-level `rate_limits` section → each principal's `Grants` limits and the snapshot's
//! `RatePolicy`. Every error names its place; a role limit for an unknown role is an error.
//!
//! A key or user's own limit wins; otherwise the most generous (highest average rate) of its
//! roles' limits applies. Imported Linea21 tokens have no limits of their own.

use std::collections::HashMap;

use crate::grant::{Quota, RateLimit};
use crate::identity::KeyIndex;
use crate::policy::compile::Cx;
use crate::policy::keys::Roles;
use crate::policy::load::Input;
use crate::policy::locate::JsonPath;
use crate::policy::raw::{RawQuota, RawRateLimit};
use crate::ratelimit::{FailedCredentials, RatePolicy};
use crate::token::Directory;

/// A compiled limit, or an error at `at` when a number is zero.
pub fn limit(cx: &mut Cx<'_>, file: usize, at: &JsonPath, raw: RawRateLimit) -> Option<RateLimit> {
    let per_s = raw.per_s.unwrap_or(1);
    let burst = raw.burst.unwrap_or(raw.requests);
    let mut ok = true;
    for (name, v) in [
        ("requests", raw.requests),
        ("per_s", per_s),
        ("burst", burst),
    ] {
        if v == 0 {
            cx.error(
                file,
                at.key(name),
                format!("expected `{name}` of at least 1"),
            );
            ok = false;
        }
    }
    ok.then_some(RateLimit {
        requests: raw.requests,
        per_s,
        burst,
    })
}

fn quota(raw: RawQuota) -> Quota {
    Quota {
        total: raw.total,
        per_day: raw.per_day,
    }
}

/// The most generous of `limits`.
fn most_generous(limits: impl Iterator<Item = RateLimit>) -> Option<RateLimit> {
    limits.max_by(|a, b| {
        a.per_second()
            .total_cmp(&b.per_second())
            .then(a.burst.cmp(&b.burst))
    })
}

/// Compile every rate limit and quota of `input` into `keys`, `directory` and the `RatePolicy`.
pub fn compile(
    cx: &mut Cx<'_>,
    input: &Input,
    roles: &Roles,
    keys: &mut KeyIndex,
    directory: &mut Directory,
) -> RatePolicy {
    let mut rp = RatePolicy::default();
    let mut role_limits: HashMap<&str, RateLimit> = HashMap::new();
    let mut seen: Option<usize> = None;
    for (file, p) in &input.policies {
        let Some(section) = &p.rate_limits else {
            continue;
        };
        let at = JsonPath::root().key("rate_limits");
        if let Some(first) = seen.replace(*file) {
            let other = cx.place(first, &at);
            cx.error(
                *file,
                at,
                format!("`rate_limits` is already set at {other}"),
            );
            continue;
        }
        for (role, raw) in &section.roles {
            let here = at.key("roles").key(role);
            if !roles.contains_key(role) {
                let mut known: Vec<&str> = roles.keys().map(String::as_str).collect();
                known.sort_unstable();
                let msg = format!(
                    "unknown role `{role}` (defined roles: {})",
                    known.join(", ")
                );
                cx.error(*file, here, msg);
            } else if let Some(l) = limit(cx, *file, &here, *raw) {
                role_limits.insert(role.as_str(), l);
            }
        }
        for (module, raw) in &section.modules {
            if let Some(l) = limit(cx, *file, &at.key("modules").key(module), *raw) {
                rp.modules.insert(module.clone(), l);
            }
        }
        if let Some(raw) = section.anonymous {
            rp.anonymous = limit(cx, *file, &at.key("anonymous"), raw);
        }
        if let Some(f) = section.failed_credentials {
            let here = at.key("failed_credentials");
            for (name, v) in [("max", f.max), ("window_s", f.window_s)] {
                if v == 0 {
                    cx.error(
                        *file,
                        here.key(name),
                        format!("expected `{name}` of at least 1"),
                    );
                }
            }
            rp.failed_credentials = Some(FailedCredentials {
                max: f.max.max(1),
                window_s: f.window_s.max(1),
            });
        }
        rp.headers = section.headers;
    }
    let of_roles = |names: &[String]| {
        most_generous(
            names
                .iter()
                .filter_map(|r| role_limits.get(r.as_str()).copied()),
        )
    };
    for (file, p) in &input.policies {
        for entry in p.keys.iter() {
            let (id, raw) = (&*entry.id, entry.rest());
            let own = raw.rate_limit.and_then(|l| {
                let at = JsonPath::root().key("keys").key(id).key("rate_limit");
                limit(cx, *file, &at, l)
            });
            let rate = own.or_else(|| of_roles(&p.keys.shape(entry).roles));
            if rate.is_none() && raw.quota.is_none() {
                // Grants start without either (most keys of a large policy).
                continue;
            }
            let Some(at) = keys.by_id(id).map(|k| k.position()) else {
                continue;
            };
            let Some(grants) = keys.grants_mut(at) else {
                continue;
            };
            grants.rate_limit = rate;
            grants.quota = raw.quota.map(quota);
        }
        for (name, raw) in &p.users {
            let at = JsonPath::root().key("users").key(name);
            let own = raw
                .rate_limit
                .and_then(|l| limit(cx, *file, &at.key("rate_limit"), l));
            if let Some(u) = directory.users.get_mut(name) {
                u.grants.rate_limit = own.or_else(|| of_roles(&raw.roles));
            }
        }
    }
    rp
}
