//! Pairing two snapshots: principals (keys, users) and routes by name, what changed about each,
//! and the (credential, route) pairs whose decision differs. Only pairs where the principal, the
//! route or the mode changed are re-decided, so a one-key edit in a policy of 10,000 keys and
//! 1,000 routes costs 1,000 decisions, and even a change to everything costs keys × routes
//! cheap, lookup-only decisions.

use std::collections::{BTreeMap, BTreeSet};

use crate::diff::access::{Access, Who, access, grant_map, grants_widen, widens};
use crate::kinds::CredentialKind;
use crate::policy::Snapshot;
use crate::route::{Route, Target, ValueSource};

/// One (credential, route) pair whose decision differs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Change {
    /// Key id, or `user:<name>`.
    pub credential: String,
    /// Route id.
    pub route: String,
    /// Before.
    pub old: Access,
    /// After.
    pub new: Access,
    /// Access given (or broadened) rather than taken.
    pub widening: bool,
}

/// Everything that changed.
#[derive(Debug, Default, serde::Serialize)]
pub struct Diff {
    /// Credentials only in the new policy.
    pub credentials_added: Vec<String>,
    /// Credentials only in the old policy.
    pub credentials_removed: Vec<String>,
    /// Credentials in both whose grants or state changed: id → what.
    pub credentials_changed: BTreeMap<String, Vec<String>>,
    /// Routes only in the new policy.
    pub routes_added: Vec<String>,
    /// Routes only in the old policy.
    pub routes_removed: Vec<String>,
    /// Routes in both that changed: id → what.
    pub routes_changed: BTreeMap<String, Vec<String>>,
    /// The API mode, when it changed: (old, new).
    pub mode: Option<(String, String)>,
    /// Pairs whose decision differs.
    pub access: Vec<Change>,
    /// Whether any change gives access.
    pub widens: bool,
}

/// A principal with what the diff compares.
struct Principal<'a> {
    who: Who<'a>,
    /// Validity window (not before, expires at, tokens valid after).
    window: (Option<i64>, Option<i64>),
}

fn principals(s: &Snapshot) -> BTreeMap<String, Principal<'_>> {
    let mut out = BTreeMap::new();
    for k in s.keys.iter() {
        let who = Who {
            kind: CredentialKind::ApiKey,
            grants: k.grants(),
            disabled: k.disabled(),
        };
        out.insert(
            k.id().to_owned(),
            Principal {
                who,
                window: (k.not_before(), k.expires_at()),
            },
        );
    }
    for (name, u) in &s.directory.users {
        let who = Who {
            kind: CredentialKind::Account,
            grants: &u.grants,
            disabled: u.disabled,
        };
        out.insert(
            format!("user:{name}"),
            Principal {
                who,
                window: (u.tokens_valid_after, None),
            },
        );
    }
    out
}

fn source(v: &Option<ValueSource>) -> String {
    match v {
        Some(ValueSource::Literal(s)) => s.clone(),
        Some(ValueSource::Path(p)) => format!("{{path: {p}}}"),
        Some(ValueSource::Query(q)) => format!("{{query: {q}}}"),
        Some(ValueSource::SeaTableBase(p)) => format!("{{seatable_base: {p}}}"),
        None => "-".to_owned(),
    }
}

/// A route's decision-relevant facts, by name, for comparison.
fn facts(r: &Route, s: &Snapshot) -> BTreeMap<&'static str, String> {
    let mut methods: Vec<&str> = r.methods.iter().map(|m| m.as_str()).collect();
    methods.sort_unstable();
    let target = match r.target {
        Target::Upstream(u) => s.upstreams[u].name.clone(),
        Target::Builtin(_) => "builtin".to_owned(),
    };
    let resources: Vec<String> = r
        .resources
        .iter()
        .map(|(n, v)| format!("{n}={}", source(&Some(v.clone()))))
        .collect();
    BTreeMap::from([
        ("path", r.template.clone()),
        (
            "methods",
            if methods.is_empty() {
                "any".to_owned()
            } else {
                methods.join(",")
            },
        ),
        ("module", source(&r.module)),
        ("action", source(&r.action)),
        ("resources", resources.join(",")),
        ("upstream", target),
        ("admits", format!("{:?}", r.admits)),
        ("accept", format!("{:?}", r.accept)),
    ])
}

