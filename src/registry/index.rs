//! The registry compiled for the request path: API keys by digest and id, roles and users by id,
//! and authorisation records by subject with their grants resolved.
//!
//! `Index::build` checks every reference (a key's user and roles, a key role within its user's
//! roles, a role's permission names, times that parse) and refuses a state that breaks one, with
//! the place (`api_keys[3].roles[0]`) and the reason; a management write that would produce such
//! a state changes nothing. Building touches only the registry, never the policy files, so a
//! write costs what the registry holds, not what the policy holds.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::grant::Grants;
use crate::registry::grants::{Binding, Delegation, Key, Scoped};
use crate::registry::instant;
use crate::registry::state::{RoleRef, State};

/// What the policy tells the registry: the grants a permission name stands for, and what each
/// authorisation type grants.
pub struct Rules<'a> {
    /// A permission name (a policy role) → its grants; `None` when unknown.
    pub permission: &'a dyn Fn(&str) -> Option<Grants>,
    /// Authorisation type → what an active record of it grants.
    pub bindings: &'a HashMap<String, Binding>,
}

/// The registry, compiled.
#[derive(Debug, Default)]
pub struct Index {
    /// What was compiled; a write edits a copy and builds a new index.
    pub state: Arc<State>,
    /// SHA-256 of the state as stored (so a reload can tell whether the file changed).
    pub sha256: String,
    /// Compiled keys, in `state.api_keys` order.
    pub keys: Vec<Key>,
    key_by_digest: HashMap<[u8; 32], usize>,
    key_by_id: HashMap<String, usize>,
    role_by_id: HashMap<String, usize>,
    user_by_id: HashMap<String, usize>,
    record_by_id: HashMap<String, usize>,
    delegations: HashMap<String, Vec<Delegation>>,
}

/// A problem with the registry: where (`api_keys[3].roles[0].role`) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct Fault {
    /// Path inside the registry section.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// SHA-256 of a state's stored form.
pub fn fingerprint(state: &State) -> String {
    hex::encode(Sha256::digest(
        serde_json::to_vec(state).unwrap_or_default(),
    ))
}

