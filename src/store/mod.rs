//! Where the management state lives: the gateway-owned file (`file`, the default, one node) or
//! PostgreSQL (`postgres`, shared by a fleet; [`postgres`]). The boot setting [`StoreSettings`]
//! chooses; [`Status`] is what `/status`, `/readyz` and `/metrics` show of it.
//!
//! Neighbours: [`crate::managed`] writes through the chosen backend; [`crate::run`] starts it.

pub mod postgres;
mod status;

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Deserialize;
use tokio_postgres::config::SslMode;

use crate::tls::backend::{self, BackendTlsSettings};

pub use status::Status;

/// Where the management APIs keep what they write. Needs a restart to change.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
#[schemars(transform = crate::schema::describe_kind)]
pub enum StoreSettings {
    /// `portcullis-managed.json` in the policy directory: one node.
    #[default]
    File,
    /// PostgreSQL, shared by every node of a fleet: each node follows its changes (`LISTEN`)
    /// and keeps a copy of the last state in its policy directory's managed file.
    Postgres(PostgresSettings),
}

/// How to reach PostgreSQL. The connection string (`host=... user=... password=...` or a
/// `postgresql://` URL) is never written in the settings: it comes from an environment variable
/// or a file, and is never logged.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PostgresSettings {
    /// The environment variable holding the connection string.
    pub connection_env: Option<String>,
    /// A file holding the connection string (relative to the settings file), e.g. a mounted
    /// secret. Surrounding whitespace is ignored.
    pub connection_file: Option<PathBuf>,
    /// How often each node compares its revision with the database's, besides the change
    /// notifications. Default 1000.
    #[serde(default = "check_ms")]
    #[schemars(range(min = 100))]
    pub check_interval_ms: u64,
    /// How long a management write may wait for the database before it answers 503. Default
    /// 5000.
    #[serde(default = "write_ms")]
    #[schemars(range(min = 10))]
    pub write_timeout_ms: u64,
    /// TLS to PostgreSQL, always verified: the CA that signed the server's certificate (default:
    /// the system's roots) and an optional client certificate. Given, or asked for by
    /// `sslmode=require` in the connection string, TLS is required; otherwise the connection
    /// is plain (`sslmode=prefer`, which would accept any certificate, is not honoured).
    pub tls: Option<BackendTlsSettings>,
}

/// What connecting to PostgreSQL takes: where (never formatted: it may hold a password), and
/// the TLS connector (unused when the connection is plain).
pub struct Connection {
    /// The parsed connection string, its `sslmode` set to `require` or `disable`.
    pub config: tokio_postgres::Config,
    /// Verifies the server against the configured roots.
    pub tls: tokio_postgres_rustls::MakeRustlsConnect,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The config holds the password: only whether TLS is required.
        f.debug_struct("Connection")
            .field("ssl_mode", &self.config.get_ssl_mode())
            .finish_non_exhaustive()
    }
}

fn check_ms() -> u64 {
    1000
}

fn write_ms() -> u64 {
    5000
}

/// Why the connection string could not be read. Never carries the string itself.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// Neither or both sources given.
    #[error("store.connection_env or store.connection_file: expected exactly one")]
    Source,
    /// The environment variable is not set.
    #[error("the environment variable {0} (store.connection_env) is not set")]
    Env(String),
    /// The file cannot be read.
    #[error("cannot read {} (store.connection_file): {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The string does not parse.
    #[error("the PostgreSQL connection string is not valid (its text is not shown)")]
    Invalid,
    /// The TLS files are missing or unusable.
    #[error("store.tls: {0}")]
    Tls(#[from] crate::tls::TlsError),
}

