//! Which grants' limits apply to a permitted request: its principal's own, or for a base or
//! temporary token those of the user behind it.

use crate::authz::Permit;
use crate::grant::Grants;
use crate::identity::Authority;
use crate::policy::Snapshot;

/// The grants whose limits apply: a key's or user's own, or the user's behind a base or
/// temporary token.
pub fn principal_grants<'a>(s: &'a Snapshot, permit: &Permit<'a>) -> Option<&'a Grants> {
    let p = permit.principal()?;
    match p.authority() {
        Authority::Grants(g) => Some(*g),
        // A contract.fit key has no limits of its own: the route's apply.
        Authority::Scoped(_) => None,
        Authority::Base { .. } => p
            .user()
            .and_then(|u| s.directory.users.get(u))
            .map(|u| &u.grants),
    }
}
