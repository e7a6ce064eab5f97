//! What the gateway tells an upstream about the client, and whom it believes the client is:
//! `X-Forwarded-For/-Proto/-Host`, `X-Real-IP` and `Forwarded` on the way up (`set`), and the
//! client's address behind trusted proxies (`client_ip`).

use std::net::IpAddr;

use http::HeaderMap;
use http::header::{FORWARDED, HeaderName};
use ipnet::IpNet;

use crate::field;
use crate::fields::Fields;
use crate::reject::Rejection;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Set `X-Forwarded-For/-Proto/-Host`, `X-Real-IP` and `Forwarded` on `out`, removing from the
/// request's map `h` what they replace. A trusted proxy's values are extended (its `X-Real-IP`,
/// `-Proto` and `-Host` kept); anyone else's are replaced, so a client cannot claim another
/// address.
pub fn set(
    h: &mut HeaderMap,
    out: &mut impl Fields,
    host: Option<&str>,
    ip: IpAddr,
    trusted: bool,
    scheme: &'static str,
) -> Result<(), Rejection> {
    let ip_text = ip_text(ip);
    let xff = match field::all(h, &X_FORWARDED_FOR)?.as_slice() {
        [] => None,
        prev if trusted => Some(format!("{}, {ip_text}", prev.join(", "))),
        _ => Some(ip_text.clone()),
    };
    if xff.is_some() {
        h.remove(&X_FORWARDED_FOR);
    }
    out.set(&X_FORWARDED_FOR, xff.as_deref().unwrap_or(&ip_text))?;
    // A trusted proxy's own value stays in `h`; anyone else's is replaced. (`sanitize_request`
    // has removed them from an untrusted peer's request already; removed here too, so that no
    // request can ever carry a client's value beside the gateway's.)
    let replace = |h: &mut HeaderMap, name: &HeaderName| match (trusted, h.contains_key(name)) {
        (true, present) => !present,
        (false, true) => {
            h.remove(name);
            true
        }
        (false, false) => true,
    };
    if replace(h, &X_REAL_IP) {
        out.set(&X_REAL_IP, &ip_text)?;
    }
    if replace(h, &X_FORWARDED_PROTO) {
        out.set(&X_FORWARDED_PROTO, scheme)?;
    }
    if replace(h, &X_FORWARDED_HOST)
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
    let (fwd, sent) = match field::all(h, FORWARDED)?.as_slice() {
        [] => (fwd, false),
        prev if trusted => (format!("{}, {fwd}", prev.join(", ")), true),
        _ => (fwd, true),
    };
    if sent {
        h.remove(FORWARDED);
    }
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
        let lines_of = |trusted: bool| {
            let mut h = client_values();
            let mut lines = crate::fields::Lines::default();
            set(
                &mut h,
                &mut lines,
                Some("app.example"),
                peer,
                trusted,
                "https",
            )
            .unwrap();
            let mut all = h.clone();
            lines.apply(&mut all).unwrap();
            (
                h,
                String::from_utf8(lines.as_bytes().to_vec()).unwrap(),
                all,
            )
        };
        // Not sanitized first: `set` alone keeps a spoofed value from travelling beside its own.
        let (h, lines, all) = lines_of(false);
        assert_eq!(h.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["accept"]);
        assert_eq!(
            lines,
            "x-forwarded-for: 10.0.0.9\r\nx-real-ip: 10.0.0.9\r\nx-forwarded-proto: https\r\n\
             x-forwarded-host: app.example\r\nforwarded: for=10.0.0.9;proto=https;host=\"app.example\"\r\n"
        );
        assert!(!format!("{all:?}").contains("6.6.6.6") && !format!("{all:?}").contains("evil"));
        // A trusted proxy's chain is extended and its own client-address values kept.
        let (h, lines, _) = lines_of(true);
        assert_eq!(h["x-real-ip"], "6.6.6.6");
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