/// Compare two snapshots.
pub fn compare(old: &Snapshot, new: &Snapshot) -> Diff {
    let mut d = Diff::default();
    let (po, pn) = (principals(old), principals(new));
    let ro: BTreeMap<&str, &Route> = old
        .routes
        .routes
        .iter()
        .map(|r| (r.id.as_str(), r))
        .collect();
    let rn: BTreeMap<&str, &Route> = new
        .routes
        .routes
        .iter()
        .map(|r| (r.id.as_str(), r))
        .collect();
    let mode_changed = old.mode != new.mode;
    if mode_changed {
        d.mode = Some((format!("{:?}", old.mode), format!("{:?}", new.mode)));
    }
    d.credentials_added = pn
        .keys()
        .filter(|k| !po.contains_key(*k))
        .cloned()
        .collect();
    d.credentials_removed = po
        .keys()
        .filter(|k| !pn.contains_key(*k))
        .cloned()
        .collect();
    d.routes_added = rn
        .keys()
        .filter(|k| !ro.contains_key(*k))
        .map(|k| k.to_string())
        .collect();
    d.routes_removed = ro
        .keys()
        .filter(|k| !rn.contains_key(*k))
        .map(|k| k.to_string())
        .collect();
    let mut changed_principals = BTreeSet::new();
    for (id, a) in &po {
        let Some(b) = pn.get(id) else { continue };
        let mut what = Vec::new();
        let (ga, gb) = (grant_map(a.who.grants), grant_map(b.who.grants));
        if ga != gb {
            what.push(format!("permissions {ga:?} -> {gb:?}"));
            d.widens |= grants_widen(&ga, &gb);
        }
        if a.who.grants.read_only != b.who.grants.read_only {
            what.push(format!(
                "read_only {} -> {}",
                a.who.grants.read_only, b.who.grants.read_only
            ));
            d.widens |= a.who.grants.read_only;
        }
        let (sa, sb) = (scope(a.who.grants), scope(b.who.grants));
        if sa != sb {
            what.push(format!("scope {sa:?} -> {sb:?}"));
            // Fewer scoped names, or more values for a name, is wider.
            d.widens |= sa
                .iter()
                .any(|(n, vals)| sb.get(n).is_none_or(|v| !v.is_subset(vals)));
        }
        if a.who.disabled != b.who.disabled {
            what.push(format!("disabled {} -> {}", a.who.disabled, b.who.disabled));
            d.widens |= a.who.disabled;
        }
        if a.window != b.window {
            what.push(format!("validity {:?} -> {:?}", a.window, b.window));
            // A bound that moves outwards, or goes away, widens.
            let opens = |x: Option<i64>, y: Option<i64>, outwards: std::cmp::Ordering| match (x, y)
            {
                (Some(x), Some(y)) => y.cmp(&x) == outwards,
                (Some(_), None) => true,
                (None, Some(_)) | (None, None) => false,
            };
            d.widens |= opens(a.window.0, b.window.0, std::cmp::Ordering::Less)
                || opens(a.window.1, b.window.1, std::cmp::Ordering::Greater);
        }
        if !what.is_empty() {
            changed_principals.insert(id.clone());
            d.credentials_changed.insert(id.clone(), what);
        }
    }
    let mut changed_routes = BTreeSet::new();
    for (id, a) in &ro {
        let Some(b) = rn.get(id) else { continue };
        let (fa, fb) = (facts(a, old), facts(b, new));
        let what: Vec<String> = fa
            .iter()
            .filter(|(k, v)| fb.get(*k) != Some(v))
            .map(|(k, v)| format!("{k} {v} -> {}", fb.get(k).map_or("-", |s| s.as_str())))
            .collect();
        if !what.is_empty() {
            changed_routes.insert(id.to_string());
            d.routes_changed.insert(id.to_string(), what);
        }
    }
    // Re-decide what may have moved.
    for (pid, b) in &pn {
        let a = po.get(pid);
        for (rid, rb) in &rn {
            let ra = ro.get(rid);
            let (old_access, new_access) = match (a, ra) {
                (Some(a), Some(ra)) => {
                    if !mode_changed
                        && !changed_principals.contains(pid)
                        && !changed_routes.contains(*rid)
                    {
                        continue;
                    }
                    (access(ra, a.who, old.mode), access(rb, b.who, new.mode))
                }
                (None, Some(_)) => (
                    Access::Deny("invalid_credential"),
                    access(rb, b.who, new.mode),
                ),
                (Some(_), None) => (Access::Deny("no_route"), access(rb, b.who, new.mode)),
                (None, None) => (Access::Deny("no_route"), access(rb, b.who, new.mode)),
            };
            // Grant changes on routes that decide by the request's module and action are the
            // credential's `permissions` line, not one line per route.
            if old_access != new_access {
                let widening = widens(&old_access, &new_access);
                d.widens |= widening;
                d.access.push(Change {
                    credential: pid.clone(),
                    route: rid.to_string(),
                    old: old_access,
                    new: new_access,
                    widening,
                });
            }
        }
    }
    d
}

fn scope(g: &crate::grant::Grants) -> BTreeMap<String, BTreeSet<String>> {
    g.scope
        .iter()
        .map(|(k, v)| (k.clone(), v.iter().cloned().collect()))
        .collect()
}
