//! The client's fields on the way upstream, written as lines of the forwarded head: `Host`
//! first (the upstream's fixed host, else the client's, else the upstream's address), then every
//! field hygiene keeps (`headers::Hygiene`) except the credential the route does not keep, the
//! cookies as one field, and the forwarded fields (`forwarded`) last.
//!
//! The request's map is only read, in one pass: nothing is removed from it or inserted into it
//! (each removal or insertion cost a hash and a probe, a removal also a shift of the map's
//! entries). `Content-Length` is not copied: the framing fields are the head writer's
//! (`upstream_wire::request_head`), which frames the body actually sent.

use std::net::IpAddr;

use http::header::{AUTHORIZATION, CONTENT_LENGTH, COOKIE, HOST};
use http::{HeaderMap, HeaderValue};

use crate::credential::{API_KEY_HEADER, Carrier};
use crate::field;
use crate::fields::{Fields, Lines};
use crate::forwarded::{self, Prior};
use crate::headers::Hygiene;
use crate::reject::Rejection;
use crate::upstream::{Target, Upstream};

/// The request the fields come from, and what the gateway knows of its client.
pub struct Client<'a> {
    /// The request's fields as received.
    pub headers: &'a HeaderMap,
    /// The host the client asked for: `Host`, or the HTTP/2 `:authority`.
    pub host: Option<&'a str>,
    /// Where the credential came, when the route does not keep it: that field is not copied.
    pub withheld: Option<Carrier<'a>>,
    /// The client's address.
    pub peer: IpAddr,
    /// Whether the peer is a trusted proxy (its client-address fields are kept and extended).
    pub trusted: bool,
    /// Header names the policy never forwards (normalized).
    pub never_forward: &'a [String],
    /// `http` or `https`.
    pub scheme: &'static str,
}

/// Write the client's fields for `upstream` into `out`.
pub fn write(client: &Client<'_>, upstream: &Upstream, out: &mut Lines) -> Result<(), Rejection> {
    match (&upstream.host, client.host, &upstream.target) {
        (Some(fixed), _, _) => out.copy(&HOST, fixed),
        (None, Some(host), _) => out.set(&HOST, host)?,
        (None, None, Target::Http { authority, .. }) => out.set(&HOST, authority.as_str())?,
        (None, None, Target::Echo) => {}
    }
    let hygiene = Hygiene::request(client.headers, client.trusted, client.never_forward)?;
    let mut prior = Prior::default();
    let mut cookies: Vec<&HeaderValue> = Vec::new();
    for (name, value) in client.headers {
        if name == HOST || name == CONTENT_LENGTH || hygiene.removes(name) {
            continue;
        }
        if withheld(client.withheld, name.as_str()) || prior.note(name, value)? {
            continue;
        }
        if name == COOKIE {
            cookies.push(value);
            continue;
        }
        out.copy(name, value);
    }
    match cookies.as_slice() {
        [] => {}
        [one] => out.copy(&COOKIE, one),
        // HTTP/2 clients may split cookies over several fields; an HTTP/1.1 upstream must get
        // one `Cookie` line joined with "; " (RFC 9113 §8.2.3), or PHP reads "a=1, b=2" as one
        // cookie.
        many => {
            let texts = many
                .iter()
                .map(|v| field::text(v))
                .collect::<Result<Vec<_>, _>>()?;
            out.set(&COOKIE, &texts.join("; "))?;
        }
    }
    forwarded::set(
        &prior,
        out,
        client.host,
        client.peer,
        client.trusted,
        client.scheme,
    )
}

/// Whether `name` is the field the credential came in, which the route does not forward:
/// `Authorization`, or `X-API-Key` in any spelling PHP and CGI read as it (`X_API_Key`).
fn withheld(carrier: Option<Carrier<'_>>, name: &str) -> bool {
    match carrier {
        Some(Carrier::Authorization | Carrier::Basic) => name == AUTHORIZATION,
        Some(Carrier::ApiKeyHeader) => reads_as_api_key(name),
        Some(Carrier::Query(_)) | None => false,
    }
}

/// Whether a header name reads, to PHP and CGI, as `x-api-key` (`X_API_Key`, `x.api.key`).
fn reads_as_api_key(name: &str) -> bool {
    name.len() == API_KEY_HEADER.len()
        && name
            .bytes()
            .zip(API_KEY_HEADER.bytes())
            .all(|(b, w)| b == w || (w == b'-' && (b == b'_' || b == b'.')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_spellings() {
        for n in ["x-api-key", "x_api_key", "x.api.key", "x_api-key"] {
            assert!(reads_as_api_key(n), "{n}");
        }
        for n in [
            "x-api-keys",
            "x-apikey",
            "xapi-key",
            "x~api-key",
            "y-api-key",
        ] {
            assert!(!reads_as_api_key(n), "{n}");
        }
    }

    #[test]
    fn one_pass_keeps_what_hygiene_keeps_and_writes_host_cookies_and_forwarded() {
        let mut h = HeaderMap::new();
        for (n, v) in [
            ("host", "app.example"),
            ("accept", "*/*"),
            ("x-api-key", "secret"),
            ("x_api_key", "secret"),
            ("authorization", "Bearer other"),
            ("cookie", "a=1"),
            ("cookie", "b=2"),
            ("content-length", "0"),
            ("connection", "x-hop"),
            ("x-hop", "1"),
            ("x-portcullis-user", "admin"),
            ("x-forwarded-for", "6.6.6.6"),
        ] {
            h.append(
                http::HeaderName::from_static(n),
                HeaderValue::from_static(v),
            );
        }
        let upstream = Upstream {
            name: "u".into(),
            target: crate::upstream::parse_target("http://10.1.1.1:8080").unwrap(),
            timeout: std::time::Duration::from_secs(1),
            host: None,
        };
        let client = Client {
            headers: &h,
            host: Some("app.example"),
            withheld: Some(Carrier::ApiKeyHeader),
            peer: "10.0.0.9".parse().unwrap(),
            trusted: false,
            never_forward: &[],
            scheme: "http",
        };
        let mut out = Lines::default();
        write(&client, &upstream, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out.as_bytes().to_vec()).unwrap(),
            "host: app.example\r\naccept: */*\r\nauthorization: Bearer other\r\n\
             cookie: a=1; b=2\r\nx-forwarded-for: 10.0.0.9\r\nx-real-ip: 10.0.0.9\r\n\
             x-forwarded-proto: http\r\nx-forwarded-host: app.example\r\n\
             forwarded: for=10.0.0.9;proto=http;host=\"app.example\"\r\n"
        );
        // Without a host of its own, the upstream gets its address; a fixed host wins.
        let anonymous = Client {
            host: None,
            ..client
        };
        let mut out = Lines::default();
        write(&anonymous, &upstream, &mut out).unwrap();
        assert!(out.as_bytes().starts_with(b"host: 10.1.1.1:8080\r\n"));
        let fixed = Upstream {
            host: Some(HeaderValue::from_static("internal")),
            ..upstream
        };
        let mut out = Lines::default();
        write(&anonymous, &fixed, &mut out).unwrap();
        assert!(out.as_bytes().starts_with(b"host: internal\r\naccept"));
    }
}
