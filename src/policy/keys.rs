//! Key and role compilation: permissions into `Grants`, digests into the key index.
//!
//! A key holds only the SHA-256 digest of its secret. Its grants are its own permissions plus
//! those of its roles, merged once here so `authz::decide` does one map lookup. Imported Linea21
//! tokens join the same index through `linea21`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use crate::grant::{Actions, Grants};
use crate::identity::{Details, Key, KeyIndex, Taken};
use crate::policy::compile::Cx;
use crate::policy::key_fields::{EMPTY_DIGEST, check_digest, fingerprint, instant, status};
use crate::policy::load::Input;
use crate::policy::locate::JsonPath;
use crate::policy::rate_limits::{self, RoleLimits};
use crate::policy::raw::Permissions;
use crate::policy::raw_keys::{KeyRest, KeyShape, RawKeys};

/// Compiled roles by name.
pub type Roles = HashMap<String, HashMap<String, Actions>>;

/// Compile every role.
pub fn roles(cx: &mut Cx<'_>, input: &Input) -> Roles {
    let mut out = Roles::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (file, p) in &input.policies {
        for (name, perms) in &p.roles {
            let at = JsonPath::root().key("roles").key(name);
            if let Some(other) = seen.get(name) {
                let other = cx.place(*other, &JsonPath::root().key("roles").key(name));
                cx.error(
                    *file,
                    at,
                    format!("role `{name}` is already defined at {other}"),
                );
                continue;
            }
            seen.insert(name.clone(), *file);
            out.insert(name.clone(), permissions(perms));
        }
    }
    out
}

/// `{module: [actions] | ["all"]}` → module → `Actions`.
pub fn permissions(perms: &Permissions) -> HashMap<String, Actions> {
    perms
        .iter()
        .map(|(module, actions)| {
            let a = if actions.iter().any(|a| a == "all") {
                Actions::All
            } else {
                Actions::Some(actions.iter().cloned().collect())
            };
            (module.clone(), a)
        })
        .collect()
}

/// Which file the keys come from, by index position (to name the first place of an id defined
/// twice): the first position of each run of keys from one file.
#[derive(Debug, Default)]
pub struct Places(Vec<(usize, usize)>);

impl Places {
    /// The keys from `position` on come from `file` (until the next note).
    fn note(&mut self, position: usize, file: usize) {
        if self.0.last().is_none_or(|&(_, f)| f != file) {
            self.0.push((position, file));
        }
    }

    /// The file the key at `position` comes from.
    fn file_of(&self, position: usize) -> Option<usize> {
        let after = self.0.partition_point(|&(p, _)| p <= position);
        after.checked_sub(1).map(|i| self.0[i].1)
    }
}

