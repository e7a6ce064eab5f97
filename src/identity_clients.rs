//! Management API clients (HTTP Basic), by id, as the policy compiles them.

use std::collections::HashMap;

use crate::grant::Grants;

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
