//! Guards against parameter smuggling: on routes whose module or action comes from the query,
//! nothing that PHP merges into `$_REQUEST` — a form or multipart body, a cookie — may name the
//! same parameter, since PHP would let it override what the gateway decided; and a form body may
//! not carry `_method` (frameworks run the method it names) unless the route allows it. Also enforces the
//! body size limit, streaming the body when there is nothing to check.
//!
//! Runs after `authz::decide` (a denied request's body is never read) and before `forward::send`.

use crate::incoming::Incoming;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::request::Parts;
use http_body_util::BodyExt;

use crate::authz::Permit;
use crate::body::{self, Body};
use crate::canonical;
use crate::decision::METHOD_OVERRIDE_PARAM;
use crate::field;
use crate::php;
use crate::reject::Rejection;

/// on routes whose module or action comes from the query, refuse a cookie that names the
/// same parameter. Without a php.ini, PHP builds `$_REQUEST` in "EGPCS" order, so a cookie would
/// override the query the decision used.
pub fn cookies(permit: &Permit<'_>, parts: &Parts) -> Result<(), Rejection> {
    let selectors = &permit.route().route().query_selectors;
    if selectors.is_empty() {
        return Ok(());
    }
    let mut names: Vec<(String, String)> = Vec::new();
    for cookie in field::all(&parts.headers, http::header::COOKIE)?
        .into_iter()
        .flat_map(|v| v.split(';'))
    {
        let n = cookie.split_once('=').map_or(cookie, |(n, _)| n);
        // PHP skips any leading whitespace before a cookie name.
        let n = n.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b');
        // A name that does not decode to text cannot be compared with the selectors: refused.
        let decoded = percent_encoding::percent_decode_str(n)
            .decode_utf8()
            .map_err(|_| Rejection::UnreadableHeader)?;
        names.push((decoded.into_owned(), String::new()));
    }
    if selectors.iter().any(|name| php::mentions(&names, name)) {
        return Err(Rejection::CookieOverridesSelector);
    }
    Ok(())
}

/// enforce the body limit, and on routes whose module or action comes from the query,
/// refuse a form body that names the same parameter (PHP's `$_REQUEST` would let it win).
/// Refuse framing a proxy must not guess at: a `Transfer-Encoding` other than exactly `chunked`
/// (`gzip, chunked`, `chunked, chunked`, `identity`...), or one together with `Content-Length`.
/// The answer closes the connection (`reject` adds `Connection: close`).
pub fn framing(parts: &Parts) -> Result<(), Rejection> {
    let te = field::all(&parts.headers, http::header::TRANSFER_ENCODING)?;
    if te.is_empty() {
        return Ok(());
    }
    let exactly_chunked = te.len() == 1 && te[0].trim().eq_ignore_ascii_case("chunked");
    if !exactly_chunked || parts.headers.contains_key(CONTENT_LENGTH) {
        return Err(Rejection::BadFraming);
    }
    Ok(())
}

pub async fn body(
    permit: &Permit<'_>,
    parts: &Parts,
    incoming: Incoming,
    max_body_bytes: u64,
    idle: std::time::Duration,
) -> Result<Body, Rejection> {
    // hyper has already refused a malformed or conflicting length.
    let declared =
        field::single(&parts.headers, CONTENT_LENGTH)?.and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_body_bytes) {
        return Err(Rejection::BodyTooLarge);
    }
    let route = permit.route().route();
    let selectors = &route.query_selectors;
    let override_refused = !route.allow_method_override;
    let checked = !selectors.is_empty() || override_refused;
    let Some(posted) = (if checked { form(parts)? } else { None }) else {
        return Ok(body::limited(incoming, max_body_bytes as usize, idle));
    };
    let bytes = body::limited(incoming, max_body_bytes as usize, idle)
        .collect()
        .await
        .map_err(|e| {
            if body::is_stalled(e.as_ref()) {
                Rejection::BodyTimeout
            } else if body::is_client_failure(e.as_ref()) {
                Rejection::MalformedBody
            } else {
                Rejection::BodyTooLarge
            }
        })?
        .to_bytes();
    let names = if posted == Form::Multipart {
        multipart_names(parts, &bytes)?
    } else {
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| Rejection::NonCanonical(canonical::CanonicalError::BadUtf8))?;
        canonical::parse_pairs(text)
            .map_err(Rejection::NonCanonical)?
            .into_iter()
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect()
    };
    if selectors.iter().any(|name| php::mentions(&names, name)) {
        return Err(Rejection::BodyOverridesSelector);
    }
    if override_refused && php::mentions(&names, METHOD_OVERRIDE_PARAM) {
        return Err(Rejection::MethodOverride);
    }
    Ok(body::full(bytes))
}

/// Bodies PHP reads into `$_POST` (and so `$_REQUEST`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `application/x-www-form-urlencoded`.
    Urlencoded,
    /// `multipart/form-data`.
    Multipart,
}

/// The form the `Content-Type` names, if any (one lookup, no copy); an unreadable or repeated
/// one is refused, since PHP might read it as a form.
fn form(parts: &Parts) -> Result<Option<Form>, Rejection> {
    let Some(v) = field::single(&parts.headers, CONTENT_TYPE)? else {
        return Ok(None);
    };
    let v = v.trim_start();
    let is = |prefix: &str| {
        v.get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
    };
    Ok(if is("application/x-www-form-urlencoded") {
        Some(Form::Urlencoded)
    } else if is("multipart/form-data") {
        Some(Form::Multipart)
    } else {
        None
    })
}

/// Field names of a multipart body, as (name, "") pairs for `php::mentions`, read the way PHP's
/// rfc1867 parser reads them: part headers unfolded, `Content-Disposition` matched in any case,
/// the `name` parameter in any case, quoted with `"` or `'` or bare. Over-reads rather than
/// under-reads: every `name` parameter of every part counts.
fn multipart_names(parts: &Parts, bytes: &[u8]) -> Result<Vec<(String, String)>, Rejection> {
    let text = String::from_utf8_lossy(bytes);
    let boundary = field::single(&parts.headers, CONTENT_TYPE)?
        .and_then(|v| {
            v.split(';')
                .filter_map(|p| p.trim().split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
                .map(|(_, b)| b.trim().trim_matches('"').to_owned())
        })
        .filter(|b| !b.is_empty())
        // Without a boundary the body cannot be read as PHP would: refuse it.
        .ok_or(Rejection::BodyOverridesSelector)?;
    let delimiter = format!("--{boundary}");
    let mut names = Vec::new();
    for part in text.split(delimiter.as_str()).skip(1) {
        let head = part.split("\r\n\r\n").next().unwrap_or(part);
        let head = head.split("\n\n").next().unwrap_or(head);
        for line in unfold(head) {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            if !name.trim().eq_ignore_ascii_case("content-disposition") {
                continue;
            }
            for param in value.split(';') {
                let Some((k, v)) = param.split_once('=') else {
                    continue;
                };
                if k.trim().eq_ignore_ascii_case("name") {
                    let v = v.trim().trim_matches('"').trim_matches('\'');
                    names.push((v.to_owned(), String::new()));
                }
            }
        }
    }
    Ok(names)
}

/// Header lines with continuation lines (starting with a space or tab) joined to the previous.
fn unfold(head: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for raw in head.split('\n') {
        let raw = raw.trim_end_matches('\r');
        match lines.last_mut() {
            Some(last) if raw.starts_with([' ', '\t']) => {
                last.push(' ');
                last.push_str(raw.trim_start());
            }
            _ => lines.push(raw.to_owned()),
        }
    }
    lines
}
