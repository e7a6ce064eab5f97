//! What identity looks credentials up in, as the policy compiles them: API keys (by digest, by
//! id, by client-certificate fingerprint) and management clients (by id).

use std::collections::HashMap;
use std::sync::Arc;

use crate::grant::Grants;

/// A compiled API key.
#[derive(Debug)]
pub struct Key {
    /// The key id: the only name a key has in logs, metrics and headers.
    pub id: String,
    /// SHA-256 of the secret.
    pub digest: [u8; 32],
    /// What the key may do (shared with the keys that may do exactly the same: `grant::Pool`).
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

/// Keys indexed by digest and by id.
#[derive(Debug, Default)]
pub struct KeyIndex {
    /// Every key.
    pub keys: Vec<Key>,
    /// digest → index into `keys`.
    pub by_digest: HashMap<[u8; 32], usize>,
    /// id → index into `keys`.
    pub by_id: HashMap<String, usize>,
    /// SHA-256 of a client certificate → index into `keys`.
    pub by_certificate: HashMap<[u8; 32], usize>,
}

impl KeyIndex {
    /// Store equal grant sets once (see `grant::Pool`); call when the keys' grants are final.
    pub fn share_grants(&mut self) {
        let mut pool = crate::grant::Pool::default();
        for k in &mut self.keys {
            k.grants = pool.share(Arc::clone(&k.grants));
        }
    }
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
