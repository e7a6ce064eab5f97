//! The `keys` section as read, compact: a policy may hold a million keys, so each key is read
//! into a `RawKey` and at once reduced to a position in a few columns, and the `RawKey` dropped.
//!
//! Ids and decoded digests go into the `KeyColumns` the key index takes over without a copy, so
//! a reload never holds the new policy's keys twice. What keys have in common (permissions,
//! roles, scope, read-only) is stored once per distinct value as a `KeyShape`, and compile
//! builds each shape's grants once; each key holds its shape's number. The fields few keys use
//! are kept, boxed, for those keys only. Keys keep file order, and an id given twice in one
//! object stays twice, so compile refuses it rather than keeping the last.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::hash::BuildHasher;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

use crate::identity::KeyColumns;
use crate::policy::alike_keys::Alike;
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

/// Every key of one policy file, in file order, by position: ids and digests in the columns the
/// key index takes over as they are, the rest beside them.
#[derive(Debug, Default)]
pub struct RawKeys {
    /// Ids and decoded digests (all zeros where `invalid_digests` says).
    pub columns: KeyColumns,
    /// The distinct shapes; `shape_of` indexes this.
    pub shapes: Vec<KeyShape>,
    /// Each key's shape.
    pub shape_of: Vec<u32>,
    /// Positions of the keys whose `sha256` is not 64 hexadecimal digits, ascending.
    pub invalid_digests: Vec<u32>,
    /// Positions of the disabled keys, ascending.
    pub disabled: Vec<u32>,
    /// The rarer fields of the keys that set any, by position, ascending.
    pub rest: Vec<(u32, Box<KeyRest>)>,
}

impl RawKeys {
    /// How many keys.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// No key at all.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }
}

impl KeyRest {
    /// All absent.
    pub const NONE: KeyRest = KeyRest {
        status: None,
        not_before: None,
        expires_at: None,
        client_certificate_sha256: None,
        rate_limit: None,
        quota: None,
    };
}

thread_local! {
    /// The length of the text being read on this thread (`sized_by`), 0 when unknown.
    static TEXT_LEN: Cell<u64> = const { Cell::new(0) };
}

/// While `read` runs, a `keys` section read on this thread comes from a text of `len` bytes.
/// The columns are then reserved at once for the most keys such a text can hold (each key
/// takes at least 64 bytes, its digest): pages never written are not resident, and columns
/// grown by doubling left their earlier copies as garbage while a large policy was read,
/// beside both snapshots. The room left over is given back when the section ends.
pub fn sized_by<T>(len: u64, read: impl FnOnce() -> T) -> T {
    let before = TEXT_LEN.with(|l| l.replace(len));
    let out = read();
    TEXT_LEN.with(|l| l.set(before));
    out
}

/// Builds a `RawKeys` one key at a time.
#[derive(Default)]
pub(super) struct Builder {
    keys: RawKeys,
    /// Shape numbers by the shape's hash.
    seen: hashbrown::HashTable<u32>,
    hasher: foldhash::fast::RandomState,
}

impl Builder {
    /// A builder with room reserved for the most keys a text of `len` bytes can hold (see
    /// `sized_by`; 0: none).
    pub(super) fn with_room(len: u64) -> Self {
        let mut b = Self::default();
        let most = usize::try_from(len / 64).unwrap_or(0);
        // Ids are mostly short: an eighth of the text is room enough, else they grow.
        b.keys.columns.reserve(most, most * 8);
        b.keys.shape_of.reserve(most);
        b
    }

    /// Add the key `id` as read. What it gave, when it sets no field of `KeyRest` (see
    /// `alike_keys`).
    pub(super) fn push<E: serde::de::Error>(
        &mut self,
        id: &str,
        raw: RawKey,
    ) -> Result<Option<Alike>, E> {
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
        let digest = crate::hex_digest::decode(&sha256);
        let alike = Alike { shape, disabled };
        let at = self.push_alike(id, digest, alike)?;
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
        if rare {
            self.keys.rest.push((at, Box::new(rest)));
        }
        Ok((!rare).then_some(alike))
    }

