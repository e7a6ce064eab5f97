//! Certificate reload: re-reads a listener's certificate files every few seconds and publishes
//! a new certificate set when their content changed.
//!
//! A change that does not load (unparsable, key not matching, file missing) changes nothing:
//! the last good set keeps serving, the error is logged once (naming the file, never key
//! material) and kept in [`Status`] until a later change loads. Loading is [`super::certs`]'s,
//! publishing [`super::resolver`]'s.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::certs::{self, CertError};
use super::resolver::{CertSet, Resolver};
use crate::settings::CertificateFiles;

/// What the certificate reloads of one listener came to.
#[derive(Debug, Default)]
pub struct Status {
    /// The error of the last change that did not load, until a later one loads.
    last_error: Mutex<Option<String>>,
}

impl Status {
    /// The last reload error, if the newest files did not load.
    pub fn last_error(&self) -> Option<String> {
        self.lock().clone()
    }

    fn set(&self, error: Option<String>) {
        *self.lock() = error;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// A TLS listener's reload outcome, as `/status` on the admin listener shows it.
#[derive(Debug, Clone)]
pub struct ListenerStatus {
    /// The listener's address in the settings.
    pub address: std::net::SocketAddr,
    /// Its reload outcome.
    pub status: Arc<Status>,
}

impl ListenerStatus {
    /// The listener and its last reload error (`null` when the newest files are served).
    pub fn report(&self) -> serde_json::Value {
        serde_json::json!({
            "listener": self.address.to_string(),
            "last_error": self.status.last_error(),
        })
    }
}

/// The reload loop of one listener, ready to run.
#[derive(Debug)]
pub struct Reloader {
    /// The files to watch.
    pub(super) files: Vec<CertificateFiles>,
    /// Where a new set is published.
    pub(super) resolver: Arc<Resolver>,
    /// Where the outcome is kept.
    pub(super) status: Arc<Status>,
    /// Poll interval.
    pub(super) every: Duration,
    /// Digest of the files as last read.
    pub(super) seen: [u8; 32],
}

impl Reloader {
    /// Check the files every interval, forever.
    pub async fn run(mut self) {
        let mut tick = tokio::time::interval(self.every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            self.check().await;
        }
    }

    /// Reload if the files changed since they were last read.
    async fn check(&mut self) {
        let files = self.files.clone();
        let Ok((digest, loaded)) = tokio::task::spawn_blocking(move || {
            let digest = fingerprint(&files);
            (digest, certs::load_all(&files))
        })
        .await
        else {
            return;
        };
        if digest == self.seen {
            return;
        }
        self.seen = digest;
        match loaded.and_then(|c| CertSet::new(c).ok_or_else(no_certificate)) {
            Ok(set) => {
                self.resolver.publish(set);
                self.status.set(None);
                tracing::info!("tls certificates reloaded");
            }
            Err(e) => {
                tracing::error!(error = %e, "tls certificate reload failed; serving the last good certificates");
                self.status.set(Some(e.to_string()));
            }
        }
    }
}

fn no_certificate() -> CertError {
    CertError::Certificate {
        path: Default::default(),
        reason: "no certificate configured".into(),
    }
}

/// A digest of the files' contents (an unreadable file counts as empty plus a marker).
pub(super) fn fingerprint(files: &[CertificateFiles]) -> [u8; 32] {
    let mut h = Sha256::new();
    for f in files {
        for path in [&f.cert, &f.key] {
            match std::fs::read(path) {
                Ok(bytes) => {
                    h.update((bytes.len() as u64).to_be_bytes());
                    h.update(&bytes);
                }
                Err(_) => h.update(b"unreadable"),
            }
        }
    }
    h.finalize().into()
}
