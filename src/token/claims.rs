//! Token claims: what a signed token says — its kind, subject, scope and validity.
//!
//! `exp`, `nbf` and `iat` are read as numbers, integer or decimal (SeaTable writes decimal
//! `exp`), and written as integers. Tokens in SeaTable's shape are read by `token::seatable` into
//! the same claims, marked with their `shape`.

use serde::{Deserialize, Serialize, Serializer};

use crate::kinds::{KeyUse, TokenShape};

/// The claims of every Portcullis token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// Which kind of token this is; must match the signing key's use.
    pub kind: KeyUse,
    /// The user (or `app:<name>` / `link:<id>` for base tokens not tied to a user).
    pub sub: String,
    /// Expiry, unix seconds.
    #[serde(serialize_with = "whole")]
    pub exp: f64,
    /// Issued at, unix seconds.
    #[serde(serialize_with = "whole")]
    pub iat: f64,
    /// Not before, unix seconds.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "whole_opt"
    )]
    pub nbf: Option<f64>,
    /// Token id, for revocation lists.
    pub jti: String,
    /// The base the token is scoped to (temporary and base tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtable_uuid: Option<String>,
    /// `rw` or `r` (base tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
    /// SeaTable's `username` claim (the user, or empty for app tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The API token's app name, when minted from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
    /// Id of the API token or link the base token was minted from, so revoking it revokes this
    /// and its current permission limits this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<String>,
    /// Which shape the token was read from (never a claim: Portcullis tokens are Portcullis
    /// shaped; `token::seatable` marks SeaTable's).
    #[serde(skip)]
    pub shape: TokenShape,
}

fn whole<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(*v as i64)
}

fn whole_opt<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_i64(*v as i64),
        None => s.serialize_none(),
    }
}

impl Claims {
    /// Fresh claims of `kind` for `sub`, valid `ttl_s` seconds from `now`, with a random id.
    pub fn new(kind: KeyUse, sub: &str, now: i64, ttl_s: u64) -> Self {
        Claims {
            kind,
            sub: sub.to_owned(),
            exp: (now + ttl_s as i64) as f64,
            iat: now as f64,
            nbf: None,
            jti: hex::encode(rand::random::<[u8; 16]>()),
            dtable_uuid: None,
            permission: None,
            username: None,
            app_name: None,
            src: None,
            shape: TokenShape::Portcullis,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_exp_reads_and_integers_are_written() {
        let c: Claims = serde_json::from_str(
            r#"{"kind":"base","sub":"a","exp":1614682126.7869017,"iat":1,"jti":"x"}"#,
        )
        .unwrap();
        assert!((c.exp - 1614682126.7869017).abs() < 1e-6);
        let out = serde_json::to_string(&Claims::new(KeyUse::Account, "a", 100, 10)).unwrap();
        assert!(out.contains("\"exp\":110,"), "{out}");
    }
}
