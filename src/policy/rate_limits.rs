//! Rate-limit compilation: the raw `rate_limit` of keys, users and routes, the `quota` of keys,
//! and the top-level `rate_limits` section → each principal's `Grants` limits and the snapshot's
//! `RatePolicy`. Every error names its place; a role limit for an unknown role is an error.
//!
//! A key or user's own limit wins; otherwise the most generous (highest average rate) of its
//! roles' limits applies. Imported Linea21 tokens have no limits of their own.

use std::collections::HashMap;

use crate::grant::{Quota, RateLimit};
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

/// A compiled quota.
pub fn quota(raw: RawQuota) -> Quota {
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

/// The roles' rate limits, by role name.
#[derive(Debug, Default)]
pub struct RoleLimits(HashMap<String, RateLimit>);

impl RoleLimits {
    /// The most generous limit of the roles `names` (none when none has one).
    pub fn of(&self, names: &[String]) -> Option<RateLimit> {
        most_generous(names.iter().filter_map(|r| self.0.get(r.as_str()).copied()))
    }
}

/// Compile the `rate_limits` section: the `RatePolicy`, and the roles' limits that keys
/// (`keys::compile`) and users (`users`) fall back on.
pub fn section(cx: &mut Cx<'_>, input: &Input, roles: &Roles) -> (RatePolicy, RoleLimits) {
    let mut rp = RatePolicy::default();
    let mut role_limits = RoleLimits::default();
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
                role_limits.0.insert(role.clone(), l);
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
    (rp, role_limits)
}

/// The users' own rate limits, or their roles', into `directory`.
pub fn users(cx: &mut Cx<'_>, input: &Input, role_limits: &RoleLimits, directory: &mut Directory) {
    for (file, p) in &input.policies {
        for (name, raw) in &p.users {
            let at = JsonPath::root().key("users").key(name);
            let own = raw
                .rate_limit
                .and_then(|l| limit(cx, *file, &at.key("rate_limit"), l));
            if let Some(u) = directory.users.get_mut(name) {
                u.grants.rate_limit = own.or_else(|| role_limits.of(&raw.roles));
            }
        }
    }
}
