//! Key generation for `portcullis key new`: a fresh high-entropy secret, shown once, and the
//! policy entry that holds only its SHA-256 digest, with the permissions and roles asked for.

use std::collections::BTreeMap;

/// Prefix of generated secrets, so leaked ones are easy to search for.
pub const SECRET_PREFIX: &str = "pcs_";

/// A new secret: 256 random bits, hex, with a recognisable prefix.
pub fn new_secret() -> String {
    format!("{SECRET_PREFIX}{}", hex::encode(rand::random::<[u8; 32]>()))
}

/// What a new key is granted: `module → actions` and role names.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Grants {
    /// module → actions (`all` for every action), as the policy writes them.
    pub permissions: BTreeMap<String, Vec<String>>,
    /// Role names.
    pub roles: Vec<String>,
}

/// A `--permission` that is not `module:action`.
#[derive(Debug, thiserror::Error)]
#[error("--permission {0:?}: expected MODULE:ACTION, e.g. `indicator:list` or `indicator:all`")]
pub struct BadPermission(String);

impl Grants {
    /// Read `module:action` permissions and role names as typed.
    pub fn parse(permissions: &[String], roles: &[String]) -> Result<Self, BadPermission> {
        let mut g = Grants {
            roles: roles.to_vec(),
            ..Grants::default()
        };
        for p in permissions {
            let (module, action) = p
                .split_once(':')
                .filter(|(m, a)| !m.is_empty() && !a.is_empty() && !a.contains(':'))
                .ok_or_else(|| BadPermission(p.clone()))?;
            let actions = g.permissions.entry(module.to_owned()).or_default();
            if !actions.iter().any(|a| a == action) {
                actions.push(action.to_owned());
            }
        }
        Ok(g)
    }

    /// Nothing granted: such a key can do nothing.
    pub fn is_empty(&self) -> bool {
        self.permissions.is_empty() && self.roles.is_empty()
    }
}

/// The `keys` entry for `id` holding the digest of `secret` and `grants`.
pub fn entry(id: &str, secret: &str, grants: &Grants, description: &str) -> serde_json::Value {
    let mut key = serde_json::json!({
        "sha256": hex::encode(crate::identity::digest(secret)),
        "description": description,
        "permissions": grants.permissions,
    });
    if !grants.roles.is_empty() {
        key["roles"] = serde_json::json!(grants.roles);
    }
    serde_json::json!({ id: key })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_and_entries_hold_only_the_digest() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), SECRET_PREFIX.len() + 64);
        let e = entry("ci", &a, &Grants::default(), "").to_string();
        assert!(!e.contains(&a));
        assert!(e.contains(&hex::encode(crate::identity::digest(&a))));
    }

    #[test]
    fn permissions_are_grouped_by_module() {
        let typed = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let g = Grants::parse(
            &typed(&[
                "indicator:list",
                "indicator:info",
                "level:all",
                "indicator:list",
            ]),
            &typed(&["reader"]),
        )
        .expect("valid");
        let e = entry("k", "s", &g, "d");
        assert_eq!(
            e["k"]["permissions"],
            serde_json::json!({ "indicator": ["list", "info"], "level": ["all"] })
        );
        assert_eq!(e["k"]["roles"], serde_json::json!(["reader"]));
        for bad in ["indicator", ":list", "indicator:", "a:b:c"] {
            assert!(Grants::parse(&typed(&[bad]), &[]).is_err(), "{bad}");
        }
    }
}
