//! The `keys` section as read, compact: a policy may hold a million keys, so each key is read
//! into a `RawKey`, reduced at once to a small `KeyEntry` and the `RawKey` dropped.
//!
//! What keys have in common (permissions, roles, scope, read-only) is stored once per distinct
//! value as a `KeyShape`, and compile builds each shape's grants once. The SHA-256 is decoded
//! while reading; the fields few keys use sit behind one box. Entries keep file order, and an id
//! given twice in one object stays twice, so compile refuses it rather than keeping the last.

use std::collections::BTreeMap;
use std::fmt;
use std::hash::BuildHasher;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

use crate::policy::raw::{Permissions, RawKey, RawQuota, RawRateLimit, RawStatus};

/// What compile turns into a key's grants; shared by every key with the same value.
#[derive(Debug, Default, Clone, PartialEq, Eq, Hash)]
pub struct KeyShape {
    /// The key's own permissions.
    pub permissions: Permissions,
    /// Its roles.
    pub roles: Vec<String>,
    /// Its resource scope.
    pub scope: BTreeMap<String, Vec<String>>,
    /// Only GET and HEAD.
    pub read_only: bool,
}

/// The fields few keys set.
#[derive(Debug, Default)]
pub struct KeyRest {
    /// Linea21 content status.
    pub status: Option<RawStatus>,
    /// RFC 3339 start of validity.
    pub not_before: Option<String>,
    /// RFC 3339 end of validity.
    pub expires_at: Option<String>,
    /// Client certificate fingerprint.
    pub client_certificate_sha256: Option<String>,
    /// The key's own rate limit.
    pub rate_limit: Option<RawRateLimit>,
    /// The key's quota.
    pub quota: Option<RawQuota>,
}

/// One key as read.
#[derive(Debug)]
pub struct KeyEntry {
    /// Its id.
    pub id: Box<str>,
    /// The decoded `sha256`, or `None` when it is not 64 hexadecimal digits.
    pub sha256: Option<[u8; 32]>,
    /// Index into `RawKeys::shapes`.
    pub shape: u32,
    /// Disabled by the operator.
    pub disabled: bool,
    /// The rarer fields, when any is set.
    pub rest: Option<Box<KeyRest>>,
}

/// Entries per chunk: a growing `Vec` of a million entries would leave its earlier copies (as
/// much again) as garbage while the policy loads.
const CHUNK: usize = 4096;

/// Every key of one policy file, in file order.
#[derive(Debug, Default)]
pub struct RawKeys {
    /// Full chunks of `CHUNK` entries, then the last one.
    chunks: Vec<Vec<KeyEntry>>,
    shapes: Vec<KeyShape>,
}

impl RawKeys {
    /// The keys in file order.
    pub fn iter(&self) -> impl Iterator<Item = &KeyEntry> {
        self.chunks.iter().flatten()
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.chunks.iter().map(Vec::len).sum()
    }

    /// No key at all.
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// The distinct shapes; `KeyEntry::shape` indexes this.
    pub fn shapes(&self) -> &[KeyShape] {
        &self.shapes
    }

    /// The shape of `entry`.
    pub fn shape(&self, entry: &KeyEntry) -> &KeyShape {
        &self.shapes[entry.shape as usize]
    }
}

impl KeyEntry {
    /// The rarer fields (all absent when the key sets none).
    pub fn rest(&self) -> &KeyRest {
        static NONE: KeyRest = KeyRest {
            status: None,
            not_before: None,
            expires_at: None,
            client_certificate_sha256: None,
            rate_limit: None,
            quota: None,
        };
        self.rest.as_deref().unwrap_or(&NONE)
    }
}

/// Builds a `RawKeys` one key at a time.
#[derive(Default)]
struct Builder {
    keys: RawKeys,
    /// Shape numbers by the shape's hash.
    seen: hashbrown::HashTable<u32>,
    hasher: foldhash::fast::RandomState,
}

