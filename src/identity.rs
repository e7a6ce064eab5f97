//! Identity: turns a presented credential into a `Principal`, the proof that it is valid now.
//!
//! API keys are looked up by the SHA-256 digest of the secret (the plaintext is never stored),
//! so the cost does not grow with the number of keys and no secret is compared byte by byte.
//! Signed tokens (account and base tokens) are verified by `token`, with every revocation rule.
//! Validity is checked against an injected clock. `credential` comes before it; `authz` after.

use std::borrow::Cow;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::credential::Carrier;
use crate::grant::Grants;
use crate::kinds::{CredentialKind, KeyUse};
use crate::registry;
use crate::reject::Rejection;
use crate::token::directory::Perm;
use crate::token::{self, Directory, TokenError};

#[path = "identity_clients.rs"]
mod clients;
#[path = "identity_columns.rs"]
mod columns;
#[path = "identity_stores.rs"]
mod stores;
pub use clients::{Client, ClientIndex};
pub use columns::KeyColumns;
pub use stores::{Details, Key, KeyIndex, KeyRef, Taken};

/// Where credentials are looked up: the policy's keys, tokens and clients, and the registry.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    /// API keys of the policy.
    pub keys: &'a KeyIndex,
    /// Users, bases, API tokens and token keys.
    pub directory: &'a Directory,
    /// Management clients.
    pub clients: &'a ClientIndex,
    /// What the management APIs recorded (contract.fit API keys).
    pub registry: &'a registry::Index,
}

/// What a principal may do.
#[derive(Debug, Clone)]
pub enum Authority<'a> {
    /// The grants of an API key, a user (account token) or a management client.
    Grants(&'a Grants),
    /// A contract.fit API key: role entries, each limited to an inbox or a document.
    Scoped(&'a [registry::Scoped]),
    /// A base token: every action on one base, or only reads.
    Base {
        /// The base uuid routes must capture as the `base` resource.
        uuid: String,
        /// Only GET and HEAD.
        read_only: bool,
    },
}

/// Proof that a credential is valid right now, and whom it stands for. Only this module makes
/// one.
#[derive(Debug, Clone)]
pub struct Principal<'a> {
    id: Cow<'a, str>,
    kind: CredentialKind,
    user: Option<&'a str>,
    authority: Authority<'a>,
    status: &'a str,
    /// Named by id by an offline tool, not proven by a secret: never forwarded.
    assumed: bool,
}

impl<'a> Principal<'a> {
    /// How logs and the upstream name it: a key id, `user:<name>`, or `base:<subject>`.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// Its id, borrowed from the policy when it is a key id (no allocation).
    pub fn id_cow(&self) -> Cow<'a, str> {
        self.id.clone()
    }
    /// The kind of credential it presented.
    pub fn kind(&self) -> CredentialKind {
        self.kind
    }
    /// The user it acts for, if any.
    pub fn user(&self) -> Option<&'a str> {
        self.user
    }
    /// What it may do.
    pub fn authority(&self) -> &Authority<'a> {
        &self.authority
    }
    /// Linea21 content status passed upstream.
    pub fn status(&self) -> &'a str {
        self.status
    }
    /// Whether an offline tool named it by id instead of proving it with a secret.
    pub fn is_assumed(&self) -> bool {
        self.assumed
    }
}

/// SHA-256 of a secret.
pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Whether two digests are equal, in constant time: four 64-bit words compared with `subtle`
/// (its byte-slice comparison takes a barrier per byte, about 240 instructions for 32 bytes).
fn same_digest(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let words = |d: &[u8; 32]| {
        let mut w = [0u64; 4];
        for (w, chunk) in w.iter_mut().zip(d.chunks_exact(8)) {
            *w = u64::from_ne_bytes(chunk.try_into().unwrap_or_default());
        }
        w
    };
    let (a, b) = (words(a), words(b));
    let mut equal = subtle::Choice::from(1);
    for (x, y) in a.iter().zip(&b) {
        equal &= x.ct_eq(y);
    }
    bool::from(equal)
}