impl PostgresSettings {
    /// The connection string, from `env` or the file (`dir`: the settings file's directory).
    pub fn connection(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Connection, ConnectionError> {
        let text = match (&self.connection_env, &self.connection_file) {
            (Some(name), None) => env(name).ok_or_else(|| ConnectionError::Env(name.clone()))?,
            (None, Some(path)) => {
                std::fs::read_to_string(path).map_err(|source| ConnectionError::File {
                    path: path.clone(),
                    source,
                })?
            }
            _ => return Err(ConnectionError::Source),
        };
        let mut config = text
            .trim()
            .parse::<tokio_postgres::Config>()
            .map_err(|_| ConnectionError::Invalid)?;
        let asked = self.tls.is_some() || config.get_ssl_mode() == SslMode::Require;
        let tls = if asked {
            config.ssl_mode(SslMode::Require);
            backend::rustls_config(self.tls.as_ref().unwrap_or(&BackendTlsSettings::default()))?
        } else {
            config.ssl_mode(SslMode::Disable);
            // Never used: the connection is plain. No roots, so it could verify nothing.
            crate::tls::upstream::build(&rustls::RootCertStore::empty(), None)?
        };
        Ok(Connection {
            config,
            tls: tokio_postgres_rustls::MakeRustlsConnect::new(tls),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(env: Option<&str>, file: Option<&str>) -> PostgresSettings {
        PostgresSettings {
            connection_env: env.map(Into::into),
            connection_file: file.map(Into::into),
            check_interval_ms: check_ms(),
            write_timeout_ms: write_ms(),
            tls: None,
        }
    }

    #[test]
    fn the_connection_string_comes_from_exactly_one_source() {
        let env = |_: &str| Some("host=/run/postgresql user=p".to_owned());
        assert!(pg(Some("DB"), None).connection(&env).is_ok());
        for both_or_none in [pg(None, None), pg(Some("DB"), Some("/f"))] {
            let e = both_or_none.connection(&env).expect_err("one source");
            assert!(matches!(e, ConnectionError::Source), "{e}");
        }
        let e = pg(Some("DB"), None)
            .connection(&|_| None)
            .expect_err("unset");
        assert_eq!(
            e.to_string(),
            "the environment variable DB (store.connection_env) is not set"
        );
    }

    #[test]
    fn tls_is_required_when_asked_and_never_merely_preferred() {
        let mode = |conn: &str, tls: Option<BackendTlsSettings>| {
            let conn = conn.to_owned();
            let mut s = pg(Some("DB"), None);
            s.tls = tls;
            s.connection(&|_| Some(conn.clone()))
                .expect("connection")
                .config
                .get_ssl_mode()
        };
        assert_eq!(mode("host=h user=p", None), SslMode::Disable);
        assert_eq!(mode("host=h user=p sslmode=prefer", None), SslMode::Disable);
        assert_eq!(
            mode("host=h user=p sslmode=require", None),
            SslMode::Require
        );
        let tls = Some(BackendTlsSettings::default());
        assert_eq!(mode("host=h user=p", tls.clone()), SslMode::Require);
        assert_eq!(mode("host=h user=p sslmode=disable", tls), SslMode::Require);
        let mut s = pg(Some("DB"), None);
        s.tls = Some(BackendTlsSettings {
            ca_file: Some("/nonexistent/ca.pem".into()),
            client_certificate: None,
        });
        let e = s
            .connection(&|_| Some("host=h password=hunter2".into()))
            .expect_err("missing CA file");
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn a_bad_connection_string_is_never_shown() {
        let env = |_: &str| Some("host='unterminated password=hunter2".to_owned());
        let e = pg(Some("DB"), None).connection(&env).expect_err("invalid");
        assert!(matches!(e, ConnectionError::Invalid));
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn the_settings_name_the_kind() {
        let s: StoreSettings = serde_json::from_str(r#"{"kind": "file"}"#).expect("file");
        assert!(matches!(s, StoreSettings::File));
        let s: StoreSettings =
            serde_json::from_str(r#"{"kind": "postgres", "connection_env": "DB"}"#)
                .expect("postgres");
        let StoreSettings::Postgres(p) = s else {
            panic!("expected postgres");
        };
        assert_eq!((p.check_interval_ms, p.write_timeout_ms), (1000, 5000));
        let e = serde_json::from_str::<StoreSettings>(
            r#"{"kind": "postgres", "connection": "host=x password=y"}"#,
        )
        .expect_err("inline strings are not a field");
        assert!(e.to_string().contains("unknown field"), "{e}");
    }
}
