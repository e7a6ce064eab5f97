//! What identity looks credentials up in, as the policy compiles them: API keys (by digest, by
//! id, by client-certificate fingerprint) and management clients (by id).
//!
//! The key index is laid out for a million keys: one 64-byte slot per key (digest, shared
//! grants, validity window, status number, where its id ends in one string of all ids), and two
//! hash tables of slot numbers (4 bytes a key each, plus a control byte) keyed by digest and by
//! id. About 85 bytes a key where a `Vec` of structs with `String`s and two `HashMap`s took 340.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::HashTable;

use crate::grant::Grants;

/// An API key as compile builds it, before it is stored in a [`KeyIndex`].
#[derive(Debug, Clone)]
pub struct Key {
    /// The key id: the only name a key has in logs, metrics and headers.
    pub id: String,
    /// SHA-256 of the secret.
    pub digest: [u8; 32],
    /// What the key may do.
    pub grants: Arc<Grants>,
    /// Linea21 content status passed upstream (`P` when absent from the policy).
    pub status: String,
    /// Unix seconds before which the key is not valid.
    pub not_before: Option<i64>,
    /// Unix seconds from which the key is expired.
    pub expires_at: Option<i64>,
    /// Disabled by the operator.
    pub disabled: bool,
}

/// One stored key (64 bytes).
#[derive(Debug)]
struct Slot {
    digest: [u8; 32],
    grants: Arc<Grants>,
    /// `i64::MIN`: no lower bound.
    not_before: i64,
    /// `i64::MAX`: no expiry.
    expires_at: i64,
    /// Where this key's id ends in `KeyIndex::ids` (it starts where the previous one ends).
    id_end: u32,
    /// Index into `KeyIndex::statuses`.
    status: u16,
    disabled: bool,
}

/// A stored key, read through its index.
#[derive(Debug, Clone, Copy)]
pub struct KeyRef<'a> {
    ix: &'a KeyIndex,
    at: usize,
}

impl<'a> KeyRef<'a> {
    fn slot(&self) -> &'a Slot {
        &self.ix.slots[self.at]
    }
    /// Its position in the index (insertion order).
    pub fn position(&self) -> usize {
        self.at
    }
    /// The key id.
    pub fn id(&self) -> &'a str {
        self.ix.id_at(self.at)
    }
    /// SHA-256 of the secret.
    pub fn digest(&self) -> &'a [u8; 32] {
        &self.slot().digest
    }
    /// What the key may do.
    pub fn grants(&self) -> &'a Grants {
        &self.slot().grants
    }
    /// Linea21 content status passed upstream.
    pub fn status(&self) -> &'a str {
        &self.ix.statuses[usize::from(self.slot().status)]
    }
    /// Unix seconds before which the key is not valid.
    pub fn not_before(&self) -> Option<i64> {
        Some(self.slot().not_before).filter(|&t| t != i64::MIN)
    }
    /// Unix seconds from which the key is expired.
    pub fn expires_at(&self) -> Option<i64> {
        Some(self.slot().expires_at).filter(|&t| t != i64::MAX)
    }
    /// Disabled by the operator.
    pub fn disabled(&self) -> bool {
        self.slot().disabled
    }
}

/// Why a key was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// Another key has this id (at this position).
    Id(usize),
    /// Another key has this digest (at this position).
    Digest(usize),
    /// The index cannot hold more (4 GiB of ids or 65,536 distinct statuses).
    Full,
}

/// Keys indexed by digest, by id and by client-certificate fingerprint.
#[derive(Default)]
pub struct KeyIndex {
    slots: Vec<Slot>,
    /// Every id, one after the other.
    ids: String,
    /// Distinct statuses.
    statuses: Vec<Box<str>>,
    /// Slot numbers by digest (hashed by the digest's first eight bytes: digests of secrets are
    /// uniform, and only the operator chooses what is stored).
    by_digest: HashTable<u32>,
    /// Slot numbers by id.
    by_id: HashTable<u32>,
    id_hasher: std::hash::RandomState,
    /// SHA-256 of a client certificate → slot number.
    by_certificate: HashMap<[u8; 32], u32>,
}

