//! What the management APIs recorded, as stored in the gateway's own file: contract.fit roles,
//! placeholder users and scoped API keys, and Trivore authorisation records.
//!
//! These are plain serde types; `registry::Index` compiles them for lookups. Secrets are never
//! stored: API keys by the SHA-256 of their token, users by an argon2id hash of their password.
//! Every record has an id of 24 hexadecimal digits (as contract.fit's and onePortal's).

use serde::{Deserialize, Serialize};

/// The registry part of the managed file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// contract.fit roles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<Role>,
    /// contract.fit users (API-key placeholder users).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<User>,
    /// contract.fit API keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_keys: Vec<ApiKey>,
    /// Trivore authorisation records.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorisations: Vec<Record>,
}

/// A contract.fit role: a name and the permissions it grants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// 24 hex digits.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Permission names: a policy role's name, or `module:action` (`module:all` for every action).
    pub permissions: Vec<String>,
}

/// A role held on an inbox, or on one document of an inbox, or everywhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleRef {
    /// Role id.
    pub role: String,
    /// Inbox id the role is limited to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbox: Option<String>,
    /// Document id (inside `inbox`) the role is limited to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_id: Option<String>,
}

impl RoleRef {
    /// Whether this entry lies within `outer`: the same role, and `outer` is not limited to an
    /// inbox, or to the same inbox and no document, or to the same inbox and document.
    pub fn within(&self, outer: &RoleRef) -> bool {
        if self.role != outer.role {
            return false;
        }
        match (&outer.inbox, &outer.document_id) {
            (None, None) => true,
            (Some(i), None) => self.inbox.as_ref() == Some(i),
            (Some(i), Some(d)) => {
                self.inbox.as_ref() == Some(i) && self.document_id.as_ref() == Some(d)
            }
            // A document without its inbox is never stored (refused when written).
            (None, Some(_)) => false,
        }
    }
}

/// A contract.fit user: the identity every holder of its API keys is seen as upstream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// 24 hex digits.
    pub id: String,
    /// Login name.
    pub username: String,
    /// An inactive user's keys are refused.
    pub active: bool,
    /// argon2id PHC string of the password.
    pub password_phc: String,
    /// Roles, each possibly limited to an inbox or a document.
    pub roles: Vec<RoleRef>,
    /// RFC 3339 time the user was created (confirmed).
    pub confirmed_at: String,
}

/// A contract.fit API key. Keys are replaced, not edited: only `active` and `expire_at` change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    /// 24 hex digits.
    pub id: String,
    /// SHA-256 of the token, 64 hex digits.
    pub sha256: String,
    /// Id of the user holders are seen as.
    pub user: String,
    /// An inactive key is refused.
    pub active: bool,
    /// Roles, each within the user's.
    pub roles: Vec<RoleRef>,
    /// RFC 3339 instant from which the key is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_at: Option<String>,
    /// RFC 3339 creation time.
    pub created_at: String,
}

/// A `{type, value}` pair: an authorisation's subject or object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    /// What kind of thing (`User`, `String`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// Its identifier.
    pub value: String,
}

/// Creation and change times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// RFC 3339.
    pub created: String,
    /// RFC 3339.
    #[serde(rename = "lastModified")]
    pub last_modified: String,
}

/// Who created a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Creator {
    /// `ManagementApiClient` or `User`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The client id or user name.
    pub id: String,
}

/// A Trivore authorisation record: `subject` holds `type` on `object` while it is active.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// 24 hex digits.
    pub id: String,
    /// Authorisation type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Who is authorised.
    pub subject: Party,
    /// On what.
    pub object: Party,
    /// RFC 3339 start of validity.
    #[serde(rename = "validFrom", default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    /// RFC 3339 end of validity (exclusive).
    #[serde(rename = "validTo", default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<String>,
    /// Owning namespace.
    #[serde(rename = "nsCode")]
    pub ns_code: String,
    /// Where the record came from (SCIM `authSource`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Free-form author, as the client gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Times.
    pub meta: Meta,
    /// Who created it.
    pub creator: Creator,
    /// Revoked records grant nothing.
    pub revoked: bool,
    /// RFC 3339 revocation time.
    #[serde(rename = "revokedAt", default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// Why it was revoked, as given.
    #[serde(
        rename = "revocationDetails",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub revocation_details: Option<serde_json::Value>,
}

/// A fresh record id: 24 hex digits (96 random bits).
pub fn new_id() -> String {
    hex::encode(rand::random::<[u8; 12]>())
}

/// The strong entity tag of a stored record: a digest of its stored form, so any change to it
/// changes the tag.
pub fn etag<T: Serialize>(record: &T) -> String {
    use sha2::{Digest, Sha256};
    let bytes = serde_json::to_vec(record).unwrap_or_default();
    format!("\"{}\"", hex::encode(&Sha256::digest(&bytes)[..8]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(role: &str, inbox: Option<&str>, doc: Option<&str>) -> RoleRef {
        RoleRef {
            role: role.into(),
            inbox: inbox.map(Into::into),
            document_id: doc.map(Into::into),
        }
    }

    #[test]
    fn never_broader_than_the_user() {
        let any = r("a", None, None);
        let inbox = r("a", Some("i"), None);
        let doc = r("a", Some("i"), Some("d"));
        for inner in [&any, &inbox, &doc] {
            assert!(inner.within(&any));
        }
        assert!(inbox.within(&inbox) && doc.within(&inbox));
        assert!(!any.within(&inbox));
        assert!(!r("a", Some("j"), None).within(&inbox));
        assert!(doc.within(&doc));
        assert!(!inbox.within(&doc) && !r("a", Some("i"), Some("e")).within(&doc));
        assert!(!r("b", None, None).within(&any));
    }
}