/// Compile every key of every policy file (`lists`: file number and its keys as read). The
/// keys' ids and digests move into the index as they were read; each key then gets its grants,
/// validity, status and limits, in order.
pub fn compile(
    cx: &mut Cx<'_>,
    lists: Vec<(usize, RawKeys)>,
    roles: &Roles,
    limits: &RoleLimits,
    places: &mut Places,
) -> KeyIndex {
    let mut index = KeyIndex::default();
    for (file, raw) in lists {
        let RawKeys {
            columns,
            shapes,
            shape_of,
            invalid_digests,
            disabled,
            rest,
        } = raw;
        let start = index.columns().len();
        if let Err(t) = index.append(columns) {
            taken(cx, &index, places, file, JsonPath::root().key("keys"), t);
            continue;
        }
        places.note(start, file);
        // Grants are built and stored once per distinct shape, for the keys of that shape.
        let mut stored = Vec::with_capacity(shapes.len());
        for shape in &shapes {
            let (grants, unknown) = grants(shape, roles, limits);
            let Ok(id) = index.add_grants(Arc::clone(&grants)) else {
                taken(
                    cx,
                    &index,
                    places,
                    file,
                    JsonPath::root().key("keys"),
                    Taken::Full,
                );
                return index;
            };
            stored.push((grants, id, unknown));
        }
        let mut invalid = invalid_digests.into_iter().peekable();
        let mut disabled = disabled.into_iter().peekable();
        let mut rest = rest.into_iter().peekable();
        for (n, &shape) in shape_of.iter().enumerate() {
            if n.is_multiple_of(256) {
                super::pace::point();
            }
            let (pos, n) = (start + n, n as u32);
            let invalid = invalid.next_if_eq(&n).is_some();
            let disabled = disabled.next_if_eq(&n).is_some();
            let rest = rest.next_if(|(p, _)| *p == n).map(|(_, r)| r);
            let r = rest.as_deref().unwrap_or(&KeyRest::NONE);
            let (grants, shared, unknown) = &stored[shape as usize];
            let columns = index.columns();
            let (id, digest) = (columns.id(pos), columns.digest(pos));
            // The key's place, built only for an error.
            let at = || JsonPath::root().key("keys").key(id);
            let valid = !invalid && *digest != EMPTY_DIGEST;
            if !valid {
                check_digest(cx, file, &at(), (!invalid).then_some(*digest));
            }
            for &(n, role) in unknown {
                let mut known: Vec<_> = roles.keys().map(String::as_str).collect();
                known.sort_unstable();
                cx.error(
                    file,
                    at().key("roles").index(n),
                    format!("unknown role `{role}` (defined roles: {})", list(&known)),
                );
            }
            let status: Cow<'_, str> = match &r.status {
                None => "P".into(),
                Some(s) => status(cx, file, &at().key("status"), Some(s)).into(),
            };
            let mut when = |name: &str, raw: &Option<String>| {
                raw.as_deref()
                    .and_then(|t| instant(cx, file, &at().key(name), Some(t)))
            };
            let (not_before, expires_at) = (
                when("not_before", &r.not_before),
                when("expires_at", &r.expires_at),
            );
            let own = r
                .rate_limit
                .and_then(|l| rate_limits::limit(cx, file, &at().key("rate_limit"), l));
            // A key with a limit of its own has grants of its own.
            let own = (own.is_some() || r.quota.is_some()).then(|| {
                let mut g = Grants::clone(grants);
                g.rate_limit = own.or(g.rate_limit);
                g.quota = r.quota.map(rate_limits::quota);
                Arc::new(g)
            });
            let certificate = r
                .client_certificate_sha256
                .as_deref()
                .and_then(|fp| fingerprint(cx, file, &at().key("client_certificate_sha256"), fp));
            // Settled, the key's id is read from the index again for an error's place.
            let place =
                |index: &KeyIndex| JsonPath::root().key("keys").key(index.columns().id(pos));
            let grants = match own.map(|g| index.add_grants(g)) {
                None => *shared,
                Some(Ok(id)) => id,
                Some(Err(t)) => {
                    taken(cx, &index, places, file, place(&index), t);
                    continue;
                }
            };
            let details = Details {
                grants,
                status: &status,
                not_before,
                expires_at,
                disabled,
            };
            if let Err(t) = index.settle(details, valid) {
                taken(cx, &index, places, file, place(&index), t);
                continue;
            }
            if let Some(fp) = certificate
                && let Err(other) = index.bind_certificate(fp, pos)
            {
                let other = index.get(other).map_or("", |k| k.id()).to_owned();
                let at = place(&index).key("client_certificate_sha256");
                cx.error(
                    file,
                    at,
                    format!("this client certificate already stands for key `{other}`"),
                );
            }
        }
    }
    index
}

/// One shape's grants (with its roles' rate limit), and the roles it names that do not exist
/// (with their place in `roles`).
fn grants<'a>(
    shape: &'a KeyShape,
    roles: &Roles,
    limits: &RoleLimits,
) -> (Arc<Grants>, Vec<(usize, &'a str)>) {
    let mut grants = Grants {
        read_only: shape.read_only,
        // A key's own limit, when it has one, replaces this.
        rate_limit: limits.of(&shape.roles),
        ..Grants::default()
    };
    for (m, a) in permissions(&shape.permissions) {
        grants.add(&m, &a);
    }
    let mut unknown = Vec::new();
    for (n, role) in shape.roles.iter().enumerate() {
        match roles.get(role) {
            Some(perms) => perms.iter().for_each(|(m, a)| grants.add(m, a)),
            None => unknown.push((n, role.as_str())),
        }
    }
    grants.scope = shape
        .scope
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.iter().cloned().collect::<crate::grant::Names>(),
            )
        })
        .collect();
    (Arc::new(grants), unknown)
}

/// Add `key` to the index unless its id or digest is taken (an error naming the other place).
pub fn insert(
    cx: &mut Cx<'_>,
    index: &mut KeyIndex,
    places: &mut Places,
    file: usize,
    at: JsonPath,
    key: Key,
) {
    match index.insert(key) {
        Ok(stored) => places.note(stored, file),
        Err(t) => taken(cx, index, places, file, at, t),
    }
}

/// The error for a key whose id or digest is taken, naming the other place.
fn taken(cx: &mut Cx<'_>, index: &KeyIndex, places: &Places, file: usize, at: JsonPath, t: Taken) {
    match t {
        Taken::Id(i) => {
            let other = places.file_of(i).unwrap_or(file);
            let id = index.get(i).map_or("", |k| k.id()).to_owned();
            let where_ = cx.place(other, &JsonPath::root().key("keys").key(&id));
            cx.error(
                file,
                at,
                format!("key id `{id}` is already defined at {where_}"),
            );
        }
        Taken::Digest(i) => {
            let other = index.get(i).map_or("", |k| k.id()).to_owned();
            cx.error(file, at, format!("this secret digest is already used by key `{other}`; every key needs its own secret"));
        }
        Taken::Full => cx.error(file, at, "too many keys: the key index is full"),
    }
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}