impl std::fmt::Debug for KeyIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyIndex")
            .field("keys", &self.slots.len())
            .finish_non_exhaustive()
    }
}

fn digest_hash(d: &[u8; 32]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    u64::from_le_bytes(first)
}

impl KeyIndex {
    /// An empty index with room for `keys` keys whose ids take `id_bytes` in all.
    pub fn with_capacity(keys: usize, id_bytes: usize) -> Self {
        Self {
            slots: Vec::with_capacity(keys),
            ids: String::with_capacity(id_bytes),
            by_digest: HashTable::with_capacity(keys),
            by_id: HashTable::with_capacity(keys),
            ..Self::default()
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether there is no key.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Every key, in insertion order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = KeyRef<'_>> + '_ {
        (0..self.slots.len()).map(|at| KeyRef { ix: self, at })
    }

    /// The key at `position`.
    pub fn get(&self, position: usize) -> Option<KeyRef<'_>> {
        (position < self.slots.len()).then_some(KeyRef {
            ix: self,
            at: position,
        })
    }

    /// The key whose secret has SHA-256 `d`.
    pub fn by_digest(&self, d: &[u8; 32]) -> Option<KeyRef<'_>> {
        self.by_digest
            .find(digest_hash(d), |&i| self.slots[i as usize].digest == *d)
            .map(|&i| KeyRef {
                ix: self,
                at: i as usize,
            })
    }

    /// The key named `id`.
    pub fn by_id(&self, id: &str) -> Option<KeyRef<'_>> {
        self.by_id
            .find(self.id_hasher.hash_one(id), |&i| {
                self.id_at(i as usize) == id
            })
            .map(|&i| KeyRef {
                ix: self,
                at: i as usize,
            })
    }

    /// The key a client certificate (its SHA-256) stands for.
    pub fn by_certificate(&self, fingerprint: &[u8; 32]) -> Option<KeyRef<'_>> {
        self.by_certificate.get(fingerprint).map(|&i| KeyRef {
            ix: self,
            at: i as usize,
        })
    }

    /// Let the client certificate `fingerprint` stand for the key at `position`; the position
    /// of the key it already stands for, if any.
    pub fn bind_certificate(
        &mut self,
        fingerprint: [u8; 32],
        position: usize,
    ) -> Result<(), usize> {
        let at = u32::try_from(position).map_err(|_| position)?;
        match self.by_certificate.entry(fingerprint) {
            std::collections::hash_map::Entry::Occupied(o) => Err(*o.get() as usize),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(at);
                Ok(())
            }
        }
    }

    /// Store `key` unless its id or digest is taken; its position.
    pub fn insert(&mut self, key: Key) -> Result<usize, Taken> {
        if let Some(k) = self.by_id(&key.id) {
            return Err(Taken::Id(k.at));
        }
        if let Some(k) = self.by_digest(&key.digest) {
            return Err(Taken::Digest(k.at));
        }
        let at = self.slots.len();
        let slot_no = u32::try_from(at).map_err(|_| Taken::Full)?;
        let id_end = u32::try_from(self.ids.len() + key.id.len()).map_err(|_| Taken::Full)?;
        let status = match self.statuses.iter().position(|s| **s == *key.status) {
            Some(i) => i,
            None => {
                self.statuses.push(key.status.into_boxed_str());
                self.statuses.len() - 1
            }
        };
        let status = u16::try_from(status).map_err(|_| Taken::Full)?;
        self.ids.push_str(&key.id);
        self.slots.push(Slot {
            digest: key.digest,
            grants: key.grants,
            not_before: key.not_before.unwrap_or(i64::MIN),
            expires_at: key.expires_at.unwrap_or(i64::MAX),
            id_end,
            status,
            disabled: key.disabled,
        });
        let Self {
            slots,
            ids,
            by_digest,
            by_id,
            id_hasher,
            ..
        } = self;
        by_digest.insert_unique(digest_hash(&key.digest), slot_no, |&i| {
            digest_hash(&slots[i as usize].digest)
        });
        by_id.insert_unique(id_hasher.hash_one(key.id.as_str()), slot_no, |&i| {
            id_hasher.hash_one(id_in(slots, ids, i as usize))
        });
        Ok(at)
    }

    /// The grants of the key at `position`, to change while compiling (before `finish`).
    pub fn grants_mut(&mut self, position: usize) -> Option<&mut Grants> {
        self.slots
            .get_mut(position)
            .map(|s| Arc::make_mut(&mut s.grants))
    }

    /// Once every key is in and its grants are final: store equal grant sets once (see
    /// `grant::Pool`) and give back the room the tables grew into.
    pub fn finish(&mut self) {
        let mut pool = crate::grant::Pool::default();
        for s in &mut self.slots {
            s.grants = pool.share(Arc::clone(&s.grants));
        }
        self.slots.shrink_to_fit();
        self.ids.shrink_to_fit();
        let Self {
            slots,
            ids,
            by_digest,
            by_id,
            id_hasher,
            by_certificate,
            ..
        } = self;
        by_digest.shrink_to_fit(|&i| digest_hash(&slots[i as usize].digest));
        by_id.shrink_to_fit(|&i| id_hasher.hash_one(id_in(slots, ids, i as usize)));
        by_certificate.shrink_to_fit();
    }

    fn id_at(&self, at: usize) -> &str {
        id_in(&self.slots, &self.ids, at)
    }
}

