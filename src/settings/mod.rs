//! Boot settings (`config/portcullis.json`): listeners, admin listener, where the policy lives,
//! limits, timeouts, trusted proxies, reload and logging. Read once at start; changing them needs
//! a restart (the policy, by contrast, reloads while running).
//!
//! Raw serde types with unknown fields rejected, then `Settings::load` resolves paths relative to
//! the settings file. `main` reads them; nothing below `main` reads the environment.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::gateway::Limits;

mod assertion;
mod listeners;
mod log;
mod tls;

use crate::policy::formats::Cidr;
pub use assertion::{AssertionAlgorithm, AssertionSettings};
pub use listeners::{ForwardAuthSettings, Listener};
pub use log::{AccessLogDestination, AccessLogFormat, AccessLogSettings, LogFormat, LogSettings};
pub use tls::{CertificateFiles, TlsSettings, UpstreamTlsSettings};

/// Portcullis boot settings (config/portcullis.json, or the file given to `--config`): listeners,
/// the admin listener, where the policy lives, limits and timeouts, trusted proxies, reload timing
/// and logging. Read once at start: changing them needs a restart (the policy, by contrast, is
/// reloaded while running). Unknown fields are rejected.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Portcullis boot settings")]
pub struct Settings {
    /// Reference to this schema, for editors. Ignored by Portcullis.
    #[serde(rename = "$schema")]
    pub schema: Option<String>,
    /// A note for people reading the file; ignored.
    #[serde(rename = "$comment")]
    pub comment: Option<String>,
    /// Public listeners: the gateway serves proxied requests (and the SeaTable-compatible token
    /// endpoints, when enabled) on each.
    pub listeners: Vec<Listener>,
    /// Worker threads serving the public listeners. Each has its own single-threaded runtime, its
    /// own SO_REUSEPORT accept socket and its own upstream connection pool, so a request stays on
    /// one thread. Default: one per CPU. Needs a restart to change.
    #[schemars(range(min = 1))]
    pub workers: Option<usize>,
    /// The admin listener: GET /healthz, GET /readyz (200 only while a valid policy is loaded), GET
    /// /status (policy generation, SHA-256, load time, last reload error) and POST /reload. It has
    /// no authentication: keep it on loopback or a private network. Absent: no admin listener.
    pub admin: Option<Listener>,
    /// The policy: one JSON file, or a directory whose *.json files (hidden files skipped) are
    /// merged in name order. A relative path is relative to this settings file. Management APIs
    /// need a directory (they write portcullis-managed.json into it).
    #[schemars(length(min = 1))]
    pub policy: PathBuf,
    /// A shadow policy (file or directory, like `policy`; relative to this settings file): decided
    /// beside the live policy for every request, hot-reloaded like it, never answered from.
    /// Disagreements are counted in the metrics (`portcullis_shadow_disagreements_total`) and
    /// logged with both outcomes, so a change can be watched before it is promoted. Absent: none.
    pub shadow_policy: Option<PathBuf>,
    /// Signed identity assertions, by upstream name (as the policy names upstreams): each request
    /// forwarded to such an upstream carries a short-lived signed token in
    /// `X-Portcullis-Assertion` (request id, credential kind and id, subject, module, action,
    /// resource scope, expiry), so the upstream can check that it came through the gateway.
    /// Absent: none.
    #[serde(default)]
    pub assertions: std::collections::BTreeMap<String, AssertionSettings>,
    /// Request limits and timeouts. Each is optional; absent ones take their default.
    #[serde(default)]
    pub limits: RawLimits,
    /// Networks (CIDR, prefix length required: `10.0.0.0/8`, `::1/128`) of proxies such as load
    /// balancers whose `X-Forwarded-For`, `X-Forwarded-Proto`, `X-Forwarded-Host` and `Forwarded`
    /// headers are extended. From any other peer those headers are replaced, so a client cannot
    /// claim another address. Default none.
    #[serde(default)]
    #[schemars(with = "Vec<Cidr>")]
    pub trusted_proxies: Vec<IpNet>,
    /// Policy reload timing. Each field is optional.
    #[serde(default)]
    pub reload: ReloadSettings,
    /// Logging, to standard error. Each field is optional.
    #[serde(default)]
    pub log: LogSettings,
    /// TLS to `https://` upstreams: extra CA files and a client certificate. Absent: the system's
    /// trust roots, no client certificate.
    pub upstream_tls: Option<UpstreamTlsSettings>,
    /// The forward-auth listener: the decision service of a fronting proxy (nginx
    /// `auth_request`, Traefik `ForwardAuth`, Caddy `forward_auth`). Absent: none.
    pub forward_auth: Option<ForwardAuthSettings>,
    /// Where the management APIs keep what they write: `{"kind": "file"}` (the default:
    /// portcullis-managed.json in the policy directory, one node) or `{"kind": "postgres",
    /// "connection_env": NAME}` / `"connection_file": PATH` (shared by a fleet; docs/fleet.md).
    #[serde(default)]
    pub store: crate::store::StoreSettings,
    /// Where rate-limit buckets live: `{"kind": "local"}` (the default: in this process) or
    /// `{"kind": "redis", "url_env": NAME, "timeout_ms": 5, "fail": "open"}` (shared by a
    /// fleet; `fail`: `open` decides with the local limiter while Redis is away, `closed`
    /// answers 429). docs/fleet.md.
    #[serde(default)]
    pub ratelimit_store: crate::ratelimit::RateLimitStore,
}

