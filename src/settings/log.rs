//! Logging settings: the gateway's own messages (tracing) and the access log.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Deserialize;

/// Logging, to standard error. Each field is optional.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(rename = "log")]
pub struct LogSettings {
    /// `text` (human-readable) or `json` (one JSON object per line). Default `text`.
    pub format: LogFormat,
    /// A tracing filter such as `info`, `warn` or `info,portcullis=debug`, for the gateway's own
    /// messages (the access log has its own settings, `access`). The RUST_LOG environment
    /// variable, when set, takes precedence. Default `info`.
    pub level: String,
    /// The access log: one line per request. Each field is optional.
    pub access: AccessLogSettings,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
            access: AccessLogSettings::default(),
        }
    }
}

/// The access log: one line per request (time, request id, client address, method, path, route,
/// module, action, credential kind and id, user, decision, reason, status, bytes in and out,
/// upstream and total time, policy generation), never a secret.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(rename = "access_log")]
pub struct AccessLogSettings {
    /// `json` (one object per line), `text` (`key="value"` pairs) or `off`. Default `json`.
    pub format: AccessLogFormat,
    /// `stderr`, `stdout` or `file` (then `path` names it). Default `stderr`.
    pub destination: AccessLogDestination,
    /// The file when `destination` is `file`, relative to this settings file; appended to, and
    /// reopened on SIGUSR1 or the admin `POST /logs/reopen` (for logrotate).
    pub path: Option<PathBuf>,
}

/// Access-log line format.
#[derive(Debug, Default, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "access_log_format")]
pub enum AccessLogFormat {
    /// One JSON object per line.
    #[default]
    Json,
    /// `key="value"` pairs.
    Text,
    /// No access log.
    Off,
}

/// Where access-log lines go.
#[derive(Debug, Default, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "access_log_destination")]
pub enum AccessLogDestination {
    /// Standard error.
    #[default]
    Stderr,
    /// Standard output.
    Stdout,
    /// The file `path` names.
    File,
}

/// Log line format.
#[derive(Debug, Default, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "log_format")]
pub enum LogFormat {
    /// Human-readable.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}