fn id_in<'a>(slots: &[Slot], ids: &'a str, at: usize) -> &'a str {
    let start = match at {
        0 => 0,
        _ => slots[at - 1].id_end as usize,
    };
    &ids[start..slots[at].id_end as usize]
}

/// A management API client (HTTP Basic).
#[derive(Debug)]
pub struct Client {
    /// The client id.
    pub id: String,
    /// SHA-256 of the client secret.
    pub digest: [u8; 32],
    /// What it may do (management modules).
    pub grants: Grants,
    /// Namespaces whose authorisation records it sees and writes; the first is its default.
    pub namespaces: Vec<String>,
    /// Disabled by the operator.
    pub disabled: bool,
}

/// Management clients by id.
pub type ClientIndex = HashMap<String, Client>;

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, secret: &str, status: &str) -> Key {
        Key {
            id: id.into(),
            digest: crate::identity::digest(secret),
            grants: Arc::new(Grants::default()),
            status: status.into(),
            not_before: None,
            expires_at: Some(5),
            disabled: false,
        }
    }

    #[test]
    fn keys_are_found_by_digest_and_id_and_refused_twice() {
        let mut ix = KeyIndex::default();
        for i in 0..1000 {
            let status = if i % 2 == 0 { "P" } else { "D" };
            assert_eq!(
                ix.insert(key(&format!("k{i}"), &format!("s{i}"), status)),
                Ok(i)
            );
        }
        ix.finish();
        assert_eq!(ix.len(), 1000);
        let k = ix.by_digest(&crate::identity::digest("s517")).unwrap();
        assert_eq!((k.id(), k.status(), k.position()), ("k517", "D", 517));
        assert_eq!((k.not_before(), k.expires_at()), (None, Some(5)));
        assert_eq!(
            ix.by_id("k0").unwrap().digest(),
            &crate::identity::digest("s0")
        );
        assert_eq!(ix.by_id("k999").unwrap().id(), "k999");
        assert!(ix.by_id("k1000").is_none());
        assert!(ix.by_digest(&crate::identity::digest("s1000")).is_none());
        assert_eq!(ix.insert(key("k3", "new", "P")), Err(Taken::Id(3)));
        assert_eq!(ix.insert(key("new", "s4", "P")), Err(Taken::Digest(4)));
        let ids: Vec<&str> = ix.iter().take(3).map(|k| k.id()).collect();
        assert_eq!(ids, ["k0", "k1", "k2"]);
        assert_eq!(ix.statuses.len(), 2);
    }

    #[test]
    fn certificates_stand_for_one_key() {
        let mut ix = KeyIndex::default();
        ix.insert(key("a", "1", "P")).unwrap();
        ix.insert(key("b", "2", "P")).unwrap();
        assert_eq!(ix.bind_certificate([7; 32], 1), Ok(()));
        assert_eq!(ix.bind_certificate([7; 32], 0), Err(1));
        assert_eq!(ix.by_certificate(&[7; 32]).unwrap().id(), "b");
    }
}
