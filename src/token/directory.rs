//! The directory: users, bases, external links and per-base API tokens, compiled for lookup,
//! plus the revocation rules that need them.
//!
//! Built by `policy::tokens` (compile), read by `identity` (is this token still good?) and by
//! `issuer` (who may mint what). Opaque secrets (API tokens, link tokens) are held as SHA-256
//! digests only.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::grant::Grants;
use crate::kinds::{KeyUse, TokenShape};
use crate::token::{Claims, KeyRing, TokenError};

/// A base permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Perm {
    /// Read and write.
    ReadWrite,
    /// Read only.
    Read,
}

impl Perm {
    /// Parse SeaTable's `rw` / `r`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "rw" => Some(Perm::ReadWrite),
            "r" => Some(Perm::Read),
            _ => None,
        }
    }

    /// SeaTable's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Perm::ReadWrite => "rw",
            Perm::Read => "r",
        }
    }
}

/// A user.
pub struct User {
    /// Login name.
    pub name: String,
    /// argon2id PHC string.
    pub password_phc: String,
    /// TOTP for 2FA.
    pub totp: Option<totp_rs::Totp>,
    /// What the user's account token may do on proxied routes.
    pub grants: Grants,
    /// Linea21 content status.
    pub status: String,
    /// Tokens issued before this are rejected.
    pub tokens_valid_after: Option<i64>,
    /// Disabled users cannot log in; their tokens are rejected.
    pub disabled: bool,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .field("has_totp", &self.totp.is_some())
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// A base.
#[derive(Debug, Clone)]
pub struct Base {
    /// Its uuid (the resource value routes capture).
    pub uuid: String,
    /// Workspace id.
    pub workspace_id: u64,
    /// Name.
    pub name: String,
    /// Owner (read-write, manages API tokens).
    pub owner: String,
    /// Members and their permission.
    pub members: HashMap<String, Perm>,
    /// URLs handed to clients.
    pub dtable_server: String,
    /// Socket URL.
    pub dtable_socket: String,
    /// dtable-db URL.
    pub dtable_db: Option<String>,
    /// Tell clients to use the API gateway.
    pub use_api_gateway: bool,
    /// The shape of the base tokens minted for it (SeaTable's when a real dtable-server reads
    /// them).
    pub token_shape: TokenShape,
}

impl Base {
    /// `user`'s permission on this base, if any.
    pub fn permission_of(&self, user: &str) -> Option<Perm> {
        if self.owner == user {
            Some(Perm::ReadWrite)
        } else {
            self.members.get(user).copied()
        }
    }
}

/// An external link token.
#[derive(Debug, Clone)]
pub struct Link {
    /// Its id in the policy.
    pub id: String,
    /// Base uuid.
    pub base: String,
    /// Disabled links are rejected.
    pub disabled: bool,
}

/// A per-base API token.
#[derive(Debug, Clone)]
pub struct ApiToken {
    /// `api-` plus 12 hex digits of the digest: how logs name it.
    pub id: String,
    /// SHA-256 of the token.
    pub digest: [u8; 32],
    /// Base uuid.
    pub base: String,
    /// App name (unique per base).
    pub app_name: String,
    /// `rw` / `r`.
    pub permission: Perm,
    /// Creator.
    pub generated_by: String,
    /// RFC 3339 creation time.
    pub generated_at: String,
    /// Disabled tokens are rejected.
    pub disabled: bool,
}

/// SeaTable endpoint settings.
#[derive(Debug, Clone)]
pub struct SeaTable {
    /// Path prefix.
    pub prefix: String,
    /// Account token lifetime.
    pub account_ttl: Duration,
    /// Temporary token lifetime.
    pub temporary_ttl: Duration,
    /// Base token lifetime.
    pub base_ttl: Duration,
    /// Failed logins allowed per user per minute.
    pub failures_per_user: u32,
    /// Failed logins allowed per address per minute.
    pub failures_per_address: u32,
}

/// Everything token-related in a snapshot.
#[derive(Debug, Default)]
pub struct Directory {
    /// Users by name.
    pub users: HashMap<String, User>,
    /// Bases by uuid.
    pub bases: HashMap<String, Base>,
    /// (workspace id, base name) → uuid.
    pub bases_by_name: HashMap<(u64, String), String>,
    /// Link tokens by digest.
    pub links: HashMap<[u8; 32], Link>,
    /// API tokens.
    pub api_tokens: Vec<ApiToken>,
    /// Digest → index into `api_tokens`.
    pub api_by_digest: HashMap<[u8; 32], usize>,
    /// Id → index into `api_tokens` (base tokens name their API token by id in `src`).
    pub api_by_id: HashMap<String, usize>,
    /// Revoked token ids.
    pub revoked: HashSet<String>,
    /// Signing and verification keys.
    pub keys: KeyRing,
    /// The SeaTable endpoints, when enabled.
    pub seatable: Option<SeaTable>,
}

impl Directory {
    /// The base named `name` in workspace `ws`.
    pub fn base_by_name(&self, ws: u64, name: &str) -> Option<&Base> {
        self.bases_by_name
            .get(&(ws, name.to_owned()))
            .and_then(|u| self.bases.get(u))
    }

    /// The API token whose secret has this SHA-256 digest.
    pub fn api_token(&self, digest: &[u8; 32]) -> Option<&ApiToken> {
        self.api_by_digest.get(digest).map(|&i| &self.api_tokens[i])
    }

    /// The API token with this id.
    pub fn api_token_by_id(&self, id: &str) -> Option<&ApiToken> {
        self.api_by_id.get(id).map(|&i| &self.api_tokens[i])
    }

    /// Verify a signed token of one of the `accepted` kinds and apply every revocation rule.
    ///
    /// A base token minted from an API token (`src: "api:<id>"`) is held to that token's state
    /// and permission in this snapshot: gone, disabled or moved to another base revokes it, and
    /// an API token now `r` makes it read-only whatever its `permission` claim says.
    pub fn verify(&self, token: &str, accepted: &[KeyUse], now: i64) -> Result<Claims, TokenError> {
        let mut claims = self.keys.verify(token, accepted, now)?;
        self.check_revocation(&mut claims)?;
        Ok(claims)
    }

    fn check_revocation(&self, c: &mut Claims) -> Result<(), TokenError> {
        if !c.jti.is_empty() && self.revoked.contains(&c.jti) {
            return Err(TokenError::Revoked);
        }
        let source = c.src.as_deref().unwrap_or("");
        if let Some(id) = source.strip_prefix("api:") {
            let tok = self
                .api_token_by_id(id)
                .filter(|t| !t.disabled && c.dtable_uuid.as_deref() == Some(t.base.as_str()))
                .ok_or(TokenError::Revoked)?;
            if tok.permission == Perm::Read {
                c.permission = Some(Perm::Read.as_str().to_owned());
            }
            return Ok(());
        }
        if let Some(id) = source.strip_prefix("link:") {
            let ok = self.links.values().any(|l| l.id == id && !l.disabled);
            return if ok { Ok(()) } else { Err(TokenError::Revoked) };
        }
        let user = match (self.users.get(&c.sub), c.shape) {
            (Some(user), _) => user,
            // dtable-web's tokens name SeaTable's users, whom the policy need not list: nothing
            // here can revoke them but the revoked-id list and expiry.
            (None, TokenShape::Seatable) => return Ok(()),
            (None, TokenShape::Portcullis) => return Err(TokenError::Revoked),
        };
        if user.disabled || user.tokens_valid_after.is_some_and(|t| c.iat < t as f64) {
            return Err(TokenError::Revoked);
        }
        Ok(())
    }
}
