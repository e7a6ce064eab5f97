//! What the gateway tells an upstream about the client, and whom it believes the client is:
//! `X-Forwarded-For/-Proto/-Host`, `X-Real-IP` and `Forwarded` on the way up (`set`), and the
//! client's address behind trusted proxies (`client_ip`).

use std::net::IpAddr;

use http::header::{FORWARDED, HeaderName};
use http::{HeaderMap, HeaderValue};
use ipnet::IpNet;

use crate::field;
use crate::fields::Fields;
use crate::reject::Rejection;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// What the client's request said in the fields `set` writes: the `X-Forwarded-For` and
/// `Forwarded` values (which a trusted proxy's request extends), and whether it carried its own
/// `X-Real-IP`, `X-Forwarded-Proto` and `X-Forwarded-Host` (which a trusted proxy's request keeps).
#[derive(Debug, Default)]
pub struct Prior<'a> {
    xff: Vec<&'a str>,
    forwarded: Vec<&'a str>,
    real_ip: bool,
    proto: bool,
    host: bool,
}

impl<'a> Prior<'a> {
    /// Take note of one of the request's fields. `true` for the fields `set` writes in its place
    /// (`X-Forwarded-For`, `Forwarded`): those are not to be copied. Their values are read as the
    /// gateway reads every judged header: one it cannot read is refused.
    pub fn note(&mut self, name: &HeaderName, value: &'a HeaderValue) -> Result<bool, Rejection> {
        if *name == X_FORWARDED_FOR {
            self.xff.push(field::text(value)?);
            return Ok(true);
        }
        if *name == FORWARDED {
            self.forwarded.push(field::text(value)?);
            return Ok(true);
        }
        if *name == X_REAL_IP {
            self.real_ip = true;
        } else if *name == X_FORWARDED_PROTO {
            self.proto = true;
        } else if *name == X_FORWARDED_HOST {
            self.host = true;
        }
        Ok(false)
    }
}

/// Set `X-Forwarded-For/-Proto/-Host`, `X-Real-IP` and `Forwarded` on `out`, given what the
/// request said (`prior`). A trusted proxy's values are extended (its `X-Real-IP`, `-Proto` and
/// `-Host` kept, so not set here); anyone else's are replaced, so a client cannot claim another
/// address (hygiene keeps an untrusted peer's `X-Real-IP`, `-Proto` and `-Host` from the
/// upstream; its `X-Forwarded-For` and `Forwarded` are never copied).
pub fn set(
    prior: &Prior<'_>,
    out: &mut impl Fields,
    host: Option<&str>,
    ip: IpAddr,
    trusted: bool,
    scheme: &'static str,
) -> Result<(), Rejection> {
    let ip_text = ip_text(ip);
    let xff = match prior.xff.as_slice() {
        prev @ [_, ..] if trusted => Some(format!("{}, {ip_text}", prev.join(", "))),
        _ => None,
    };
    out.set(&X_FORWARDED_FOR, xff.as_deref().unwrap_or(&ip_text))?;
    if !(trusted && prior.real_ip) {
        out.set(&X_REAL_IP, &ip_text)?;
    }
    if !(trusted && prior.proto) {
        out.set(&X_FORWARDED_PROTO, scheme)?;
    }
    if !(trusted && prior.host)
        && let Some(host) = host
    {
        out.set(&X_FORWARDED_HOST, host)?;
    }
    let mut fwd = String::with_capacity(64);
    fwd.push_str("for=");
    match ip {
        IpAddr::V4(_) => fwd.push_str(&ip_text),
        IpAddr::V6(_) => {
            fwd.push_str("\"[");
            fwd.push_str(&ip_text);
            fwd.push_str("]\"");
        }
    }
    fwd.push_str(";proto=");
    fwd.push_str(scheme);
    if let Some(host) = host.filter(|h| h.bytes().all(|b| b.is_ascii_graphic() && b != b'"')) {
        fwd.push_str(";host=\"");
        fwd.push_str(host);
        fwd.push('"');
    }
    let fwd = match prior.forwarded.as_slice() {
        prev @ [_, ..] if trusted => format!("{}, {fwd}", prev.join(", ")),
        _ => fwd,
    };
    out.set(&FORWARDED, &fwd)
}

