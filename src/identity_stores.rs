//! Where identity looks API keys up, as the policy compiles them: by digest, by id, by
//! client-certificate fingerprint (management clients are in `identity_clients`).
//!
//! The key index is laid out for a million keys: the ids (one string of all of them, and where
//! each ends) and digests as the policy was read (`KeyColumns`), an 8-byte slot per key (grants
//! number, status number, disabled), the distinct grant sets once, the validity windows of the
//! keys that have one, and two hash tables of positions (4 bytes a key each, plus a control
//! byte) keyed by digest and by id. About 60 bytes a key where a `Vec` of structs with
//! `String`s and two `HashMap`s took 340.
//!
//! A slot names its grants by number, not by `Arc`: a reference count bumped once per key was a
//! locked instruction per key, which waited each time for the stores before it (a fifth of a
//! reload of 1,000,000 keys, `perf annotate`).

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::HashTable;

use crate::grant::Grants;
use crate::identity::columns::{Full, KeyColumns};

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

/// What the index holds of a key beside its id and digest (8 bytes).
#[derive(Debug)]
struct Slot {
    /// Index into `KeyIndex::grants`.
    grants: u32,
    /// Index into `KeyIndex::statuses`.
    status: u16,
    disabled: bool,
    /// The key has a validity window (in `KeyIndex::windows`).
    windowed: bool,
}

/// A key's validity window: (position, not before, expires at); `i64::MIN` and `i64::MAX` for
/// no bound.
type Window = (u32, i64, i64);

/// A grant set stored in a [`KeyIndex`] (see [`KeyIndex::add_grants`]), for any number of keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantsId(u32);

/// A key's details, for the key whose id and digest are next in line (see [`KeyIndex::settle`]).
#[derive(Debug, Clone)]
pub struct Details<'a> {
    /// What the key may do.
    pub grants: GrantsId,
    /// Linea21 content status passed upstream.
    pub status: &'a str,
    /// Unix seconds before which the key is not valid.
    pub not_before: Option<i64>,
    /// Unix seconds from which the key is expired.
    pub expires_at: Option<i64>,
    /// Disabled by the operator.
    pub disabled: bool,
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
        self.ix.keys.id(self.at)
    }
    /// SHA-256 of the secret.
    pub fn digest(&self) -> &'a [u8; 32] {
        self.ix.keys.digest(self.at)
    }
    /// What the key may do.
    pub fn grants(&self) -> &'a Grants {
        &self.ix.grants[self.slot().grants as usize]
    }
    /// Linea21 content status passed upstream.
    pub fn status(&self) -> &'a str {
        &self.ix.statuses[usize::from(self.slot().status)]
    }
    /// Unix seconds before which the key is not valid.
    pub fn not_before(&self) -> Option<i64> {
        self.window().map(|w| w.1).filter(|&t| t != i64::MIN)
    }
    /// Unix seconds from which the key is expired.
    pub fn expires_at(&self) -> Option<i64> {
        self.window().map(|w| w.2).filter(|&t| t != i64::MAX)
    }
    fn window(&self) -> Option<&'a Window> {
        if !self.slot().windowed {
            return None;
        }
        let w = &self.ix.windows;
        w.binary_search_by_key(&self.at, |&(p, _, _)| p as usize)
            .ok()
            .map(|i| &w[i])
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
///
/// Compile fills it in two steps: the ids and digests of a policy file's keys arrive as read
/// (`append`), then each key's details in the same order (`settle`), which also indexes it.
/// Lookups see settled keys only.
#[derive(Default)]
pub struct KeyIndex {
    /// Ids and digests by position.
    keys: KeyColumns,
    /// The rest of each settled key, by position.
    slots: Vec<Slot>,
    /// The grant sets slots name.
    grants: Vec<Arc<Grants>>,
    /// The validity windows of the few keys that have one, by position, ascending.
    windows: Vec<Window>,
    /// Distinct statuses.
    statuses: Vec<Box<str>>,
    /// Positions by digest (hashed by the digest's first eight bytes: digests of secrets are
    /// uniform, and only the operator chooses what is stored).
    by_digest: HashTable<u32>,
    /// Positions by id.
    by_id: HashTable<u32>,
    id_hasher: std::hash::RandomState,
    /// SHA-256 of a client certificate → position.
    by_certificate: HashMap<[u8; 32], u32>,
}

impl std::fmt::Debug for KeyIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyIndex")
            .field("keys", &self.slots.len())
            .finish_non_exhaustive()
    }
}

/// See `KeyIndex::tables`.
type Tables<'a> = (
    &'a KeyColumns,
    &'a mut HashTable<u32>,
    &'a mut HashTable<u32>,
    &'a std::hash::RandomState,
);

fn digest_hash(d: &[u8; 32]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    u64::from_le_bytes(first)
}

