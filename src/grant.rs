//! Grants: the permissions a principal holds, compiled for O(1) checks.
//!
//! A grant set maps a module to the actions allowed on it (or all of them), optionally limited
//! to resource values (scope) and to read-only methods. `policy::compile` builds them from keys,
//! roles and imports; `authz::decide` reads them. Nothing here knows about requests.

use std::collections::{HashMap, HashSet};

/// Actions allowed on one module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actions {
    /// `["all"]`.
    All,
    /// Exactly these.
    Some(HashSet<String>),
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
    pub modules: HashMap<String, Actions>,
    /// resource name → allowed values. A scoped principal only passes routes that capture every
    /// scoped resource with an allowed value.
    pub scope: HashMap<String, HashSet<String>>,
    /// Only read methods (GET, HEAD).
    pub read_only: bool,
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
        g.scope.insert("inbox".into(), ["a".to_string()].into());
        assert!(g.in_scope(&[("inbox", "a")]));
        assert!(g.in_scope(&[("inbox", "a"), ("document", "d")]));
        assert!(!g.in_scope(&[("inbox", "b")]));
        assert!(!g.in_scope(&[]));
        assert!(Grants::default().in_scope(&[]));
    }
}
