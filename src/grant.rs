//! Grants: the permissions a principal holds, compiled for O(1) checks, and the limits on how
//! fast and how much it may use them.
//!
//! A grant set maps a module to the actions allowed on it (or all of them), optionally limited
//! to resource values (scope) and to read-only methods, and may carry a rate limit and a quota.
//! `policy::compile` builds them from keys, users, roles and imports; `authz::decide` reads the
//! permissions, `ratelimit` the limits. Nothing here knows about requests.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher as _};
use std::sync::Arc;

/// The hasher of the grant tables. Their keys are the policy's own module, action and resource
/// names (nothing a client chooses goes in), looked up on every request: SipHash's resistance to
/// chosen keys buys nothing here, and cost about 330 instructions a request.
pub type Hasher = foldhash::fast::RandomState;

/// A set of names in a grant table.
pub type Names = HashSet<String, Hasher>;

/// Actions allowed on one module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actions {
    /// `["all"]`.
    All,
    /// Exactly these.
    Some(Names),
}

impl Actions {
    /// Whether `action` is allowed.
    pub fn allows(&self, action: &str) -> bool {
        match self {
            Actions::All => true,
            Actions::Some(set) => set.contains(action),
        }
    }

    /// Union with `other`.
    pub fn merge(&mut self, other: &Actions) {
        match (&mut *self, other) {
            (Actions::All, _) => {}
            (_, Actions::All) => *self = Actions::All,
            (Actions::Some(a), Actions::Some(b)) => a.extend(b.iter().cloned()),
        }
    }
}

/// Everything one principal may do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// module → actions.
    pub modules: HashMap<String, Actions, Hasher>,
    /// resource name → allowed values. A scoped principal only passes routes that capture every
    /// scoped resource with an allowed value.
    pub scope: HashMap<String, Names, Hasher>,
    /// Only read methods (GET, HEAD).
    pub read_only: bool,
    /// How fast the principal may go (its own, else the most generous of its roles').
    pub rate_limit: Option<RateLimit>,
    /// How much it may use in all (API keys only).
    pub quota: Option<Quota>,
}

/// A rate: `requests` per `per_s` seconds on average, with bursts of up to `burst` (GCRA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimit {
    /// Requests per window.
    pub requests: u32,
    /// The window, in seconds.
    pub per_s: u32,
    /// Most requests at once from a rested bucket.
    pub burst: u32,
}

impl RateLimit {
    /// Requests per second, for comparing rates.
    pub fn per_second(&self) -> f64 {
        f64::from(self.requests) / f64::from(self.per_s)
    }
}

/// A usage cap: requests in all, and per UTC day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quota {
    /// Requests in all (per node, since it started).
    pub total: Option<u64>,
    /// Requests per UTC day.
    pub per_day: Option<u64>,
}

impl Grants {
    /// Whether (module, action) is granted, ignoring scope.
    pub fn permits(&self, module: &str, action: &str) -> bool {
        self.modules.get(module).is_some_and(|a| a.allows(action))
    }

    /// Whether the resource values a route captured fall inside the scope.
    pub fn in_scope(&self, resources: &[(&str, &str)]) -> bool {
        self.scope.iter().all(|(name, allowed)| {
            resources
                .iter()
                .any(|(n, v)| *n == name.as_str() && allowed.contains(*v))
        })
    }

    /// Add (module, actions) to the grants.
    pub fn add(&mut self, module: &str, actions: &Actions) {
        self.modules
            .entry(module.to_owned())
            .and_modify(|a| a.merge(actions))
            .or_insert_with(|| actions.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(a: &[&str]) -> Actions {
        Actions::Some(a.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn all_allows_everything_and_absorbs_merges() {
        let mut g = Grants::default();
        g.add("indicator", &some(&["list"]));
        assert!(g.permits("indicator", "list"));
        assert!(!g.permits("indicator", "info"));
        assert!(!g.permits("level", "list"));
        g.add("indicator", &Actions::All);
        assert!(g.permits("indicator", "info"));
        g.add("indicator", &some(&["x"]));
        assert_eq!(g.modules["indicator"], Actions::All);
    }

    #[test]
    fn scope_requires_every_scoped_resource() {
        let mut g = Grants::default();
        g.scope
            .insert("inbox".into(), std::iter::once("a".to_string()).collect());
        assert!(g.in_scope(&[("inbox", "a")]));
        assert!(g.in_scope(&[("inbox", "a"), ("document", "d")]));
        assert!(!g.in_scope(&[("inbox", "b")]));
        assert!(!g.in_scope(&[]));
        assert!(Grants::default().in_scope(&[]));
    }
}

/// Equal grant sets stored once: many keys of a policy hold the same permissions (one role, one
/// permission map repeated), and a grant set costs a few hundred bytes of hash tables. Compile
/// passes every key's grants through one pool after they are final.
#[derive(Debug, Default)]
pub struct Pool(HashMap<u64, Vec<Arc<Grants>>>);

impl Pool {
    /// The pooled copy of `grants`: an equal set seen before, or this one, kept.
    pub fn share(&mut self, grants: Arc<Grants>) -> Arc<Grants> {
        let same = self.0.entry(fingerprint(&grants)).or_default();
        if let Some(seen) = same.iter().find(|g| **g == grants) {
            return Arc::clone(seen);
        }
        same.push(Arc::clone(&grants));
        grants
    }

    /// Distinct grant sets kept.
    pub fn distinct(&self) -> usize {
        self.0.values().map(Vec::len).sum()
    }
}

/// A hash of the grant set's content, independent of the hash tables' iteration order.
fn fingerprint(g: &Grants) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let mut modules: Vec<(&String, &Actions)> = g.modules.iter().collect();
    modules.sort_unstable_by_key(|(m, _)| *m);
    for (m, a) in modules {
        m.hash(&mut h);
        match a {
            Actions::All => 0u8.hash(&mut h),
            Actions::Some(set) => {
                let mut set: Vec<&String> = set.iter().collect();
                set.sort_unstable();
                set.hash(&mut h);
            }
        }
    }
    let mut scope: Vec<(&String, &Names)> = g.scope.iter().collect();
    scope.sort_unstable_by_key(|(r, _)| *r);
    for (r, values) in scope {
        r.hash(&mut h);
        let mut values: Vec<&String> = values.iter().collect();
        values.sort_unstable();
        values.hash(&mut h);
    }
    g.read_only.hash(&mut h);
    g.rate_limit.hash(&mut h);
    g.quota.map(|q| (q.total, q.per_day)).hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod pool_tests {
    use super::*;

    fn grants(pairs: &[(&str, &[&str])]) -> Grants {
        let mut g = Grants::default();
        for (m, acts) in pairs {
            g.add(
                m,
                &Actions::Some(acts.iter().map(|a| (*a).to_owned()).collect()),
            );
        }
        g
    }

    #[test]
    fn equal_sets_are_stored_once_whatever_their_order() {
        let mut pool = Pool::default();
        let a = pool.share(Arc::new(grants(&[("m", &["list", "info"]), ("n", &["x"])])));
        let b = pool.share(Arc::new(grants(&[("n", &["x"]), ("m", &["info", "list"])])));
        assert!(Arc::ptr_eq(&a, &b));
        let mut other = grants(&[("m", &["list", "info"]), ("n", &["x"])]);
        other.read_only = true;
        let c = pool.share(Arc::new(other));
        assert!(!Arc::ptr_eq(&a, &c), "read-only differs");
        assert_eq!(pool.distinct(), 2);
    }
}
