//! Key and role compilation: permissions into `Grants`, digests into the key index.
//!
//! A key holds only the SHA-256 digest of its secret. Its grants are its own permissions plus
//! those of its roles, merged once here so `authz::decide` does one map lookup. Imported Linea21
//! tokens join the same index through `linea21`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::grant::{Actions, Grants};
use crate::identity::{Key, KeyIndex, Taken};
use crate::policy::compile::Cx;
use crate::policy::load::Input;
use crate::policy::locate::JsonPath;
use crate::policy::raw::{Permissions, RawStatus};
use crate::policy::raw_keys::KeyShape;

/// Linea21 content statuses.
pub const STATUSES: &[&str] = &["P", "D", "PA", "AA"];

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

/// Which file each stored key comes from, by index position (to name the first place of an id
/// defined twice).
#[derive(Debug, Default)]
pub struct Places(Vec<usize>);

/// Compile every key of every policy file.
pub fn compile(cx: &mut Cx<'_>, input: &Input, roles: &Roles, places: &mut Places) -> KeyIndex {
    let sizes = input.policies.iter().flat_map(|(_, p)| p.keys.iter());
    let (count, id_bytes) = sizes.fold((0, 0), |(n, b), k| (n + 1, b + k.id.len()));
    let imported: usize = input.imports.iter().map(|i| i.entries.len()).sum();
    // Linea21 ids are `l21-` and 12 hex digits.
    let mut index = KeyIndex::with_capacity(count + imported, id_bytes + 16 * imported);
    places.0.reserve(count + imported);
    for (file, p) in &input.policies {
        // Grants are built once per distinct shape and shared by the keys of that shape.
        let shapes: Vec<_> = p.keys.shapes().iter().map(|s| grants(s, roles)).collect();
        for (n, entry) in p.keys.iter().enumerate() {
            if n.is_multiple_of(256) {
                super::pace::point();
            }
            let id = &*entry.id;
            let at = JsonPath::root().key("keys").key(id);
            let Some(digest) = check_digest(cx, *file, &at, entry.sha256) else {
                continue;
            };
            let (grants, unknown) = &shapes[entry.shape as usize];
            for &(n, role) in unknown {
                let mut known: Vec<_> = roles.keys().map(String::as_str).collect();
                known.sort_unstable();
                cx.error(
                    *file,
                    at.key("roles").index(n),
                    format!("unknown role `{role}` (defined roles: {})", list(&known)),
                );
            }
            let rest = entry.rest();
            let key = Key {
                id: id.to_owned(),
                digest,
                grants: Arc::clone(grants),
                status: status(cx, *file, &at.key("status"), rest.status.as_ref()),
                not_before: instant(cx, *file, &at.key("not_before"), rest.not_before.as_deref()),
                expires_at: instant(cx, *file, &at.key("expires_at"), rest.expires_at.as_deref()),
                disabled: entry.disabled,
            };
            let certificate = rest
                .client_certificate_sha256
                .as_deref()
                .and_then(|fp| fingerprint(cx, *file, &at.key("client_certificate_sha256"), fp));
            insert(cx, &mut index, places, *file, at.clone(), key);
            let stored = || index.by_id(id).map(|k| k.position());
            if let Some(fp) = certificate
                && let Some(i) = stored()
                && let Err(other) = index.bind_certificate(fp, i)
            {
                let other = index.get(other).map_or("", |k| k.id()).to_owned();
                cx.error(
                    *file,
                    at.key("client_certificate_sha256"),
                    format!("this client certificate already stands for key `{other}`"),
                );
            }
        }
    }
    index
}