/// Validate a presented secret for a route accepting `accept`, at unix time `now`.
///
/// HTTP Basic credentials are management clients. Opaque secrets are looked up by digest: API
/// keys of the policy first, then SeaTable API tokens, then contract.fit API keys of the
/// registry; a signed token is verified as one of the accepted token kinds. A valid credential
/// of a kind the route does not accept is `WrongTokenKind`.
pub fn validate<'a>(
    src: Sources<'a>,
    carrier: Carrier<'_>,
    secret: &str,
    accept: &[CredentialKind],
    now: i64,
) -> Result<Principal<'a>, Rejection> {
    let (keys, directory) = (src.keys, src.directory);
    if carrier == Carrier::Basic {
        return validate_client(src.clients, secret, accept);
    }
    let d = digest(secret);
    if token::looks_like_jwt(secret) && keys.by_digest(&d).is_none() {
        return validate_token(directory, secret, accept, now);
    }
    let accepts = |kind| {
        if accept.contains(&kind) {
            Ok(())
        } else {
            Err(Rejection::WrongTokenKind)
        }
    };
    match validate_key(keys, &d, now) {
        Err(Rejection::UnknownCredential) => {}
        other => return accepts(CredentialKind::ApiKey).and(other),
    }
    let Some(tok) = directory.api_token(&d) else {
        return validate_registry_key(src.registry, &d, accept, now);
    };
    if tok.disabled {
        return Err(Rejection::CredentialDisabled);
    }
    accepts(CredentialKind::ApiToken)?;
    Ok(Principal {
        id: Cow::Borrowed(&tok.id),
        kind: CredentialKind::ApiToken,
        user: None,
        authority: Authority::Base {
            uuid: tok.base.clone(),
            read_only: tok.permission != Perm::ReadWrite,
        },
        status: "P",
        assumed: false,
    })
}

fn validate_token<'a>(
    directory: &'a Directory,
    secret: &str,
    accept: &[CredentialKind],
    now: i64,
) -> Result<Principal<'a>, Rejection> {
    let mut uses = [KeyUse::Account; 3];
    let mut n = 0;
    for kind in accept {
        let u = match kind {
            CredentialKind::Account => KeyUse::Account,
            CredentialKind::Base => KeyUse::Base,
            CredentialKind::Temporary => KeyUse::Temporary,
            CredentialKind::ApiKey
            | CredentialKind::ApiToken
            | CredentialKind::ClientCertificate
            | CredentialKind::ManagementClient => {
                continue;
            }
        };
        uses[n] = u;
        n += 1;
    }
    if n == 0 {
        // Verify anyway so a bad token reads as invalid, not as merely unwelcome.
        directory
            .verify(
                secret,
                &[KeyUse::Account, KeyUse::Base, KeyUse::Temporary],
                now,
            )
            .map_err(rejection)?;
        return Err(Rejection::WrongTokenKind);
    }
    let claims = directory
        .verify(secret, &uses[..n], now)
        .map_err(rejection)?;
    let user = directory.users.get_key_value(&claims.sub);
    match claims.kind {
        KeyUse::Account => {
            let (name, u) = user.ok_or(Rejection::CredentialRevoked)?;
            Ok(Principal {
                id: Cow::Owned(format!("user:{name}")),
                kind: CredentialKind::Account,
                user: Some(name),
                authority: Authority::Grants(&u.grants),
                status: &u.status,
                assumed: false,
            })
        }
        KeyUse::Base => Ok(Principal {
            id: Cow::Owned(format!("base:{}", claims.sub)),
            kind: CredentialKind::Base,
            user: user.map(|(n, _)| n.as_str()),
            authority: Authority::Base {
                uuid: claims.dtable_uuid.ok_or(Rejection::UnknownCredential)?,
                read_only: claims.permission.as_deref() != Some("rw"),
            },
            status: user.map_or("P", |(_, u)| u.status.as_str()),
            assumed: false,
        }),
        KeyUse::Temporary => {
            let (name, u) = user.ok_or(Rejection::CredentialRevoked)?;
            let uuid = claims.dtable_uuid.ok_or(Rejection::UnknownCredential)?;
            let perm = directory
                .bases
                .get(&uuid)
                .and_then(|b| b.permission_of(name));
            Ok(Principal {
                id: Cow::Owned(format!("temporary:{name}")),
                kind: CredentialKind::Temporary,
                user: Some(name),
                authority: Authority::Base {
                    uuid,
                    read_only: perm != Some(Perm::ReadWrite),
                },
                status: &u.status,
                assumed: false,
            })
        }
    }
}

/// A contract.fit API key of the registry, by the digest of its token.
fn validate_registry_key<'a>(
    registry: &'a registry::Index,
    d: &[u8; 32],
    accept: &[CredentialKind],
    now: i64,
) -> Result<Principal<'a>, Rejection> {
    let key = registry
        .key_by_digest(d)
        .ok_or(Rejection::UnknownCredential)?;
    if !accept.contains(&CredentialKind::ApiKey) {
        return Err(Rejection::WrongTokenKind);
    }
    if !key.usable {
        return Err(Rejection::CredentialDisabled);
    }
    if key.expires_at.is_some_and(|t| now >= t) {
        return Err(Rejection::CredentialExpired);
    }
    Ok(Principal {
        id: Cow::Borrowed(&key.id),
        kind: CredentialKind::ApiKey,
        user: Some(registry.key_user(key)),
        authority: Authority::Scoped(&key.grants),
        status: "P",
        assumed: false,
    })
}

