//! Boot settings (`config/portcullis.json`): listeners, admin listener, where the policy lives,
//! limits, timeouts, trusted proxies, reload and logging. Read once at start; changing them needs
//! a restart (the policy, by contrast, reloads while running).
//!
//! Raw serde types with unknown fields rejected, then `Settings::load` resolves paths relative to
//! the settings file. `main` reads them; nothing below `main` reads the environment.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;

use crate::gateway::Limits;

/// The boot settings as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Optional `$schema` reference for editors; ignored.
    #[serde(rename = "$schema")]
    pub schema: Option<String>,
    /// A note for people; ignored.
    #[serde(rename = "$comment")]
    pub comment: Option<String>,
    /// Public listeners.
    pub listeners: Vec<Listener>,
    /// Worker threads serving the public listeners, each with its own runtime and socket
    /// (default: one per CPU).
    pub workers: Option<usize>,
    /// The admin listener (health, readiness, status, reload). Keep it on loopback.
    pub admin: Option<Listener>,
    /// Policy file or directory, relative to this file.
    pub policy: PathBuf,
    /// Request limits and timeouts.
    #[serde(default)]
    pub limits: RawLimits,
    /// CIDRs of proxies (load balancers) whose `X-Forwarded-*` headers are extended, not replaced.
    #[serde(default)]
    pub trusted_proxies: Vec<IpNet>,
    /// Reload timing.
    #[serde(default)]
    pub reload: ReloadSettings,
    /// Logging.
    #[serde(default)]
    pub log: LogSettings,
}

/// A listening socket.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listener {
    /// `ip:port`; port 0 picks a free port.
    pub address: SocketAddr,
}

/// Limits and timeouts as written (all optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Largest request body forwarded (default 10 MiB).
    pub max_body_bytes: Option<u64>,
    /// Longest request target (default 8192).
    pub max_uri_bytes: Option<usize>,
    /// Most query parameters (default 1000, PHP's `max_input_vars`).
    pub max_params: Option<usize>,
    /// Time allowed to receive a request head (default 10000 ms).
    pub header_read_timeout_ms: Option<u64>,
    /// Time allowed to connect to an upstream (default 5000 ms).
    pub upstream_connect_timeout_ms: Option<u64>,
}

/// Reload timing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReloadSettings {
    /// Quiet time after a file event before reloading.
    pub debounce_ms: u64,
    /// Poll interval when native file events are unavailable.
    pub poll_interval_ms: u64,
    /// Re-read the policy this often even without events (catches imported files); 0 = never.
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

/// Logging.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A tracing filter such as `info` or `portcullis=debug`.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

/// Log line format.
#[derive(Debug, Default, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Why the settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// Unreadable file.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
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
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Io {
            path: path.to_owned(),
            source,
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
        if s.policy.is_relative() {
            s.policy = path.parent().unwrap_or(Path::new(".")).join(&s.policy);
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
        }
    }

    /// Time allowed to receive a request head.
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.limits.header_read_timeout_ms.unwrap_or(10_000))
    }

    /// Time allowed to connect to an upstream.
    pub fn upstream_connect_timeout(&self) -> Duration {
        Duration::from_millis(self.limits.upstream_connect_timeout_ms.unwrap_or(5_000))
    }
}