/// An address as text: IPv4 written digit by digit (the `Display` path costs more than the rest
/// of the forwarded headers together), IPv6 by `Display`.
pub fn ip_text(ip: IpAddr) -> String {
    let IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut out = String::with_capacity(15);
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        if octet >= 100 {
            out.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            out.push(char::from(b'0' + octet / 10 % 10));
        }
        out.push(char::from(b'0' + octet % 10));
    }
    out
}

/// The client's address: the peer, or — when the peer is a trusted proxy — the rightmost address
/// in `X-Forwarded-For` that is not itself a trusted proxy. A trusted proxy's header that cannot
/// be read is refused.
pub fn client_ip(
    headers: &HeaderMap,
    peer: IpAddr,
    trusted: &[IpNet],
) -> Result<IpAddr, Rejection> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return Ok(peer);
    }
    let hops: Vec<IpAddr> = field::all(headers, "x-forwarded-for")?
        .into_iter()
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    Ok(hops
        .into_iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_value_never_goes_beside_the_gateways() {
        let client_values = || {
            let mut h = HeaderMap::new();
            for (n, v) in [
                ("x-forwarded-for", "6.6.6.6"),
                ("x-real-ip", "6.6.6.6"),
                ("x-forwarded-proto", "gopher"),
                ("x-forwarded-host", "evil"),
                ("forwarded", "for=6.6.6.6"),
                ("accept", "*/*"),
            ] {
                h.insert(
                    HeaderName::from_static(n),
                    http::HeaderValue::from_static(v),
                );
            }
            h
        };
        let peer: IpAddr = "10.0.0.9".parse().unwrap();
        // What the upstream gets: the client's fields hygiene keeps and `note` does not take,
        // then the lines `set` writes.
        let sent = |trusted: bool| {
            let h = client_values();
            let hygiene = crate::headers::Hygiene::request(&h, trusted, &[]).unwrap();
            let mut prior = Prior::default();
            let mut copied = Vec::new();
            for (n, v) in &h {
                if !hygiene.removes(n) && !prior.note(n, v).unwrap() {
                    copied.push(format!("{n}: {}", crate::field::text(v).unwrap()));
                }
            }
            let mut lines = crate::fields::Lines::default();
            set(
                &prior,
                &mut lines,
                Some("app.example"),
                peer,
                trusted,
                "https",
            )
            .unwrap();
            (
                copied,
                String::from_utf8(lines.as_bytes().to_vec()).unwrap(),
            )
        };
        let (copied, lines) = sent(false);
        assert_eq!(copied, ["accept: */*"]);
        assert_eq!(
            lines,
            "x-forwarded-for: 10.0.0.9\r\nx-real-ip: 10.0.0.9\r\nx-forwarded-proto: https\r\n\
             x-forwarded-host: app.example\r\nforwarded: for=10.0.0.9;proto=https;host=\"app.example\"\r\n"
        );
        // Even with hygiene trusting the peer, an untrusted `set` never keeps the client's chain.
        let h = client_values();
        let mut prior = Prior::default();
        for (n, v) in &h {
            prior.note(n, v).unwrap();
        }
        let mut lines = crate::fields::Lines::default();
        set(&prior, &mut lines, None, peer, false, "http").unwrap();
        let lines = String::from_utf8(lines.as_bytes().to_vec()).unwrap();
        assert!(!lines.contains("6.6.6.6"), "{lines}");
        // A trusted proxy's chain is extended and its own client-address values kept.
        let (copied, lines) = sent(true);
        assert!(
            copied.contains(&"x-real-ip: 6.6.6.6".to_owned()),
            "{copied:?}"
        );
        assert!(
            !copied
                .iter()
                .any(|c| c.starts_with("x-forwarded-for") || c.starts_with("forwarded"))
        );
        assert!(
            lines.starts_with("x-forwarded-for: 6.6.6.6, 10.0.0.9\r\n"),
            "{lines}"
        );
        assert!(
            lines.contains("forwarded: for=6.6.6.6, for=10.0.0.9;proto=https"),
            "{lines}"
        );
        assert!(!lines.contains("x-real-ip"), "{lines}");
    }

    #[test]
    fn ipv4_text_matches_display() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "10.20.30.40",
            "255.255.255.255",
            "1.22.103.9",
            "::1",
            "2001:db8::7",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(ip_text(ip), ip.to_string());
        }
    }
}
