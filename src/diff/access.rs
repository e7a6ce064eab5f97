//! What a route decides for a principal, without a request: the module and action when the
//! route names them literally, otherwise the grants the request's captured values will be
//! checked against. Mirrors `authz::decide` (and the credential-kind check of
//! `identity::validate`): a route that admits anyone allows, `full-access` allows, `disabled`
//! denies, then kind, state, permission, scope and read-only.

use std::collections::BTreeMap;

use crate::grant::{Actions, Grants};
use crate::kinds::{CredentialKind, Mode};
use crate::route::{Admits, Route, ValueSource};

/// A principal as the diff sees it.
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    /// Its kind (`api_key` for keys, `account` for users).
    pub kind: CredentialKind,
    /// What it may do.
    pub grants: &'a Grants,
    /// Disabled (or otherwise refused whatever it asks).
    pub disabled: bool,
}

/// What a route decides for a principal.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Allowed (`read_only`: GET and HEAD only; `scoped`: only for some resource values).
    Allow {
        /// Only reads.
        read_only: bool,
        /// Only for the scoped resource values.
        scoped: bool,
    },
    /// Refused with this reason code.
    Deny(&'static str),
    /// Decided by the module and action the request names, against the principal's grants
    /// (their changes are reported once per credential, not per route).
    ByGrants,
}

/// The grants as a comparable map (module → sorted actions, `["all"]`).
pub fn grant_map(g: &Grants) -> BTreeMap<String, Vec<String>> {
    g.modules
        .iter()
        .map(|(m, a)| {
            let actions = match a {
                Actions::All => vec!["all".to_owned()],
                Actions::Some(set) => {
                    let mut v: Vec<String> = set.iter().cloned().collect();
                    v.sort();
                    v
                }
            };
            (m.clone(), actions)
        })
        .collect()
}

/// What `route` decides for `who` under `mode`.
pub fn access(route: &Route, who: Who<'_>, mode: Mode) -> Access {
    match route.admits {
        Admits::Anyone => {
            return Access::Allow {
                read_only: false,
                scoped: false,
            };
        }
        Admits::AnyPrincipal | Admits::Grants | Admits::Management => {}
    }
    if route.admits == Admits::Grants {
        match mode {
            Mode::Disabled => return Access::Deny("api_disabled"),
            Mode::FullAccess => {
                return Access::Allow {
                    read_only: false,
                    scoped: false,
                };
            }
            Mode::LimitedAccess => {}
        }
    }
    if !route.accept.contains(&who.kind) {
        return Access::Deny("wrong_credential_kind");
    }
    if who.disabled {
        return Access::Deny("credential_disabled");
    }
    if route.admits == Admits::AnyPrincipal {
        return Access::Allow {
            read_only: false,
            scoped: false,
        };
    }
    let g = who.grants;
    let scoped = !g.scope.is_empty();
    if scoped
        && !g
            .scope
            .keys()
            .all(|name| route.resources.iter().any(|(n, _)| n == name))
    {
        // A scoped resource the route never captures can never be in scope.
        return Access::Deny("out_of_scope");
    }
    let literal = |v: &Option<ValueSource>| match v {
        Some(ValueSource::Literal(s)) => Some(s.clone()),
        _ => None,
    };
    match (literal(&route.module), literal(&route.action)) {
        (Some(m), Some(a)) if g.permits(&m, &a) => Access::Allow {
            read_only: g.read_only,
            scoped,
        },
        (Some(_), Some(_)) => Access::Deny("permission_denied"),
        _ => Access::ByGrants,
    }
}

/// Whether going from `old` to `new` gives access (a widening). `ByGrants` to `ByGrants` is
/// judged on the grants themselves (`grants_widen`).
pub fn widens(old: &Access, new: &Access) -> bool {
    match (old, new) {
        (Access::Deny(_), Access::Allow { .. } | Access::ByGrants) => true,
        (
            Access::Allow {
                read_only: ro_old,
                scoped: sc_old,
            },
            Access::Allow {
                read_only: ro_new,
                scoped: sc_new,
            },
        ) => (*ro_old && !ro_new) || (*sc_old && !sc_new),
        (Access::ByGrants, Access::Allow { .. }) => true,
        (Access::Allow { .. } | Access::ByGrants | Access::Deny(_), _) => false,
    }
}

/// Whether `new` grants some (module, action) that `old` does not.
pub fn grants_widen(
    old: &BTreeMap<String, Vec<String>>,
    new: &BTreeMap<String, Vec<String>>,
) -> bool {
    new.iter().any(|(m, acts)| {
        let had = old.get(m);
        let all = had.is_some_and(|o| o.iter().any(|x| x == "all"));
        !all && acts.iter().any(|a| !had.is_some_and(|o| o.contains(a)))
    })
}