    /// Add the key `id` with `digest` (`None`: not 64 hex digits) and what a key alike gave;
    /// its position.
    pub(super) fn push_alike<E: serde::de::Error>(
        &mut self,
        id: &str,
        digest: Option<[u8; 32]>,
        alike: Alike,
    ) -> Result<u32, E> {
        let keys = &mut self.keys;
        let at = keys
            .columns
            .push(id, digest.unwrap_or([0; 32]))
            .ok()
            .and_then(|at| u32::try_from(at).ok())
            .ok_or_else(|| E::custom("too many keys"))?;
        keys.shape_of.push(alike.shape);
        if digest.is_none() {
            keys.invalid_digests.push(at);
        }
        if alike.disabled {
            keys.disabled.push(at);
        }
        Ok(at)
    }

    /// The keys, the room left over given back.
    pub(super) fn finish(mut self) -> RawKeys {
        let k = &mut self.keys;
        k.columns.shrink_to_fit();
        k.shapes.shrink_to_fit();
        k.shape_of.shrink_to_fit();
        k.invalid_digests.shrink_to_fit();
        k.disabled.shrink_to_fit();
        k.rest.shrink_to_fit();
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
                let mut b = Builder::with_room(TEXT_LEN.with(Cell::get));
                let mut n = 0u32;
                while let Some(id) = map.next_key::<String>()? {
                    let raw: RawKey = map.next_value()?;
                    b.push(&id, raw)?;
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
        let c = &keys.columns;
        assert_eq!((c.len(), c.id(0), c.id(1), c.id(2)), (3, "b", "a", "b"));
        assert_eq!(keys.shapes.len(), 2);
        assert_eq!(keys.shape_of, [0, 0, 1]);
        assert_eq!(c.digest(0)[31], 0xaa);
        assert_eq!(keys.invalid_digests, [1, 2]);
        assert_eq!(c.digest(1), &[0; 32]);
        assert_eq!(keys.disabled, [2]);
        assert_eq!(keys.rest.len(), 1);
        assert_eq!(keys.rest[0].0, 1);
        assert_eq!(keys.rest[0].1.expires_at.as_deref(), Some("x"));
        assert_eq!(keys.shapes[1].roles, ["r"]);
    }

    #[test]
    fn many_keys_keep_their_order() {
        let n = 10_003;
        let text: Vec<String> = (0..n)
            .map(|i| format!(r#""k{i}": {{"sha256": "{i:064x}"}}"#))
            .collect();
        let keys: RawKeys = serde_json::from_str(&format!("{{{}}}", text.join(","))).unwrap();
        assert_eq!(keys.len(), n);
        for i in [0, 1, 4096, n - 1] {
            assert_eq!(keys.columns.id(i), format!("k{i}"));
            assert_eq!(keys.columns.digest(i)[30..], [(i >> 8) as u8, i as u8]);
        }
        assert_eq!(keys.shapes.len(), 1);
        assert!(keys.invalid_digests.is_empty() && keys.disabled.is_empty());
    }

    #[test]
    fn keys_read_within_a_known_length_are_the_same_and_the_length_is_forgotten() {
        let text = r#"{"a": {"sha256": "00"}, "b": {"sha256": "01", "disabled": true}}"#;
        let keys: RawKeys = sized_by(1 << 20, || serde_json::from_str(text)).unwrap();
        let plain: RawKeys = serde_json::from_str(text).unwrap();
        assert_eq!(keys.columns, plain.columns);
        assert_eq!(keys.disabled, [1]);
        assert_eq!(TEXT_LEN.with(Cell::get), 0);
    }

    #[test]
    fn unknown_fields_are_still_refused() {
        let e = serde_json::from_str::<RawKeys>(r#"{"k": {"sha256": "00", "sha": 1}}"#);
        assert!(e.unwrap_err().to_string().contains("unknown field `sha`"));
    }
}
