//! Token policy compilation: users, signing keys, bases, links, API tokens, revocations and the
//! SeaTable endpoint settings → `token::Directory`.
//!
//! Secret material was read by `load` (signing keys, TOTP secrets); an inline secret compiles with
//! a warning. Every reference between sections (a base's owner, a link's base, an API token's
//! base) is checked, with the valid choices named.

use std::collections::HashMap;
use std::time::Duration;

use crate::grant::Grants;
use crate::kinds::TokenShape;
use crate::policy::compile::Cx;
use crate::policy::key_fields;
use crate::policy::keys::{self, Roles};
use crate::policy::load::Input;
use crate::policy::locate::JsonPath;
use crate::policy::raw::RawUser;
use crate::policy::signing_keys::{Compiled, secret, signing_key};
use crate::token::directory::{ApiToken, Base, Directory, Link, Perm, SeaTable, User};
use crate::token::keyring::KeyRing;

/// Compile the token sections of every policy file.
pub fn compile(cx: &mut Cx<'_>, input: &Input, roles: &Roles) -> Directory {
    let mut d = Directory::default();
    let mut ring = HashMap::new();
    let mut seatable_keys = Vec::new();
    let mut seatable_seen: Option<usize> = None;
    for (file, p) in &input.policies {
        for (name, raw) in &p.users {
            let at = JsonPath::root().key("users").key(name);
            if d.users.contains_key(name) {
                cx.error(*file, at, format!("user `{name}` is defined twice"));
                continue;
            }
            if let Some(u) = user(cx, input, *file, &at, name, raw, roles) {
                d.users.insert(name.clone(), u);
            }
        }
        for (kid, raw) in &p.signing_keys {
            let at = JsonPath::root().key("signing_keys").key(kid);
            let seen = |k: &crate::token::seatable::SeaTableKey| k.name == *kid;
            if ring.contains_key(kid) || seatable_keys.iter().any(seen) {
                cx.error(*file, at, format!("signing key `{kid}` is defined twice"));
                continue;
            }
            match signing_key(cx, input, *file, &at, kid, raw) {
                Some(Compiled::Ring(k)) => drop(ring.insert(kid.clone(), k)),
                Some(Compiled::SeaTable(k)) => seatable_keys.push(k),
                None => {}
            }
        }
        d.revoked.extend(p.revoked_tokens.iter().cloned());
        if p.seatable.is_some() && seatable_seen.replace(*file).is_some() {
            cx.error(
                *file,
                JsonPath::root().key("seatable"),
                "`seatable` is already set in another policy file",
            );
            continue;
        }
        if let Some(s) = &p.seatable
            && s.enabled.unwrap_or(true)
        {
            let prefix = s
                .prefix
                .clone()
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_owned();
            if !prefix.is_empty() && !prefix.starts_with('/') {
                cx.error(
                    *file,
                    JsonPath::root().key("seatable").key("prefix"),
                    "expected a path starting with `/`",
                );
            }
            d.seatable = Some(SeaTable {
                prefix,
                account_ttl: Duration::from_secs(s.account_token_ttl_s.unwrap_or(30 * 86400)),
                temporary_ttl: Duration::from_secs(s.temporary_token_ttl_s.unwrap_or(3600)),
                base_ttl: Duration::from_secs(s.base_token_ttl_s.unwrap_or(3 * 86400)),
                failures_per_user: s.login_failures_per_user_per_minute.unwrap_or(5).max(1),
                failures_per_address: s.login_failures_per_address_per_minute.unwrap_or(20).max(1),
            });
        }
    }
    d.keys = KeyRing::new(ring, seatable_keys);
    bases(cx, input, &mut d);
    links_and_api_tokens(cx, input, &mut d);
    d
}

fn user(
    cx: &mut Cx<'_>,
    input: &Input,
    file: usize,
    at: &JsonPath,
    name: &str,
    raw: &RawUser,
    roles: &Roles,
) -> Option<User> {
    if !raw.password.starts_with("$argon2id$")
        || argon2::password_hash::phc::PasswordHash::new(&raw.password).is_err()
    {
        cx.error(
            file,
            at.key("password"),
            "expected an argon2id PHC string (see `portcullis user hash-password`)",
        );
    }
    let mut grants = Grants::default();
    for (m, a) in keys::permissions(&raw.permissions) {
        grants.add(&m, &a);
    }
    for (n, role) in raw.roles.iter().enumerate() {
        match roles.get(role) {
            Some(perms) => perms.iter().for_each(|(m, a)| grants.add(m, a)),
            None => cx.error(
                file,
                at.key("roles").index(n),
                format!("unknown role `{role}`"),
            ),
        }
    }
    grants.scope = raw
        .scope
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.iter().cloned().collect::<crate::grant::Names>(),
            )
        })
        .collect();
    let totp = raw.totp_secret.as_ref().and_then(|r| {
        let path = at.key("totp_secret");
        let bytes = secret(cx, input, file, &path, r)?;
        let text = String::from_utf8_lossy(&bytes).trim().to_owned();
        let decoded = totp_rs::Secret::try_from_base32(&text).ok();
        let built = decoded.and_then(|s| {
            totp_rs::Builder::new()
                .with_secret(s)
                .with_digits(6)
                .with_skew(1)
                .with_step_duration(30)
                .with_account_name(name)
                .with_issuer(Some("Portcullis"))
                .build()
                .ok()
        });
        if built.is_none() {
            cx.error(file, path, "expected a base32 TOTP secret of at least 128 bits (see `portcullis user totp-secret`)");
        }
        built
    });
    Some(User {
        name: name.to_owned(),
        password_phc: raw.password.clone(),
        totp,
        grants,
        status: key_fields::status(cx, file, &at.key("status"), raw.status.as_ref()),
        tokens_valid_after: key_fields::instant(
            cx,
            file,
            &at.key("tokens_valid_after"),
            raw.tokens_valid_after.as_deref(),
        ),
        disabled: raw.disabled,
    })
}

