//! Tokens in SeaTable's own shape: read those dtable-web issues, write those dtable-server reads.
//!
//! SeaTable signs with one deployment secret (`DTABLE_PRIVATE_KEY`, HS256) and no `kid`. Two
//! shapes exist, told apart by their claims (there is no `kind`):
//!
//! - base tokens `{exp, dtable_uuid, permission, username, app_name?, id_in_org, org_id,
//!   owner_id, user_department_ids_map}`, `exp` an integer, `permission` `rw` or `r`;
//! - temporary API tokens `{username, dtable_uuid, exp}`, `exp` decimal (an integer is read too).
//!
//! Only `exp`, `dtable_uuid`, `permission`, `username`, `app_name` and the claims the gateway owns
//! (`iat`, `jti`, `src`, which its own SeaTable-shaped tokens carry) are read; every other claim
//! is ignored, never trusted. `keyring` picks this path for a token without `kid` and checks the
//! times; `directory` applies revocation.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value, json};

use crate::base_uuid;
use crate::kinds::{KeyUse, TokenShape};
use crate::token::{Claims, TokenError};

/// SeaTable's base token lifetime (3 days): the issue time assumed for a base token without
/// `iat`, for `tokens_valid_after`.
pub const BASE_LIFETIME_S: f64 = 3.0 * 86400.0;
/// SeaTable's temporary token lifetime (1 hour), likewise.
pub const TEMPORARY_LIFETIME_S: f64 = 3600.0;

/// A SeaTable deployment secret.
pub struct SeaTableKey {
    /// Its name in `signing_keys`, for logs.
    pub name: String,
    /// Signing half (absent on verify-only keys).
    pub encoding: Option<EncodingKey>,
    /// Verification half.
    pub decoding: DecodingKey,
    /// Creation time; the newest key that can sign signs.
    pub created: i64,
}

impl std::fmt::Debug for SeaTableKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeaTableKey")
            .field("name", &self.name)
            .field("can_sign", &self.encoding.is_some())
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

/// Verify a token without `kid` against the SeaTable keys and read its claims. The header's
/// algorithm must be HS256; the signature must check out with one of `keys`.
pub fn verify(keys: &[SeaTableKey], token: &str, alg: Algorithm) -> Result<Claims, TokenError> {
    if alg != Algorithm::HS256 {
        return Err(TokenError::Invalid);
    }
    let mut v = Validation::new(Algorithm::HS256);
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    let map = keys
        .iter()
        .find_map(|k| jsonwebtoken::decode::<Map<String, Value>>(token, &k.decoding, &v).ok())
        .ok_or(TokenError::Invalid)?
        .claims;
    read(&map)
}

/// The claims of a verified SeaTable-shaped token; a shape that is neither a base token nor a
/// temporary token is invalid.
fn read(map: &Map<String, Value>) -> Result<Claims, TokenError> {
    let text = |k: &str| map.get(k).and_then(Value::as_str);
    let exp = map.get("exp").ok_or(TokenError::Invalid)?;
    let uuid = text("dtable_uuid")
        .and_then(base_uuid::canonical)
        .ok_or(TokenError::Invalid)?;
    let username = text("username").unwrap_or("");
    let (kind, exp, lifetime, sub) = match map.get("permission") {
        Some(perm) => {
            // dtable-web writes an integer `exp` on base tokens: a decimal one is a forgery.
            let exp = exp.as_i64().ok_or(TokenError::Invalid)? as f64;
            if !matches!(perm.as_str(), Some("rw" | "r")) {
                return Err(TokenError::Invalid);
            }
            let sub = match (username, text("app_name")) {
                ("", Some(app)) => format!("app:{app}"),
                ("", None) => "seatable".to_owned(),
                (user, _) => user.to_owned(),
            };
            (KeyUse::Base, exp, BASE_LIFETIME_S, sub)
        }
        None if !username.is_empty() => {
            let exp = exp.as_f64().ok_or(TokenError::Invalid)?;
            (
                KeyUse::Temporary,
                exp,
                TEMPORARY_LIFETIME_S,
                username.to_owned(),
            )
        }
        None => return Err(TokenError::Invalid),
    };
    let mut c = Claims::new(kind, &sub, 0, 0);
    c.shape = TokenShape::Seatable;
    c.exp = exp;
    c.iat = map
        .get("iat")
        .and_then(Value::as_f64)
        .unwrap_or(exp - lifetime);
    c.jti = text("jti").unwrap_or("").to_owned();
    c.dtable_uuid = Some(uuid);
    c.permission = text("permission").map(str::to_owned);
    c.username = Some(username.to_owned());
    c.app_name = text("app_name").map(str::to_owned);
    c.src = text("src").map(str::to_owned);
    Ok(c)
}

