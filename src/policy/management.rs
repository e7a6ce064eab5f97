//! The `management` section compiled: which management APIs are served and where, the clients
//! that may call them, and what each authorisation type grants (`registry::Binding`).
//!
//! It also builds the registry's `Rules` (permission names are policy roles) and compiles the
//! registry part of the managed file against them, so a registry that names an unknown role
//! is a load error located in that file.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::grant::Grants;
use crate::identity::{Client, ClientIndex};
use crate::policy::compile::Cx;
use crate::policy::key_fields::parse_digest;
use crate::policy::keys::Roles;
use crate::policy::load::Input;
use crate::policy::locate::{JsonPath, Seg};
use crate::policy::raw::RawManagement;
use crate::registry::{self, Binding};

/// Default contract.fit prefix.
pub const CONTRACTFIT_PREFIX: &str = "/admin";
/// Default namespace of a client that names none.
pub const DEFAULT_NAMESPACE: &str = "root";

/// The contract.fit API's settings.
#[derive(Debug, Clone)]
pub struct ContractFit {
    /// Path prefix (no trailing `/`).
    pub prefix: String,
    /// Lifetime of login tokens.
    pub token_ttl: Duration,
    /// Failed logins per username per minute before throttling.
    pub failures_per_user: u32,
    /// Failed logins per client address per minute before throttling.
    pub failures_per_address: u32,
}

/// The management section, compiled.
#[derive(Debug, Default)]
pub struct Management {
    /// contract.fit API, if served.
    pub contractfit: Option<ContractFit>,
    /// Trivore API prefix, if served.
    pub trivore: Option<String>,
    /// Clients by id.
    pub clients: ClientIndex,
    /// Authorisation type → what an active record grants.
    pub bindings: HashMap<String, Binding>,
    /// Policy roles by name (what registry permission names mean).
    pub roles: HashMap<String, Grants>,
    /// Where the section is (file index), for built-in route conflicts.
    pub file: usize,
}

impl Management {
    /// The registry's rules under this policy.
    pub fn with_rules<T>(&self, f: impl FnOnce(&registry::Rules<'_>) -> T) -> T {
        let permission = |name: &str| self.roles.get(name).cloned();
        f(&registry::Rules {
            permission: &permission,
            bindings: &self.bindings,
        })
    }
}

fn prefix(p: Option<&str>, default: &str) -> String {
    p.unwrap_or(default).trim_end_matches('/').to_owned()
}

/// Compile the section (at most one file may give it).
pub fn compile(cx: &mut Cx<'_>, input: &Input, roles: &Roles) -> Management {
    let mut out = Management {
        roles: roles
            .iter()
            .map(|(name, modules)| {
                let mut g = Grants::default();
                modules.iter().for_each(|(m, a)| g.add(m, a));
                (name.clone(), g)
            })
            .collect(),
        ..Management::default()
    };
    let found: Vec<(usize, &RawManagement)> = input
        .policies
        .iter()
        .filter_map(|(f, p)| p.management.as_ref().map(|m| (*f, m)))
        .collect();
    let Some(&(file, m)) = found.first() else {
        return out;
    };
    let root = JsonPath::root().key("management");
    for (other, _) in &found[1..] {
        let first = cx.place(file, &root);
        cx.error(
            *other,
            root.clone(),
            format!("`management` is already set at {first}"),
        );
    }
    out.file = file;
    out.contractfit = m.contractfit.as_ref().map(|c| ContractFit {
        prefix: prefix(c.prefix.as_deref(), CONTRACTFIT_PREFIX),
        token_ttl: Duration::from_secs(c.token_ttl_s.unwrap_or(3600)),
        failures_per_user: c.login_failures_per_user_per_minute.unwrap_or(5).max(1),
        failures_per_address: c.login_failures_per_address_per_minute.unwrap_or(20).max(1),
    });
    out.trivore = m.trivore.as_ref().map(|t| prefix(t.prefix.as_deref(), ""));
    for (id, raw) in &m.clients {
        let at = root.key("clients").key(id);
        let Some(digest) = parse_digest(cx, file, &at, &raw.sha256) else {
            continue;
        };
        let mut grants = Grants::default();
        for (module, actions) in crate::policy::keys::permissions(&raw.permissions) {
            grants.add(&module, &actions);
        }
        for (n, role) in raw.roles.iter().enumerate() {
            match out.roles.get(role) {
                Some(g) => g.modules.iter().for_each(|(m, a)| grants.add(m, a)),
                None => cx.error(
                    file,
                    at.key("roles").index(n),
                    format!("unknown role `{role}`"),
                ),
            }
        }
        let namespaces = raw
            .namespaces
            .clone()
            .unwrap_or_else(|| vec![DEFAULT_NAMESPACE.to_owned()]);
        if namespaces.is_empty() {
            cx.error(
                file,
                at.key("namespaces"),
                "name at least one namespace (the first is the default)",
            );
        }
        out.clients.insert(
            id.clone(),
            Client {
                id: id.clone(),
                digest,
                grants,
                namespaces,
                disabled: raw.disabled,
            },
        );
    }
    for (kind, raw) in &m.authorisation_types {
        let at = root.key("authorisation_types").key(kind);
        let Some(g) = out.roles.get(&raw.role) else {
            cx.error(file, at.key("role"), format!("unknown role `{}`", raw.role));
            continue;
        };
        if raw.resource.is_empty() {
            cx.error(
                file,
                at.key("resource"),
                "name the resource the record's object is",
            );
            continue;
        }
        out.bindings.insert(
            kind.clone(),
            Binding {
                grants: Arc::new(g.clone()),
                resource: raw.resource.clone(),
            },
        );
    }
    out
}

/// Compile the registry part of the managed file (if any) under `m`; faults are load errors
/// located in that file.
pub fn registry(cx: &mut Cx<'_>, input: &Input, m: &Management) -> registry::Index {
    let (file, state) = match &input.registry {
        Some((f, s)) => (*f, s.clone()),
        None => (0, registry::State::default()),
    };
    match m.with_rules(|rules| registry::Index::build(Arc::new(state), rules)) {
        Ok(ix) => ix,
        Err(faults) => {
            for f in faults {
                cx.error(file, registry_path(&f.path), f.message);
            }
            registry::Index::default()
        }
    }
}

/// `api_keys[3].roles[0].role` → `$.registry.api_keys[3].roles[0].role`.
fn registry_path(path: &str) -> JsonPath {
    let mut out = JsonPath::root().key("registry");
    for part in path.split('.') {
        let (name, rest) = part.split_once('[').unwrap_or((part, ""));
        if !name.is_empty() {
            out = out.key(name);
        }
        for ix in rest.split('[') {
            if let Ok(n) = ix.trim_end_matches(']').parse::<usize>() {
                out.0.push(Seg::Index(n));
            }
        }
    }
    out
}