/// Request limits and timeouts. Each is optional; absent ones take their default.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "limits")]
pub struct RawLimits {
    /// Largest request body forwarded, in bytes; a larger one is refused with 413 `body_too_large`.
    /// Default 10485760 (10 MiB).
    pub max_body_bytes: Option<u64>,
    /// Longest request target (path and query), in bytes; a longer one is refused with 414
    /// `uri_too_long`. Default 8192.
    pub max_uri_bytes: Option<usize>,
    /// Most query parameters in a request; more is refused with 400 `too_many_parameters` (PHP
    /// silently drops parameters past its `max_input_vars`, 1000 by default). Default 1000.
    pub max_params: Option<usize>,
    /// Time allowed to receive a request head, in milliseconds (slow-client guard). Default 10000.
    pub header_read_timeout_ms: Option<u64>,
    /// Time allowed to connect to an upstream, in milliseconds; a failed connection answers 502
    /// `upstream_unreachable`. Default 5000. The time allowed for the response head is the
    /// upstream's `timeout_ms` in the policy.
    pub upstream_connect_timeout_ms: Option<u64>,
    /// Time allowed for a TLS handshake, in milliseconds, counted from the accepted connection;
    /// a client that connects and sends nothing is dropped after it. Default 10000.
    pub tls_handshake_timeout_ms: Option<u64>,
    /// Longest pause between bytes of a request body, in milliseconds; a longer one is refused
    /// with 408 `body_timeout` (nothing of it is forwarded whole). Default 30000.
    pub body_idle_timeout_ms: Option<u64>,
    /// Most headers in a request head; more is refused with 431. Default 100.
    pub max_headers: Option<usize>,
    /// Most bytes in a request head (and in an HTTP/2 header list); more is refused with 431.
    /// Default 16384 (at least 8192 for HTTP/1.1).
    pub max_header_bytes: Option<usize>,
    /// Most open connections per listener; at the limit the listener waits for one to close
    /// before accepting another. Default 10000.
    pub max_connections: Option<usize>,
    /// On SIGTERM/SIGINT, how long to keep accepting after `/readyz` turned 503, so a load
    /// balancer notices at its next health check before the listeners close, in milliseconds.
    /// Set it above the balancer's check interval. Default 0 (an idle gateway exits at once).
    pub shutdown_grace_ms: Option<u64>,
    /// Then, how long in-flight requests get to finish, in milliseconds. Default 10000.
    pub drain_timeout_ms: Option<u64>,
}

/// Policy reload timing. Each field is optional.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(rename = "reload")]
pub struct ReloadSettings {
    /// Quiet time after a file event in the policy directory (or an imported file) before
    /// reloading, in milliseconds, so a burst of writes is read once. Default 200.
    pub debounce_ms: u64,
    /// Poll interval, in milliseconds, used when native file events are unavailable. Default 1000.
    pub poll_interval_ms: u64,
    /// Re-read the policy this often even without file events, in milliseconds (catches changes
    /// events miss, such as a newly imported file); unchanged content (same SHA-256) is skipped. 0
    /// = never. Default 5000.
    pub check_interval_ms: u64,
}

impl Default for ReloadSettings {
    fn default() -> Self {
        Self {
            debounce_ms: 200,
            poll_interval_ms: 1000,
            check_interval_ms: 5000,
        }
    }
}

/// Why the settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// Unreadable file. (The I/O error is part of the message, not a separate source, so a
    /// report that prints the source chain says it once.)
    #[error("cannot read {}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// Invalid JSON or shape.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
}