/// A management client from the base64 of an HTTP Basic `client_id:client_secret`.
fn validate_client<'a>(
    clients: &'a ClientIndex,
    basic: &str,
    accept: &[CredentialKind],
) -> Result<Principal<'a>, Rejection> {
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(basic.trim())
        .map_err(|_| Rejection::UnknownCredential)?;
    let text = String::from_utf8(decoded).map_err(|_| Rejection::UnknownCredential)?;
    let (id, secret) = text.split_once(':').ok_or(Rejection::UnknownCredential)?;
    let client = clients.get(id).ok_or(Rejection::UnknownCredential)?;
    if !same_digest(&client.digest, &digest(secret)) {
        return Err(Rejection::UnknownCredential);
    }
    if !accept.contains(&CredentialKind::ManagementClient) {
        return Err(Rejection::WrongTokenKind);
    }
    if client.disabled {
        return Err(Rejection::CredentialDisabled);
    }
    Ok(Principal {
        id: Cow::Borrowed(&client.id),
        kind: CredentialKind::ManagementClient,
        user: None,
        authority: Authority::Grants(&client.grants),
        status: "P",
        assumed: false,
    })
}

/// The rejection for a token failure.
pub fn rejection(e: TokenError) -> Rejection {
    match e {
        TokenError::Invalid => Rejection::UnknownCredential,
        TokenError::WrongKind => Rejection::WrongTokenKind,
        TokenError::Expired => Rejection::CredentialExpired,
        TokenError::NotYetValid => Rejection::CredentialNotYetValid,
        TokenError::Revoked => Rejection::CredentialRevoked,
        TokenError::NoSigningKey => Rejection::Internal,
    }
}

/// Validate a verified TLS client certificate (its SHA-256) for a route accepting `accept`: the
/// key that names it, checked like any key, as a `client_certificate` principal.
pub fn validate_certificate<'a>(
    keys: &'a KeyIndex,
    fingerprint: &[u8; 32],
    accept: &[CredentialKind],
    now: i64,
) -> Result<Principal<'a>, Rejection> {
    let key = keys
        .by_certificate(fingerprint)
        .ok_or(Rejection::UnknownCredential)?;
    if !accept.contains(&CredentialKind::ClientCertificate) {
        return Err(Rejection::WrongTokenKind);
    }
    check(key, now).map(|p| Principal {
        kind: CredentialKind::ClientCertificate,
        ..p
    })
}

/// Validate an API key, given the digest of its secret, at unix time `now`.
fn validate_key<'a>(
    keys: &'a KeyIndex,
    d: &[u8; 32],
    now: i64,
) -> Result<Principal<'a>, Rejection> {
    let key = keys
        .by_digest(d)
        // The table lookup already matched; the constant-time compare keeps the final equality
        // check free of early exits should the index ever change.
        .filter(|k| same_digest(k.digest(), d))
        .ok_or(Rejection::UnknownCredential)?;
    check(key, now)
}

/// Assume the key named `id`, checking its state and validity window at `now`: for offline
/// tools (`explain`) that name a key instead of presenting its secret. The principal is marked
/// assumed, and `forward::send` and the built-in endpoints refuse a permit that carries it.
pub fn assume_key<'a>(keys: &'a KeyIndex, id: &str, now: i64) -> Result<Principal<'a>, Rejection> {
    let key = keys.by_id(id).ok_or(Rejection::UnknownCredential)?;
    check(key, now).map(|p| Principal { assumed: true, ..p })
}

fn check(key: KeyRef<'_>, now: i64) -> Result<Principal<'_>, Rejection> {
    if key.disabled() {
        return Err(Rejection::CredentialDisabled);
    }
    if key.not_before().is_some_and(|t| now < t) {
        return Err(Rejection::CredentialNotYetValid);
    }
    if key.expires_at().is_some_and(|t| now >= t) {
        return Err(Rejection::CredentialExpired);
    }
    Ok(Principal {
        id: Cow::Borrowed(key.id()),
        kind: CredentialKind::ApiKey,
        user: None,
        authority: Authority::Grants(key.grants()),
        status: key.status(),
        assumed: false,
    })
}

#[cfg(test)]
#[path = "identity_tests.rs"]
mod tests;