/// Sign base-token `claims` in SeaTable's shape for a base owned by `owner`, with `key`, as
/// dtable-web would: HS256, no `kid`. See `payload` for the claims.
pub fn sign(key: &SeaTableKey, claims: &Claims, owner: &str) -> Result<String, TokenError> {
    let enc = key.encoding.as_ref().ok_or(TokenError::NoSigningKey)?;
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &payload(claims, owner), enc)
        .map_err(|_| TokenError::Invalid)
}

/// SeaTable's base-token claims from Portcullis' `claims`: `exp` (integer), `dtable_uuid`,
/// `permission`, `username` (empty for API tokens and links), `app_name` (API tokens only),
/// `id_in_org` (empty), `org_id` (-1: no organization), `owner_id` (the base's owner) and
/// `user_department_ids_map` (no departments); plus the gateway's own `iat`, `jti` and `src`,
/// which dtable-server ignores.
pub fn payload(c: &Claims, owner: &str) -> Value {
    let mut v = json!({
        "exp": c.exp as i64,
        "dtable_uuid": c.dtable_uuid,
        "permission": c.permission,
        "username": c.username.as_deref().unwrap_or(""),
        "id_in_org": "",
        "org_id": -1,
        "owner_id": owner,
        "user_department_ids_map": {
            "current_user_department_ids": [],
            "current_user_department_and_sub_ids": []
        },
        "iat": c.iat as i64,
        "jti": c.jti,
    });
    let obj = v.as_object_mut().expect("json! object");
    if let Some(app) = &c.app_name {
        obj.insert("app_name".into(), Value::from(app.as_str()));
    }
    if let Some(src) = &c.src {
        obj.insert("src".into(), Value::from(src.as_str()));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: &str = "5a1e5000-0000-4000-8000-000000000001";

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn shapes_are_told_by_their_claims() {
        let base = read(&map(json!({
            "exp": 1000, "dtable_uuid": U.replace('-', ""), "permission": "r", "username": "",
            "app_name": "postman", "org_id": -1, "kind": "account", "sub": "root"
        })))
        .unwrap();
        assert_eq!(base.kind, KeyUse::Base);
        assert_eq!(base.sub, "app:postman");
        assert_eq!(base.dtable_uuid.as_deref(), Some(U));
        assert_eq!(base.iat, 1000.0 - BASE_LIFETIME_S);
        let temp = read(&map(json!({
            "exp": 1000.5, "dtable_uuid": U, "username": "a@auth.local"
        })))
        .unwrap();
        assert_eq!(
            (temp.kind, temp.sub.as_str()),
            (KeyUse::Temporary, "a@auth.local")
        );
        assert_eq!(temp.exp, 1000.5);
    }

    #[test]
    fn malformed_shapes_are_invalid() {
        for bad in [
            json!({"exp": 1000.5, "dtable_uuid": U, "permission": "rw"}),
            json!({"dtable_uuid": U, "permission": "rw"}),
            json!({"exp": 1000, "dtable_uuid": U, "permission": "admin"}),
            json!({"exp": 1000, "dtable_uuid": "other", "permission": "rw"}),
            json!({"exp": 1000, "permission": "rw"}),
            json!({"exp": 1000, "dtable_uuid": U}),
            json!({"dtable_uuid": U, "username": "a"}),
            json!({"exp": "1000", "dtable_uuid": U, "username": "a"}),
        ] {
            assert_eq!(
                read(&map(bad.clone())).err(),
                Some(TokenError::Invalid),
                "{bad}"
            );
        }
    }
}
