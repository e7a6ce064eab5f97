//! Upstream connections: HTTP/1.1 keep-alive connections to upstream addresses, reused across
//! the requests of one worker.
//!
//! hyper's connection API under a pool of our own, in place of hyper-util's pooled client,
//! whose pool hashed its key (scheme and authority, byte by byte through SipHash) three times a
//! request and moved a large future: about 7,000 of the 66,000 instructions of an allowed
//! request. Here a checkout scans the few idle connections of this worker for one with the
//! same scheme and authority. A connection goes back once its response is read; one idle
//! longer than the idle timeout is closed at the next checkout (below the keep-alive timeout of
//! common upstream servers, so the upstream does not close it under a request). A request that
//! a reused connection never wrote (the upstream closed it first) is sent again on another; once
//! written, never (a retried POST is not idempotent).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::uri::{Authority, Scheme};
use http::{Request, Response, Uri};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use tower_service::Service;

use crate::body::{Body, BoxError};

/// Why an exchange with an upstream failed.
#[derive(Debug)]
pub enum SendError {
    /// No connection could be made (refused, timed out, TLS failed...).
    Connect(BoxError),
    /// The exchange on a connection failed.
    Http(hyper::Error),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Connect(_) => f.write_str("cannot connect to the upstream"),
            SendError::Http(_) => f.write_str("the upstream exchange failed"),
        }
    }
}

impl std::error::Error for SendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SendError::Connect(e) => Some(&**e),
            SendError::Http(e) => Some(e),
        }
    }
}

/// An idle connection.
struct Idle {
    scheme: Scheme,
    authority: Authority,
    tx: SendRequest<Body>,
    /// When it is too old to use (returned + the idle timeout): compared, not subtracted, on
    /// every checkout.
    expires: Instant,
}

/// The connections of one worker.
pub struct Pool {
    connector: HttpsConnector<HttpConnector>,
    idle: Mutex<Vec<Idle>>,
    idle_timeout: Duration,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").finish_non_exhaustive()
    }
}

impl Pool {
    /// A pool connecting through `connector`, closing connections idle longer than
    /// `idle_timeout`.
    pub fn new(connector: HttpsConnector<HttpConnector>, idle_timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            connector,
            idle: Mutex::new(Vec::new()),
            idle_timeout,
        })
    }

    /// Send `req` to (scheme, authority) and return the response head; the body streams from
    /// the connection. `req`'s URI is what the request line carries (origin form); a request
    /// without `Host` gets the authority.
    pub async fn send(
        self: &Arc<Self>,
        scheme: &Scheme,
        authority: &Authority,
        mut req: Request<Body>,
    ) -> Result<Response<Incoming>, SendError> {
        if !req.headers().contains_key(http::header::HOST) {
            let host = http::HeaderValue::from_str(authority.as_str())
                .map_err(|e| SendError::Connect(e.into()))?;
            req.headers_mut().insert(http::header::HOST, host);
        }
        loop {
            let (mut tx, reused) = match self.checkout(scheme, authority) {
                Some(tx) => (tx, true),
                // Boxed: connecting is rare once the pool is warm, and its future is large.
                None => (Box::pin(self.connect(scheme, authority)).await?, false),
            };
            match tx.try_send_request(req).await {
                Ok(resp) => {
                    self.checkin(scheme.clone(), authority.clone(), tx);
                    return Ok(resp);
                }
                Err(mut e) => match e.take_message() {
                    // Never written: the upstream had closed this kept-alive connection.
                    Some(again) if reused => req = again,
                    _ => return Err(SendError::Http(e.into_error())),
                },
            }
        }
    }

    /// An idle connection to (scheme, authority) that can take a request now; closed and
    /// expired ones are dropped on the way.
    fn checkout(&self, scheme: &Scheme, authority: &Authority) -> Option<SendRequest<Body>> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        idle.retain(|i| !i.tx.is_closed() && now < i.expires);
        let at = idle
            .iter()
            .rposition(|i| i.tx.is_ready() && i.scheme == *scheme && i.authority == *authority)?;
        Some(idle.swap_remove(at).tx)
    }

    /// Put `tx` back once it can take another request (its response read).
    fn checkin(self: &Arc<Self>, scheme: Scheme, authority: Authority, mut tx: SendRequest<Body>) {
        if tx.is_ready() {
            return self.put(scheme, authority, tx);
        }
        let pool = Arc::clone(self);
        tokio::spawn(async move {
            if tx.ready().await.is_ok() {
                pool.put(scheme, authority, tx);
            }
        });
    }

    fn put(&self, scheme: Scheme, authority: Authority, tx: SendRequest<Body>) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        idle.push(Idle {
            scheme,
            authority,
            tx,
            expires: Instant::now() + self.idle_timeout,
        });
    }

    /// A new connection; its task runs until the upstream or the pool closes it.
    async fn connect(
        &self,
        scheme: &Scheme,
        authority: &Authority,
    ) -> Result<SendRequest<Body>, SendError> {
        let uri = Uri::builder()
            .scheme(scheme.clone())
            .authority(authority.clone())
            .path_and_query("/")
            .build()
            .map_err(|e| SendError::Connect(e.into()))?;
        let io = self
            .connector
            .clone()
            .call(uri)
            .await
            .map_err(SendError::Connect)?;
        let (tx, conn) = http1::Builder::new()
            .handshake(io)
            .await
            .map_err(SendError::Http)?;
        tokio::spawn(async move {
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!(error = %e, "upstream connection ended");
            }
        });
        Ok(tx)
    }
}
