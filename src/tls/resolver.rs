//! Certificate selection: a rustls `ResolvesServerCert` choosing among the loaded certificates
//! by the server name the client sent (SNI).
//!
//! The set is published through an `ArcSwap`, so a reload replaces every certificate at once
//! and a handshake sees the old set or the new one, never a mix. Loading is [`super::certs`]'s;
//! deciding when to reload, [`super::reload`]'s.

use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::certs::Loaded;

/// The certificates of one listener, the first the default.
#[derive(Debug)]
pub struct CertSet {
    /// In settings order; never empty once published.
    certs: Vec<Loaded>,
}

impl CertSet {
    /// A set of certificates; `None` when there is none to serve.
    pub fn new(certs: Vec<Loaded>) -> Option<Self> {
        (!certs.is_empty()).then_some(Self { certs })
    }

    /// The certificate for `sni`: the first whose names match it, else the first.
    pub fn pick(&self, sni: Option<&str>) -> Option<&Arc<CertifiedKey>> {
        let chosen = sni.and_then(|name| {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            self.certs
                .iter()
                .find(|c| c.names.iter().any(|n| matches(n, &name)))
        });
        chosen.or(self.certs.first()).map(|c| &c.key)
    }
}

/// Whether a certificate name (`api.example.com`, `*.example.com`) covers `host`; a wildcard
/// covers exactly one leftmost label.
fn matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
        None => pattern == host,
    }
}

/// The resolver a listener's rustls configuration holds; [`Resolver::publish`] swaps its set.
#[derive(Debug)]
pub struct Resolver {
    current: ArcSwap<CertSet>,
}

impl Resolver {
    /// A resolver serving `set`.
    pub fn new(set: CertSet) -> Self {
        Self {
            current: ArcSwap::from_pointee(set),
        }
    }

    /// Replace every certificate at once.
    pub fn publish(&self, set: CertSet) {
        self.current.store(Arc::new(set));
    }
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.load().pick(hello.server_name()).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn wildcards_cover_one_label() {
        assert!(matches("a.example", "a.example"));
        assert!(!matches("a.example", "b.example"));
        assert!(matches("*.example", "a.example"));
        assert!(!matches("*.example", "a.b.example"));
        assert!(!matches("*.example", "example"));
        assert!(!matches("*.example", ".example"));
    }
}