impl Settings {
    /// Read `path` and resolve the policy path relative to it.
    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|error| SettingsError::Io {
            path: path.to_owned(),
            error,
        })?;
        let mut de = serde_json::Deserializer::from_str(&text);
        let mut s: Settings = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let at = e.path().to_string();
            let inner = e.into_inner();
            let msg = inner.to_string();
            let msg = msg
                .rfind(" at line ")
                .map_or(msg.as_str(), |i| &msg[..i])
                .to_owned();
            SettingsError::Invalid {
                path: path.to_owned(),
                line: inner.line(),
                column: inner.column(),
                message: format!("{at}: {msg}"),
            }
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        if s.policy.is_relative() {
            s.policy = dir.join(&s.policy);
        }
        if let Some(shadow) = &mut s.shadow_policy {
            *shadow = dir.join(&*shadow);
        }
        for a in s.assertions.values_mut() {
            a.key_file = dir.join(&a.key_file);
        }
        if let crate::store::StoreSettings::Postgres(pg) = &mut s.store {
            if let Some(file) = &mut pg.connection_file {
                *file = dir.join(&*file);
            }
            if let Some(tls) = &mut pg.tls {
                tls.resolve(dir);
            }
        }
        if let crate::ratelimit::RateLimitStore::Redis(r) = &mut s.ratelimit_store {
            if let Some(file) = &mut r.url_file {
                *file = dir.join(&*file);
            }
            if let Some(tls) = &mut r.tls {
                tls.resolve(dir);
            }
        }
        let access = &mut s.log.access;
        match (access.destination, &mut access.path) {
            (AccessLogDestination::File, Some(p)) => *p = dir.join(&*p),
            (AccessLogDestination::File, None) => {
                return Err(SettingsError::Invalid {
                    path: path.to_owned(),
                    line: 1,
                    column: 1,
                    message: "log.access.path: expected a file path when destination is `file`"
                        .into(),
                });
            }
            _ => {}
        }
        for t in s.listeners.iter_mut().filter_map(|l| l.tls.as_mut()) {
            t.resolve(dir);
        }
        if let Some(u) = &mut s.upstream_tls {
            u.resolve(dir);
        }
        Ok(s)
    }

    /// The compiled limits.
    pub fn limits(&self) -> Limits {
        let d = Limits::default();
        Limits {
            max_body_bytes: self.limits.max_body_bytes.unwrap_or(d.max_body_bytes),
            max_uri_bytes: self.limits.max_uri_bytes.unwrap_or(d.max_uri_bytes),
            max_params: self.limits.max_params.unwrap_or(d.max_params),
            body_idle_timeout: self
                .limits
                .body_idle_timeout_ms
                .map_or(d.body_idle_timeout, Duration::from_millis),
        }
    }

    /// Time allowed to receive a request head.
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.limits.header_read_timeout_ms.unwrap_or(10_000))
    }

    /// Connection options of every listener (role and TLS are the caller's).
    pub fn serve_options(&self) -> crate::server::ServeOptions {
        let d = crate::server::ServeOptions::default();
        crate::server::ServeOptions {
            header_read_timeout: self.header_read_timeout(),
            max_headers: self.limits.max_headers.unwrap_or(d.max_headers),
            max_header_bytes: self.limits.max_header_bytes.unwrap_or(d.max_header_bytes),
            max_connections: self.limits.max_connections.unwrap_or(d.max_connections),
            drain_timeout: self
                .limits
                .drain_timeout_ms
                .map_or(d.drain_timeout, Duration::from_millis),
            ..d
        }
    }

    /// How long to keep serving after shutdown began, before the listeners close.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.limits.shutdown_grace_ms.unwrap_or(0))
    }

    /// Time allowed for a TLS handshake.
    pub fn tls_handshake_timeout(&self) -> Duration {
        Duration::from_millis(self.limits.tls_handshake_timeout_ms.unwrap_or(10_000))
    }

    /// The assertion signers, by upstream name.
    pub fn assertion_signers(
        &self,
    ) -> Result<
        std::collections::HashMap<String, crate::assertion::Signer>,
        crate::assertion::AssertionError,
    > {
        use crate::assertion::{Algorithm, Signer};
        self.assertions
            .iter()
            .map(|(upstream, a)| {
                let alg = match a.algorithm {
                    AssertionAlgorithm::Hs256 => Algorithm::Hs256,
                    AssertionAlgorithm::Eddsa => Algorithm::EdDsa,
                };
                Signer::load(upstream, alg, &a.key_file, a.ttl_s, a.kid.as_deref())
                    .map(|s| (upstream.clone(), s))
            })
            .collect()
    }

    /// The access log's format and destination, or `None` when it is off.
    pub fn access_log(
        &self,
    ) -> Option<(crate::access_log::Format, crate::access_log::Destination)> {
        use crate::access_log::{Destination, Format};
        let a = &self.log.access;
        let format = match a.format {
            AccessLogFormat::Json => Format::Json,
            AccessLogFormat::Text => Format::Text,
            AccessLogFormat::Off => return None,
        };
        let destination = match (a.destination, &a.path) {
            (AccessLogDestination::Stderr, _) => Destination::Stderr,
            (AccessLogDestination::Stdout, _) => Destination::Stdout,
            (AccessLogDestination::File, Some(p)) => Destination::File(p.clone()),
            (AccessLogDestination::File, None) => Destination::Stderr,
        };
        Some((format, destination))
    }

    /// Time allowed to connect to an upstream.
    pub fn upstream_connect_timeout(&self) -> Duration {
        Duration::from_millis(self.limits.upstream_connect_timeout_ms.unwrap_or(5_000))
    }
}