impl Builder {
    fn push<E: serde::de::Error>(&mut self, id: String, raw: RawKey) -> Result<(), E> {
        let RawKey {
            sha256,
            description: _,
            contact: _,
            permissions,
            roles,
            scope,
            status,
            read_only,
            not_before,
            expires_at,
            disabled,
            client_certificate_sha256,
            rate_limit,
            quota,
        } = raw;
        let shape = KeyShape {
            permissions,
            roles,
            scope,
            read_only,
        };
        let Self { keys, seen, hasher } = self;
        let hash = hasher.hash_one(&shape);
        let found = seen.find(hash, |&n| keys.shapes[n as usize] == shape);
        let shape = match found {
            Some(&n) => n,
            None => {
                let n = u32::try_from(keys.shapes.len())
                    .map_err(|_| E::custom("too many distinct key permissions"))?;
                keys.shapes.push(shape);
                seen.insert_unique(hash, n, |&i| hasher.hash_one(&keys.shapes[i as usize]));
                n
            }
        };
        let rest = KeyRest {
            status,
            not_before,
            expires_at,
            client_certificate_sha256,
            rate_limit,
            quota,
        };
        let rare = rest.status.is_some()
            || rest.not_before.is_some()
            || rest.expires_at.is_some()
            || rest.client_certificate_sha256.is_some()
            || rest.rate_limit.is_some()
            || rest.quota.is_some();
        let mut digest = [0u8; 32];
        let sha256 = hex::decode_to_slice(&sha256, &mut digest)
            .ok()
            .map(|()| digest);
        if keys.chunks.last().is_none_or(|c| c.len() == CHUNK) {
            keys.chunks.push(Vec::with_capacity(CHUNK));
        }
        let Some(chunk) = keys.chunks.last_mut() else {
            return Err(E::custom("no room for a key"));
        };
        chunk.push(KeyEntry {
            id: id.into_boxed_str(),
            sha256,
            shape,
            disabled,
            rest: rare.then(|| Box::new(rest)),
        });
        Ok(())
    }

    fn finish(mut self) -> RawKeys {
        if let Some(last) = self.keys.chunks.last_mut() {
            last.shrink_to_fit();
        }
        self.keys.shapes.shrink_to_fit();
        self.keys
    }
}

impl<'de> Deserialize<'de> for RawKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> Visitor<'de> for Keys {
            type Value = RawKeys;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of keys by key id")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawKeys, A::Error> {
                let mut b = Builder::default();
                let mut n = 0u32;
                while let Some(id) = map.next_key::<String>()? {
                    let raw: RawKey = map.next_value()?;
                    b.push(id, raw)?;
                    n = n.wrapping_add(1);
                    if n.is_multiple_of(64) {
                        super::pace::point();
                    }
                }
                Ok(b.finish())
            }
        }
        d.deserialize_map(Keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_share_shapes_keep_order_and_duplicates() {
        let text = r#"{
            "b": {"sha256": "00000000000000000000000000000000000000000000000000000000000000aa",
                  "permissions": {"m": ["a"]}},
            "a": {"sha256": "nope", "permissions": {"m": ["a"]}, "expires_at": "x"},
            "b": {"sha256": "00", "roles": ["r"], "disabled": true}
        }"#;
        let keys: RawKeys = serde_json::from_str(text).unwrap();
        let ids: Vec<&str> = keys.iter().map(|k| &*k.id).collect();
        assert_eq!(ids, ["b", "a", "b"]);
        assert_eq!(keys.shapes().len(), 2);
        let all: Vec<&KeyEntry> = keys.iter().collect();
        let [b, a, b2] = [all[0], all[1], all[2]];
        assert_eq!(a.shape, b.shape);
        assert_ne!(b2.shape, b.shape);
        assert_eq!(b.sha256.map(|d| d[31]), Some(0xaa));
        assert_eq!(a.sha256, None);
        assert_eq!(a.rest().expires_at.as_deref(), Some("x"));
        assert!(b.rest.is_none() && b2.disabled);
        assert_eq!(keys.shape(b2).roles, ["r"]);
    }

    #[test]
    fn many_keys_fill_chunks_in_order() {
        let n = CHUNK * 2 + 3;
        let text: Vec<String> = (0..n)
            .map(|i| format!(r#""k{i}": {{"sha256": "{i:064x}"}}"#))
            .collect();
        let keys: RawKeys = serde_json::from_str(&format!("{{{}}}", text.join(","))).unwrap();
        assert_eq!((keys.len(), keys.chunks.len()), (n, 3));
        let ids: Vec<String> = keys.iter().map(|k| k.id.to_string()).collect();
        let want: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
        assert_eq!(ids, want);
        assert_eq!(keys.shapes().len(), 1);
    }

    #[test]
    fn unknown_fields_are_still_refused() {
        let e = serde_json::from_str::<RawKeys>(r#"{"k": {"sha256": "00", "sha": 1}}"#);
        assert!(e.unwrap_err().to_string().contains("unknown field `sha`"));
    }
}
