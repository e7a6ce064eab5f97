//! Signed tokens: account, temporary and base tokens in JWT compact form.
//!
//! Every node of a fleet verifies every token with only the policy's verification keys: no shared
//! store. Each token kind has its own keys (`KeyUse`), so a token signed for one kind never
//! verifies as another; the header's `kid` picks the key and its algorithm must be the key's.
//! Tokens without `kid` are SeaTable's own shape (`seatable`), verified with the deployment's
//! secret. `keyring` signs and verifies, with the `crypto` backend; `directory` holds users, bases, links and API tokens, and the
//! revocation checks that need them. `identity` calls in here for credentials that look like
//! tokens; `issuer` mints them.

pub mod claims;
pub mod crypto;
pub mod directory;
pub mod keyring;
pub mod seatable;

pub use claims::Claims;
pub use directory::Directory;
pub use keyring::{KeyRing, TokenError};

/// Seconds of clock skew tolerated on `exp`, `nbf` and `iat` (documented in the README).
pub const LEEWAY_S: f64 = 5.0;

/// Whether a presented secret is shaped like a JWT (three base64url parts).
pub fn looks_like_jwt(secret: &str) -> bool {
    secret.bytes().filter(|&b| b == b'.').count() == 2
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
}
