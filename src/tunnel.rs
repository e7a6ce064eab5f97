//! WebSocket tunnels on routes that allow them (`"websocket": true`): the upgrade request is
//! decided like any other; only then is it forwarded with its `Upgrade` and `Connection` headers,
//! and only when the upstream answers 101 are the two connections joined, byte for byte, until
//! either side closes. Everywhere else `Upgrade` is a hop-by-hop header and never forwarded.
//! HTTP/1.1 only (HTTP/2's extended CONNECT is not offered).

use http::header::{CONNECTION, UPGRADE};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, Version};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

use crate::field;
use crate::reject::Rejection;

/// Whether the request asks to become a WebSocket: HTTP/1.1 GET with `Connection: upgrade` and
/// `Upgrade: websocket` (both read as the gateway reads every judged header).
pub fn wants_websocket(parts: &Parts) -> Result<bool, Rejection> {
    if parts.method != Method::GET || parts.version != Version::HTTP_11 {
        return Ok(false);
    }
    let connection_upgrade = field::all(&parts.headers, CONNECTION)?
        .iter()
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    let websocket = field::all(&parts.headers, UPGRADE)?
        .iter()
        .any(|v| v.trim().eq_ignore_ascii_case("websocket"));
    Ok(connection_upgrade && websocket)
}

/// Take the client connection's upgrade handle from the request before its head moves on.
pub fn take_client(parts: &mut Parts) -> Option<OnUpgrade> {
    parts.extensions.remove::<OnUpgrade>()
}

/// Put back the upgrade headers `headers::sanitize` removed as hop-by-hop.
pub fn restore_headers(h: &mut HeaderMap) {
    h.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
}

/// Join the client's and the upstream's upgraded connections until either closes.
pub fn splice(client: OnUpgrade, upstream: OnUpgrade, request_id: String) {
    tokio::spawn(async move {
        let (client, upstream) = match tokio::try_join!(client, upstream) {
            Ok(both) => both,
            Err(e) => {
                tracing::warn!(request_id = %request_id, error = %e, "websocket upgrade failed");
                return;
            }
        };
        let (mut c, mut u) = (TokioIo::new(client), TokioIo::new(upstream));
        if let Err(e) = tokio::io::copy_bidirectional(&mut c, &mut u).await {
            tracing::debug!(request_id = %request_id, error = %e, "websocket tunnel ended");
        }
    });
}
