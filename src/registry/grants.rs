//! What the compiled registry grants: a contract.fit key's role entries (`Scoped`, each limited to
//! an inbox or a document), the key itself, and authorisation records (`Delegation`) with what
//! their type is bound to (`Binding`). `Index::build` makes them; `authz` reads them.

use std::sync::Arc;

use crate::grant::Grants;

/// The resource a contract.fit inbox is captured as.
pub const INBOX: &str = "inbox";
/// The resource a contract.fit document is captured as.
pub const DOCUMENT: &str = "document";

/// What an active authorisation record of one type grants its subject.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// The permissions (a policy role's).
    pub grants: Arc<Grants>,
    /// The resource the record's object value is: the grants hold only on routes capturing it
    /// with that value.
    pub resource: String,
}

/// A key's role entry, compiled: permissions, limited to an inbox or a document.
#[derive(Debug, Clone)]
pub struct Scoped {
    /// The role's permissions.
    pub grants: Grants,
    /// The inbox it is limited to.
    pub inbox: Option<String>,
    /// The document it is limited to.
    pub document: Option<String>,
}

impl Scoped {
    /// Whether the entry holds (module, action) on a request whose route captured `resources`.
    ///
    /// An entry limited to a document passes only routes capturing that document (and, if they
    /// capture an inbox, its inbox); one limited to an inbox passes only routes capturing that
    /// inbox. A route that does not capture what the entry is limited to cannot be shown to lie
    /// inside it, so it is out of scope.
    pub fn allows(&self, module: &str, action: &str, resources: &[(&str, &str)]) -> bool {
        if !self.grants.permits(module, action) {
            return false;
        }
        let captured = |name: &str| resources.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        match (&self.inbox, &self.document) {
            (_, Some(doc)) => {
                captured(DOCUMENT) == Some(doc.as_str())
                    && self
                        .inbox
                        .as_deref()
                        .is_none_or(|i| captured(INBOX).is_none_or(|v| v == i))
            }
            (Some(inbox), None) => captured(INBOX) == Some(inbox.as_str()),
            (None, None) => true,
        }
    }
}

/// A compiled contract.fit API key.
#[derive(Debug)]
pub struct Key {
    /// Its id.
    pub id: String,
    /// Index of its user in `State::users`.
    pub user: usize,
    /// Active and its user active.
    pub usable: bool,
    /// Unix seconds from which it is refused.
    pub expires_at: Option<i64>,
    /// What it may do, entry by entry.
    pub grants: Vec<Scoped>,
}

/// An authorisation record, compiled for the decision.
#[derive(Debug)]
pub struct Delegation {
    /// Index in `State::authorisations`.
    pub record: usize,
    /// The subject is a user (matched against the user a principal acts for) rather than a
    /// credential id.
    pub user_subject: bool,
    /// What it grants.
    pub binding: Binding,
    /// The object value.
    pub object: String,
    /// Unix seconds from which it holds.
    pub from: Option<i64>,
    /// Unix seconds from which it no longer holds.
    pub to: Option<i64>,
    /// Revoked.
    pub revoked: bool,
}

impl Delegation {
    /// Whether it holds at `now`.
    pub fn active(&self, now: i64) -> bool {
        !self.revoked && self.from.is_none_or(|f| now >= f) && self.to.is_none_or(|t| now < t)
    }
}
