//! The services a fleet may share, started from the boot settings: the rate limiter (local
//! buckets, or Redis) and the management store (the gateway's file, or PostgreSQL and its
//! follower).

use std::sync::Arc;
use std::time::Duration;

use super::ServeError;
use crate::managed::FILE_NAME;
use crate::ratelimit::{self, RateLimiter};
use crate::reload::{EnvLookup, Reloader};
use crate::settings::Settings;
use crate::store::StoreSettings;
use crate::store::postgres::{self, Postgres};

/// The rate limiter: local buckets, or Redis when the settings ask for it.
pub(super) fn rate_limiter(
    settings: &Settings,
    env: &EnvLookup,
) -> Result<RateLimiter, ServeError> {
    let ratelimit::RateLimitStore::Redis(r) = &settings.ratelimit_store else {
        return Ok(RateLimiter::default());
    };
    let redis = ratelimit::Redis::new(r, &|name| env(name))
        .map_err(|e| ServeError::Store(e.to_string()))?;
    Ok(RateLimiter {
        backend: Arc::new(redis),
        ..RateLimiter::default()
    })
}

/// Start the PostgreSQL store when the settings ask for it: the backend writes go through, and
/// its follower on the store's own runtime.
pub(super) fn start_store(
    settings: &Settings,
    reloader: &Arc<Reloader>,
    env: &EnvLookup,
) -> Result<Option<Arc<Postgres>>, ServeError> {
    let StoreSettings::Postgres(pg) = &settings.store else {
        return Ok(None);
    };
    if !reloader.path.is_dir() {
        return Err(ServeError::Store(
            "postgres needs a policy directory: each node keeps its copy of the state there".into(),
        ));
    }
    let connection = pg
        .connection(&|name| env(name))
        .map_err(|e| ServeError::Store(e.to_string()))?;
    let backend = Postgres::new(
        connection,
        Some(reloader.path.join(FILE_NAME)),
        Duration::from_millis(pg.write_timeout_ms),
    )
    .map_err(|e| ServeError::Store(e.to_string()))?;
    let backend = Arc::new(backend);
    backend.handle().spawn(postgres::follow(
        Arc::clone(&backend),
        Arc::clone(reloader),
        Duration::from_millis(pg.check_interval_ms),
    ));
    Ok(Some(backend))
}
