//! What the gateway tells an upstream about the client, and whom it believes the client is:
//! `X-Forwarded-For/-Proto/-Host`, `X-Real-IP` and `Forwarded` on the way up (`set`), and the
//! client's address behind trusted proxies (`client_ip`).

use std::net::IpAddr;

use http::header::{FORWARDED, HeaderName};
use http::{HeaderMap, HeaderValue};
use ipnet::IpNet;

use crate::field::{self, value};
use crate::reject::Rejection;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Set `X-Forwarded-For/-Proto/-Host` and `Forwarded`. A trusted proxy's values are extended;
/// anyone else's are replaced, so a client cannot claim another address.
pub fn set(
    h: &mut HeaderMap,
    host: Option<&str>,
    ip: IpAddr,
    trusted: bool,
    scheme: &'static str,
) -> Result<(), Rejection> {
    let ip_text = ip_text(ip);
    let ip_value = value(&ip_text)?;
    let xff = match field::all(h, &X_FORWARDED_FOR)?.as_slice() {
        prev @ [_, ..] if trusted => value(&format!("{}, {ip_text}", prev.join(", ")))?,
        _ => ip_value.clone(),
    };
    h.insert(X_FORWARDED_FOR, xff);
    if !trusted || !h.contains_key(&X_REAL_IP) {
        h.insert(X_REAL_IP, ip_value);
    }
    if !trusted || !h.contains_key(&X_FORWARDED_PROTO) {
        h.insert(X_FORWARDED_PROTO, HeaderValue::from_static(scheme));
    }
    if !trusted || !h.contains_key(&X_FORWARDED_HOST) {
        match host {
            Some(host) => drop(h.insert(X_FORWARDED_HOST, value(host)?)),
            None => drop(h.remove(&X_FORWARDED_HOST)),
        }
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
    let fwd = match field::all(h, FORWARDED)?.as_slice() {
        prev @ [_, ..] if trusted => format!("{}, {fwd}", prev.join(", ")),
        _ => fwd,
    };
    h.insert(FORWARDED, value(&fwd)?);
    Ok(())
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