impl KeyIndex {
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
            .find(digest_hash(d), |&i| self.keys.digest(i as usize) == d)
            .map(|&i| KeyRef {
                ix: self,
                at: i as usize,
            })
    }

    /// The key named `id`.
    pub fn by_id(&self, id: &str) -> Option<KeyRef<'_>> {
        self.by_id
            .find(self.id_hasher.hash_one(id), |&i| {
                self.keys.id(i as usize) == id
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

    /// Bring in the ids and digests of keys as read; `settle` then gives each its details, in
    /// order. The first columns are taken as they are, not copied.
    pub fn append(&mut self, columns: KeyColumns) -> Result<(), Taken> {
        let more = columns.len();
        self.keys.append(columns).map_err(|Full| Taken::Full)?;
        self.slots.reserve(more);
        let (keys, by_digest, by_id, id_hasher) = self.tables();
        by_digest.reserve(more, |&i| digest_hash(keys.digest(i as usize)));
        by_id.reserve(more, |&i| id_hasher.hash_one(keys.id(i as usize)));
        Ok(())
    }

    /// The columns brought in so far, settled or not (for compile to read what it settles).
    pub fn columns(&self) -> &KeyColumns {
        &self.keys
    }

    /// Give the next appended key its details; unless `indexed` is false (its digest is not
    /// valid) or its id or digest is taken by a key settled before, it can then be looked up.
    /// Its position either way.
    pub fn settle(&mut self, details: Details<'_>, indexed: bool) -> Result<usize, Taken> {
        let at = self.slots.len();
        if at >= self.keys.len() {
            return Err(Taken::Full);
        }
        let status = match self.statuses.iter().position(|s| **s == *details.status) {
            Some(i) => i,
            None => {
                self.statuses.push(details.status.into());
                self.statuses.len() - 1
            }
        };
        let status = u16::try_from(status).map_err(|_| Taken::Full)?;
        let pos = u32::try_from(at).map_err(|_| Taken::Full)?;
        let windowed = details.not_before.is_some() || details.expires_at.is_some();
        if windowed {
            self.windows.push((
                pos,
                details.not_before.unwrap_or(i64::MIN),
                details.expires_at.unwrap_or(i64::MAX),
            ));
        }
        self.slots.push(Slot {
            grants: details.grants.0,
            status,
            disabled: details.disabled,
            windowed,
        });
        if !indexed {
            return Ok(at);
        }
        let (id, digest) = (self.keys.id(at), self.keys.digest(at));
        let (id_hash, digest_hash_) = (self.id_hasher.hash_one(id), digest_hash(digest));
        if let Some(&i) = self
            .by_id
            .find(id_hash, |&i| self.keys.id(i as usize) == id)
        {
            return Err(Taken::Id(i as usize));
        }
        if let Some(&i) = self
            .by_digest
            .find(digest_hash_, |&i| self.keys.digest(i as usize) == digest)
        {
            return Err(Taken::Digest(i as usize));
        }
        let (keys, by_digest, by_id, id_hasher) = self.tables();
        by_digest.insert_unique(digest_hash_, pos, |&i| digest_hash(keys.digest(i as usize)));
        by_id.insert_unique(id_hash, pos, |&i| id_hasher.hash_one(keys.id(i as usize)));
        Ok(at)
    }

    /// Store `key` unless its id or digest is taken; its position. Every appended key must be
    /// settled first.
    pub fn insert(&mut self, key: Key) -> Result<usize, Taken> {
        if self.slots.len() != self.keys.len() {
            return Err(Taken::Full);
        }
        if let Some(k) = self.by_id(&key.id) {
            return Err(Taken::Id(k.at));
        }
        if let Some(k) = self.by_digest(&key.digest) {
            return Err(Taken::Digest(k.at));
        }
        self.keys
            .push(&key.id, key.digest)
            .map_err(|Full| Taken::Full)?;
        let details = Details {
            grants: self.add_grants(key.grants)?,
            status: &key.status,
            not_before: key.not_before,
            expires_at: key.expires_at,
            disabled: key.disabled,
        };
        self.settle(details, true)
    }

    /// Store a grant set for keys to name in their `Details`.
    pub fn add_grants(&mut self, grants: Arc<Grants>) -> Result<GrantsId, Taken> {
        let id = u32::try_from(self.grants.len()).map_err(|_| Taken::Full)?;
        self.grants.push(grants);
        Ok(GrantsId(id))
    }

    /// Once every key is in and its grants are final: store equal grant sets once (see
    /// `grant::Pool`) and give back the room the tables grew into.
    pub fn finish(&mut self) {
        let mut pool = crate::grant::Pool::default();
        for g in &mut self.grants {
            *g = pool.share(Arc::clone(g));
        }
        self.grants.shrink_to_fit();
        self.slots.shrink_to_fit();
        self.windows.shrink_to_fit();
        self.keys.shrink_to_fit();
        self.by_certificate.shrink_to_fit();
        let (keys, by_digest, by_id, id_hasher) = self.tables();
        by_digest.shrink_to_fit(|&i| digest_hash(keys.digest(i as usize)));
        by_id.shrink_to_fit(|&i| id_hasher.hash_one(keys.id(i as usize)));
    }

    /// The columns and the tables that index them, to change the tables.
    fn tables(&mut self) -> Tables<'_> {
        (
            &self.keys,
            &mut self.by_digest,
            &mut self.by_id,
            &self.id_hasher,
        )
    }
}

#[cfg(test)]
#[path = "identity_stores_tests.rs"]
mod tests;