/// One shape's grants, and the roles it names that do not exist (with their place in `roles`).
fn grants<'a>(shape: &'a KeyShape, roles: &Roles) -> (Arc<Grants>, Vec<(usize, &'a str)>) {
    let mut grants = Grants {
        read_only: shape.read_only,
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
        .map(|(k, v)| (k.clone(), v.iter().cloned().collect::<HashSet<_>>()))
        .collect();
    (Arc::new(grants), unknown)
}

/// A certificate fingerprint: 64 hex digits, colons allowed (as `openssl x509 -fingerprint
/// -sha256` prints it).
fn fingerprint(cx: &mut Cx<'_>, file: usize, at: &JsonPath, text: &str) -> Option<[u8; 32]> {
    let hex_digits: String = text.chars().filter(|c| *c != ':').collect();
    let parsed = hex::decode(&hex_digits)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok());
    if parsed.is_none() {
        cx.error(
            file,
            at.clone(),
            "expected a SHA-256 fingerprint: 64 hex digits, colons allowed",
        );
    }
    parsed
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
        Ok(stored) => {
            places.0.resize(stored, file);
            places.0.push(file);
        }
        Err(Taken::Id(i)) => {
            let other = places.0.get(i).copied().unwrap_or(file);
            let id = index.get(i).map_or("", |k| k.id()).to_owned();
            let where_ = cx.place(other, &JsonPath::root().key("keys").key(&id));
            cx.error(
                file,
                at,
                format!("key id `{id}` is already defined at {where_}"),
            );
        }
        Err(Taken::Digest(i)) => {
            let other = index.get(i).map_or("", |k| k.id()).to_owned();
            cx.error(file, at, format!("this secret digest is already used by key `{other}`; every key needs its own secret"));
        }
        Err(Taken::Full) => cx.error(file, at, "too many keys: the key index is full"),
    }
}

/// SHA-256 of the empty string (computing it for every key cost 5 % of a 100,000-key compile).
const EMPTY_DIGEST: [u8; 32] = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// A 64-hex-digit SHA-256 at `at.sha256`, or an error there.
pub fn parse_digest(
    cx: &mut Cx<'_>,
    file: usize,
    at: &JsonPath,
    hex_digest: &str,
) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    let decoded = hex::decode_to_slice(hex_digest, &mut out)
        .ok()
        .map(|()| out);
    check_digest(cx, file, at, decoded)
}

/// A SHA-256 decoded while reading (`None`: it was not 64 hex digits), or an error at `at.sha256`.
pub fn check_digest(
    cx: &mut Cx<'_>,
    file: usize,
    at: &JsonPath,
    decoded: Option<[u8; 32]>,
) -> Option<[u8; 32]> {
    match decoded {
        Some(out) if out == EMPTY_DIGEST => {
            cx.error(
                file,
                at.key("sha256"),
                "this is the SHA-256 of the empty string; a key needs a secret",
            );
            None
        }
        Some(out) => Some(out),
        None => {
            cx.error(
                file,
                at.key("sha256"),
                "expected 64 hexadecimal characters, the SHA-256 of the secret (see `portcullis key new`)",
            );
            None
        }
    }
}

/// Linea21 status scope → header value (`P` when absent).
pub fn status(cx: &mut Cx<'_>, file: usize, at: &JsonPath, raw: Option<&RawStatus>) -> String {
    let list: Vec<&str> = match raw {
        None => return "P".into(),
        Some(RawStatus::One(s)) if s == "all" => return "all".into(),
        Some(RawStatus::One(s)) => vec![s.as_str()],
        Some(RawStatus::Many(v)) => v.iter().map(String::as_str).collect(),
    };
    if list.is_empty() {
        cx.error(file, at.clone(), "expected at least one status, or \"all\"");
    }
    for s in &list {
        if !STATUSES.contains(s) {
            cx.error(
                file,
                at.clone(),
                format!(
                    "unknown status `{s}` (expected \"all\" or {})",
                    list_of(STATUSES)
                ),
            );
        }
    }
    list.join(",")
}

/// An RFC 3339 instant in unix seconds, or an error at `at`.
pub fn instant(cx: &mut Cx<'_>, file: usize, at: &JsonPath, raw: Option<&str>) -> Option<i64> {
    let raw = raw?;
    match OffsetDateTime::parse(raw, &Rfc3339) {
        Ok(t) => Some(t.unix_timestamp()),
        Err(_) => {
            cx.error(
                file,
                at.clone(),
                format!("expected an RFC 3339 instant such as 2026-01-31T12:00:00Z, got `{raw}`"),
            );
            None
        }
    }
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

fn list_of(names: &[&str]) -> String {
    names.join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_empty_digest_is_the_digest_of_nothing() {
        assert_eq!(super::EMPTY_DIGEST, crate::identity::digest(""));
    }
}
