//! The sockets `serve` is handed, already bound: the public ones (one set per worker), the admin
//! and forward-auth ones, and the small steps that make them tokio listeners.

use super::ServeError;

/// The sockets to serve, already bound.
///
/// The public sockets come one set per worker: each set gets a single-threaded runtime of its
/// own (`workers`) and holds one socket per public address. `main` binds them with
/// [`crate::workers::bind`] (`SO_REUSEPORT`, so the kernel spreads connections across the sets); a test
/// can bind one plain socket on port 0 and pass `vec![vec![socket]]` ([`Listeners::single`]).
/// Sockets are switched to non-blocking mode here, so plain `std::net::TcpListener::bind` will do.
#[derive(Debug)]
pub struct Listeners {
    /// Public sockets, one set per worker thread.
    pub public: Vec<Vec<std::net::TcpListener>>,
    /// The admin socket (health, readiness, status, reload), if any.
    pub admin: Option<std::net::TcpListener>,
    /// The forward-auth socket (decisions for a fronting proxy), if any.
    pub forward_auth: Option<std::net::TcpListener>,
}

impl Listeners {
    /// One worker serving `public`, and `admin` if given.
    pub fn single(public: std::net::TcpListener, admin: Option<std::net::TcpListener>) -> Self {
        Self {
            public: vec![vec![public]],
            admin,
            forward_auth: None,
        }
    }
}

/// Switch every public socket to non-blocking mode, as tokio needs.
pub(super) fn nonblocking(
    sets: Vec<Vec<std::net::TcpListener>>,
) -> Result<Vec<Vec<std::net::TcpListener>>, ServeError> {
    for s in sets.iter().flatten() {
        s.set_nonblocking(true).map_err(ServeError::Listener)?;
    }
    Ok(sets)
}

/// Register a bound std socket with the current runtime.
pub(super) fn tokio_listener(
    l: std::net::TcpListener,
) -> Result<tokio::net::TcpListener, ServeError> {
    l.set_nonblocking(true).map_err(ServeError::Listener)?;
    tokio::net::TcpListener::from_std(l).map_err(ServeError::Listener)
}

pub(super) fn log_address(listener: &tokio::net::TcpListener, message: &'static str) {
    if let Ok(address) = listener.local_addr() {
        tracing::info!(%address, "{message}");
    }
}
