//! The built-in echo upstream (`builtin:echo`): answers with what it received, as JSON.
//!
//! It lets the shipped configuration serve something useful with no other process running, and
//! shows a newcomer exactly which headers the gateway adds. It is an upstream, not part of the
//! decision: `forward::send` hands it a permitted, sanitized request like any other upstream.

use std::borrow::Cow;
use std::collections::BTreeMap;

use http::{HeaderValue, Request, Response, header};
use http_body_util::BodyExt;

use crate::body::{self, Body};

/// Largest body the echo shows; a larger one is reported as `null`.
pub const MAX_ECHO_BODY: usize = 1 << 20;

/// Answer `req` with a JSON description of it.
pub async fn respond(req: Request<Body>) -> Response<Body> {
    let (parts, incoming) = req.into_parts();
    let body = incoming
        .collect()
        .await
        .map(|c| c.to_bytes())
        .ok()
        .filter(|b| b.len() <= MAX_ECHO_BODY);
    // The echo shows what it received; bytes that are not UTF-8 show as U+FFFD.
    let mut headers: BTreeMap<&str, Vec<Cow<'_, str>>> = BTreeMap::new();
    for (name, value) in &parts.headers {
        headers
            .entry(name.as_str())
            .or_default()
            .push(String::from_utf8_lossy(value.as_bytes()));
    }
    let (body_len, body_text) = match &body {
        Some(b) => (Some(b.len()), std::str::from_utf8(b).ok()),
        None => (None, None),
    };
    let json = serde_json::json!({
        "upstream": "builtin:echo",
        "method": parts.method.as_str(),
        "uri": parts.uri.to_string(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "headers": headers,
        "body_bytes": body_len,
        "body": body_text,
    });
    let mut resp = Response::new(body::full(format!("{json:#}\n")));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