fn bases(cx: &mut Cx<'_>, input: &Input, d: &mut Directory) {
    for (file, p) in &input.policies {
        for (uuid, raw) in &p.bases {
            let at = JsonPath::root().key("bases").key(uuid);
            if d.bases.contains_key(uuid) {
                cx.error(*file, at, format!("base `{uuid}` is defined twice"));
                continue;
            }
            if !d.users.contains_key(&raw.owner) {
                cx.error(
                    *file,
                    at.key("owner"),
                    format!("unknown user `{}`", raw.owner),
                );
            }
            let mut members = HashMap::new();
            for (user, perm) in &raw.members {
                if !d.users.contains_key(user) {
                    cx.error(
                        *file,
                        at.key("members").key(user),
                        format!("unknown user `{user}`"),
                    );
                }
                match Perm::parse(perm) {
                    Some(p) => drop(members.insert(user.clone(), p)),
                    None => cx.error(*file, at.key("members").key(user), "expected `rw` or `r`"),
                }
            }
            let key = (raw.workspace_id, raw.name.clone());
            if d.bases_by_name.contains_key(&key) {
                cx.error(
                    *file,
                    at.key("name"),
                    format!(
                        "workspace {} already has a base named `{}`",
                        raw.workspace_id, raw.name
                    ),
                );
            }
            let token_shape = raw.token_shape.unwrap_or_default();
            if token_shape == TokenShape::Seatable && !d.keys.can_sign_seatable() {
                cx.error(
                    *file,
                    at.key("token_shape"),
                    "SeaTable-shaped base tokens need a signing key with `\"shape\": \"seatable\"` \
                     that can sign (not `verify_only`)",
                );
            }
            d.bases_by_name.insert(key, uuid.clone());
            d.bases.insert(
                uuid.clone(),
                Base {
                    uuid: uuid.clone(),
                    workspace_id: raw.workspace_id,
                    name: raw.name.clone(),
                    owner: raw.owner.clone(),
                    members,
                    dtable_server: raw.dtable_server.clone(),
                    dtable_socket: raw.dtable_socket.clone(),
                    dtable_db: raw.dtable_db.clone(),
                    use_api_gateway: raw.use_api_gateway,
                    token_shape,
                },
            );
        }
    }
}

/// An error at `at.base` unless `base` is a declared base.
fn check_base(cx: &mut Cx<'_>, file: usize, at: &JsonPath, d: &Directory, base: &str) {
    if !d.bases.contains_key(base) {
        cx.error(file, at.key("base"), format!("unknown base `{base}`"));
    }
}

fn links_and_api_tokens(cx: &mut Cx<'_>, input: &Input, d: &mut Directory) {
    for (file, p) in &input.policies {
        for (id, raw) in &p.links {
            let at = JsonPath::root().key("links").key(id);
            let Some(digest) = key_fields::parse_digest(cx, *file, &at, &raw.sha256) else {
                continue;
            };
            check_base(cx, *file, &at, d, &raw.base);
            if d.links.contains_key(&digest) {
                cx.error(
                    *file,
                    at.key("sha256"),
                    "another link already uses this token",
                );
                continue;
            }
            d.links.insert(
                digest,
                Link {
                    id: id.clone(),
                    base: raw.base.clone(),
                    disabled: raw.disabled,
                },
            );
        }
        for (n, raw) in p.api_tokens.iter().enumerate() {
            let at = JsonPath::root().key("api_tokens").index(n);
            let Some(digest) = key_fields::parse_digest(cx, *file, &at, &raw.sha256) else {
                continue;
            };
            check_base(cx, *file, &at, d, &raw.base);
            let Some(permission) = Perm::parse(&raw.permission) else {
                cx.error(*file, at.key("permission"), "expected `rw` or `r`");
                continue;
            };
            if d.api_tokens
                .iter()
                .any(|t| t.base == raw.base && t.app_name == raw.app_name)
            {
                cx.error(
                    *file,
                    at.key("app_name"),
                    format!(
                        "base `{}` already has an API token named `{}`",
                        raw.base, raw.app_name
                    ),
                );
                continue;
            }
            if d.api_by_digest.contains_key(&digest) {
                cx.error(
                    *file,
                    at.key("sha256"),
                    "another API token already uses this token",
                );
                continue;
            }
            d.api_by_digest.insert(digest, d.api_tokens.len());
            d.api_by_id.insert(
                format!("api-{}", &hex::encode(digest)[..12]),
                d.api_tokens.len(),
            );
            d.api_tokens.push(ApiToken {
                id: format!("api-{}", &hex::encode(digest)[..12]),
                digest,
                base: raw.base.clone(),
                app_name: raw.app_name.clone(),
                permission,
                generated_by: raw.generated_by.clone(),
                generated_at: raw.generated_at.clone(),
                disabled: raw.disabled,
            });
        }
    }
}