fn is_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Index {
    /// Compile `state` under `rules`.
    pub fn build(state: Arc<State>, rules: &Rules<'_>) -> Result<Index, Vec<Fault>> {
        let mut faults = Vec::new();
        let mut fault = |path: String, message: String| faults.push(Fault { path, message });
        let mut ix = Index {
            sha256: fingerprint(&state),
            ..Index::default()
        };
        let ids = |map: &mut HashMap<String, usize>, list: &str, i: usize, id: &str| {
            if !is_id(id) {
                return Some(format!(
                    "{list}[{i}].id: `{id}` is not 24 hexadecimal digits"
                ));
            }
            map.insert(id.to_owned(), i)
                .map(|_| format!("{list}[{i}].id: `{id}` is used twice"))
        };
        let mut role_grants = Vec::new();
        for (i, role) in state.roles.iter().enumerate() {
            if let Some(m) = ids(&mut ix.role_by_id, "roles", i, &role.id) {
                fault(m, "duplicate or malformed id".into());
            }
            let mut g = Grants::default();
            for (n, name) in role.permissions.iter().enumerate() {
                match permission(name, rules) {
                    Some(p) => merge(&mut g, &p),
                    None => fault(
                        format!("roles[{i}].permissions[{n}]"),
                        format!(
                            "unknown permission `{name}`: name a policy role or give `module:action`"
                        ),
                    ),
                }
            }
            role_grants.push(g);
        }
        let check_ref = |path: &str, r: &RoleRef, role_by_id: &HashMap<String, usize>| {
            if !role_by_id.contains_key(&r.role) {
                return Err(Fault {
                    path: format!("{path}.role"),
                    message: "Role does not exist".into(),
                });
            }
            if r.document_id.is_some() && r.inbox.is_none() {
                return Err(Fault {
                    path: path.to_owned(),
                    message: "a role limited to a document must also name the document's inbox"
                        .into(),
                });
            }
            Ok(())
        };
        for (i, user) in state.users.iter().enumerate() {
            if let Some(m) = ids(&mut ix.user_by_id, "users", i, &user.id) {
                fault(m, "duplicate or malformed id".into());
            }
            for (n, r) in user.roles.iter().enumerate() {
                if let Err(f) = check_ref(&format!("users[{i}].roles[{n}]"), r, &ix.role_by_id) {
                    faults_push(&mut fault, f);
                }
            }
        }
        let mut digests = HashSet::new();
        for (i, key) in state.api_keys.iter().enumerate() {
            if let Some(m) = ids(&mut ix.key_by_id, "api_keys", i, &key.id) {
                fault(m, "duplicate or malformed id".into());
            }
            let digest = match crate::hex_digest::decode(&key.sha256) {
                Some(d) if digests.insert(d) => d,
                _ => {
                    fault(
                        format!("api_keys[{i}].sha256"),
                        "not 64 hexadecimal digits, or used twice".into(),
                    );
                    continue;
                }
            };
            let Some(&u) = ix.user_by_id.get(&key.user) else {
                fault(format!("api_keys[{i}].user"), "User does not exist".into());
                continue;
            };
            let user = &state.users[u];
            let mut grants = Vec::new();
            for (n, r) in key.roles.iter().enumerate() {
                let path = format!("api_keys[{i}].roles[{n}]");
                if let Err(f) = check_ref(&path, r, &ix.role_by_id) {
                    faults_push(&mut fault, f);
                    continue;
                }
                if !user.roles.iter().any(|outer| r.within(outer)) {
                    fault(
                        path,
                        format!(
                            "role entry {} is broader than the user's roles",
                            describe(r)
                        ),
                    );
                    continue;
                }
                grants.push(Scoped {
                    grants: role_grants[ix.role_by_id[&r.role]].clone(),
                    inbox: r.inbox.clone(),
                    document: r.document_id.clone(),
                });
            }
            let expires_at = match &key.expire_at {
                Some(t) => match instant::parse(t) {
                    Some(t) => Some(t),
                    None => {
                        fault(
                            format!("api_keys[{i}].expire_at"),
                            format!("`{t}` is not a date and time"),
                        );
                        None
                    }
                },
                None => None,
            };
            ix.key_by_digest.insert(digest, ix.keys.len());
            ix.keys.push(Key {
                id: key.id.clone(),
                user: u,
                usable: key.active && user.active,
                expires_at,
                grants,
            });
        }
        for (i, rec) in state.authorisations.iter().enumerate() {
            if let Some(m) = ids(&mut ix.record_by_id, "authorisations", i, &rec.id) {
                fault(m, "duplicate or malformed id".into());
            }
            let mut time = |field: &str, v: &Option<String>| match v {
                Some(t) => instant::parse(t).or_else(|| {
                    fault(
                        format!("authorisations[{i}].{field}"),
                        format!("`{t}` is not a date and time"),
                    );
                    None
                }),
                None => None,
            };
            let from = time("validFrom", &rec.valid_from);
            let to = time("validTo", &rec.valid_to);
            if rec.kind.is_empty() || rec.subject.value.is_empty() || rec.object.value.is_empty() {
                fault(
                    format!("authorisations[{i}]"),
                    "type, subject.value and object.value must not be empty".into(),
                );
            }
            if let Some(binding) = rules.bindings.get(&rec.kind) {
                ix.delegations
                    .entry(rec.subject.value.clone())
                    .or_default()
                    .push(Delegation {
                        record: i,
                        user_subject: rec.subject.kind.eq_ignore_ascii_case("user"),
                        binding: binding.clone(),
                        object: rec.object.value.clone(),
                        from,
                        to,
                        revoked: rec.revoked,
                    });
            }
        }
        ix.state = state;
        if faults.is_empty() {
            Ok(ix)
        } else {
            Err(faults)
        }
    }

    /// The key whose token has SHA-256 `digest`.
    pub fn key_by_digest(&self, digest: &[u8; 32]) -> Option<&Key> {
        self.key_by_digest.get(digest).map(|&i| &self.keys[i])
    }

    /// Position of the key with `id` in `state.api_keys`.
    pub fn key_position(&self, id: &str) -> Option<usize> {
        self.key_by_id.get(id).copied()
    }

    /// Position of the key whose token is `token` (contract.fit names keys by token).
    pub fn key_position_by_token(&self, token: &str) -> Option<usize> {
        let d: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        self.key_by_digest.get(&d).copied()
    }

    /// Position of the role with `id`.
    pub fn role_position(&self, id: &str) -> Option<usize> {
        self.role_by_id.get(id).copied()
    }

    /// Position of the user with `id`.
    pub fn user_position(&self, id: &str) -> Option<usize> {
        self.user_by_id.get(id).copied()
    }

    /// Position of the authorisation record with `id`.
    pub fn record_position(&self, id: &str) -> Option<usize> {
        self.record_by_id.get(id).copied()
    }

    /// The id of the user a key is seen as.
    pub fn key_user(&self, key: &Key) -> &str {
        &self.state.users[key.user].id
    }

    /// Authorisation records naming `subject` as their subject value.
    pub fn delegations_to(&self, subject: &str) -> &[Delegation] {
        self.delegations.get(subject).map_or(&[], Vec::as_slice)
    }
}

fn faults_push(fault: &mut impl FnMut(String, String), f: Fault) {
    fault(f.path, f.message)
}

fn describe(r: &RoleRef) -> String {
    let mut s = format!("{{role: {}", r.role);
    if let Some(i) = &r.inbox {
        s.push_str(&format!(", inbox: {i}"));
    }
    if let Some(d) = &r.document_id {
        s.push_str(&format!(", document_id: {d}"));
    }
    s.push('}');
    s
}

/// The grants of one permission name: `module:action` (`module:all`) or a policy role.
fn permission(name: &str, rules: &Rules<'_>) -> Option<Grants> {
    if let Some(g) = (rules.permission)(name) {
        return Some(g);
    }
    let (module, action) = name.split_once(':')?;
    if module.is_empty() || action.is_empty() {
        return None;
    }
    let mut g = Grants::default();
    let actions = if action == "all" {
        crate::grant::Actions::All
    } else {
        crate::grant::Actions::Some(std::iter::once(action.to_owned()).collect())
    };
    g.add(module, &actions);
    Some(g)
}

fn merge(into: &mut Grants, from: &Grants) {
    for (m, a) in &from.modules {
        into.add(m, a);
    }
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
