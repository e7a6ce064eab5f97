//! Headers the gateway judges are read or refused, never skipped: a value with bytes that are not
//! visible ASCII (obs-text, invalid UTF-8) or a `Host` given twice is a 400 with its reason code,
//! on raw HTTP/1.1 connections, and nothing reaches the upstream. The PHP differential tests
//! (`php_upstream`) show what such bytes would do to a PHP upstream.

use crate::support::client::{self, split_responses};
use crate::support::policy::{self, ADMIN};
use crate::support::{Harness, Upstream};

/// `GET` of an allowed target with `extra` header lines (raw bytes), `Connection: close`.
fn request(host_lines: &[u8], extra: &[u8]) -> Vec<u8> {
    let mut r = b"GET /api/?module=indicator&action=list HTTP/1.1\r\n".to_vec();
    r.extend_from_slice(host_lines);
    r.extend_from_slice(format!("X-API-Key: {ADMIN}\r\n").as_bytes());
    r.extend_from_slice(extra);
    r.extend_from_slice(b"Connection: close\r\n\r\n");
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_or_repeated_judged_headers_are_refused_and_never_forwarded() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let host = b"Host: a.example\r\n".as_slice();
    let cases: &[(&[u8], &[u8], &str)] = &[
        (
            b"Host: a.example\r\nHost: b.example\r\n",
            b"",
            "repeated_header",
        ),
        (b"Host: a.ex\xe9mple\r\n", b"", "unreadable_header"),
        (host, b"Connection: x-foo\xff\r\n", "unreadable_header"),
        (host, b"Authorization: Basic \x80\r\n", "unreadable_header"),
        (host, b"X-API-Key: \xc3\xa9\r\n", "unreadable_header"),
    ];
    for (hosts, extra, code) in cases {
        let raw = client::raw(gw.addr, &request(hosts, extra)).await;
        let resp = split_responses(&raw).remove(0);
        let label = String::from_utf8_lossy(&[*hosts, *extra].concat()).into_owned();
        client::assert_rejected(&resp, 400, code);
        assert_eq!(up.count(), 0, "{label} reached the upstream");
    }
    // The same request with readable headers passes: the refusals above are the bytes'.
    let raw = client::raw(gw.addr, &request(host, b"Connection: x-foo\r\n")).await;
    assert_eq!(split_responses(&raw).remove(0).status, 200);
    assert_eq!(up.count(), 1);
}
