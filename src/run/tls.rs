//! TLS on the public listeners while serving: each listener's certificates loaded at start
//! (a bad one refuses to serve) with its reload loop, and what `/status` shows of them.

use std::sync::Arc;

use super::ServeError;
use crate::settings::Settings;
use crate::tls::Tls;
use crate::tls::reload::{ListenerStatus, Reloader as TlsReloader};

/// A TLS listener's termination and the reload loop of its certificates.
pub(super) type Terminating = (Arc<Tls>, TlsReloader);

/// Load each listener's certificates (refusing to start on a bad one), with its reload loop.
/// Always at least one entry, so plain listeners get their options too.
pub(super) fn start_tls(settings: &Settings) -> Result<Vec<Option<Terminating>>, ServeError> {
    let timeout = settings.tls_handshake_timeout();
    let mut all = Vec::new();
    for l in &settings.listeners {
        let started = l.tls.as_ref().map(|t| {
            Tls::start(t, timeout)
                .map(|(tls, certs)| (Arc::new(tls), certs))
                .map_err(|source| ServeError::Tls {
                    address: l.address,
                    source,
                })
        });
        all.push(started.transpose()?);
    }
    if all.is_empty() {
        all.push(None);
    }
    Ok(all)
}

/// Each TLS listener's address and reload outcome, for the admin `/status`.
pub(super) fn tls_statuses(settings: &Settings, tls: &[Option<Arc<Tls>>]) -> Arc<[ListenerStatus]> {
    settings
        .listeners
        .iter()
        .zip(tls)
        .filter_map(|(l, t)| {
            t.as_ref().map(|t| ListenerStatus {
                address: l.address,
                status: Arc::clone(&t.status),
            })
        })
        .collect()
}
