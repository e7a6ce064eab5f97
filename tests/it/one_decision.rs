//! One decision: the proxy, forward-auth, `explain` and any offline caller decide through
//! `decision::authorize`, so a table of requests gets the same outcome from each (and the same
//! status, challenge and reason from the proxy and forward-auth); and a permit for a key that an
//! offline tool named by id (never proven by its secret) cannot be forwarded.

use std::net::SocketAddr;

use http::{HeaderMap, HeaderValue, Method, Request};
use portcullis::decision::{self, Head, Presenting, Trace};
use portcullis::explain::{self, Who};
use portcullis::forward::{self, Downstream, Outgoing};
use portcullis::gateway::{self, Limits};
use portcullis::policy::{self, Snapshot};
use portcullis::reject::Rejection;
use portcullis::route::Target;

use crate::support::client;
use crate::support::policy::{self as fixtures, ADMIN, READER, write};
use crate::support::tmp::TempDir;
use crate::support::{Harness, Options, Upstream};

fn snapshot(p: &serde_json::Value) -> Snapshot {
    let dir = TempDir::new("one-decision");
    let path = dir.join("policy.json");
    write(&path, p);
    policy::compile(policy::load(&path).expect("load")).expect("compile")
}

/// (method, target, API key) → the reason code, or "allow".
const TABLE: &[(&str, &str, Option<&str>)] = &[
    ("GET", "/api/?module=indicator&action=list", Some(READER)),
    ("GET", "/api/?module=indicator&action=list", None),
    ("GET", "/api/?module=level&action=delete", Some(READER)),
    ("GET", "/api/?module=level&action=delete", Some(ADMIN)),
    (
        "GET",
        "/api/?module=indicator&module=level&action=list",
        Some(ADMIN),
    ),
    ("GET", "/api/?module[]=indicator&action=list", Some(ADMIN)),
    ("GET", "/api/?action=list", Some(ADMIN)),
    ("DELETE", "/api/v1/indicator/list", Some(ADMIN)),
    ("GET", "/api/v1/indicator/list", Some("not-a-key")),
    ("GET", "/public/../api/", None),
    ("GET", "/public/a%2Fb", None),
    ("GET", "/public/readme", None),
    ("GET", "/files/a%25b", Some(ADMIN)),
    ("GET", "/nowhere", Some(ADMIN)),
    (
        "GET",
        "/api/?module=indicator&action=list&token=x",
        Some(ADMIN),
    ),
];

/// "allow" for a 200, else the reason code of the rejection body.
fn outcome(resp: &client::Resp) -> String {
    match resp.status {
        200 => "allow".to_owned(),
        _ => resp.json()["error"].as_str().unwrap_or("?").to_owned(),
    }
}

/// What `decision::authorize` says about one request, as the gateway would build its head.
fn decide(s: &Snapshot, method: &str, target: &str, key: Option<&str>) -> String {
    let uri: http::Uri = target.parse().expect("uri");
    let canonical = match gateway::canonicalize(&uri, &Limits::default()) {
        Ok(c) => c,
        Err(r) => return r.mapping(s.unmapped_status).code.to_owned(),
    };
    let mut headers = HeaderMap::new();
    if let Some(k) = key {
        headers.insert("x-api-key", HeaderValue::from_str(k).expect("key"));
    }
    let method: Method = method.parse().expect("method");
    let head = Head {
        method: &method,
        host: None,
        headers: &headers,
        target: &canonical,
        client_certificate: None,
    };
    let now = fixtures::now();
    match decision::authorize(s, &head, Presenting::Request, now, &mut Trace::default()) {
        Ok(_) => "allow".to_owned(),
        Err(r) => r.mapping(s.unmapped_status).code.to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_explain_and_authorize_agree_on_every_request() {
    let up = Upstream::start().await;
    let p = fixtures::standard(&up.url());
    let opts = Options {
        forward_auth_peers: Some(vec!["127.0.0.1/32".parse().expect("cidr")]),
        ..Options::default()
    };
    let gw = Harness::start_with(&p, opts).await;
    let fa = gw.forward_auth.expect("forward-auth listener");
    let s = snapshot(&p);
    let mut disagreements = Vec::new();
    for (method, target, key) in TABLE {
        let direct = decide(&s, method, target, *key);
        let headers: Vec<(&str, &str)> = key.iter().map(|k| ("x-api-key", *k)).collect();
        let req = client::request(
            method.parse().expect("method"),
            &gw.url(target),
            &headers,
            client::full(""),
        );
        let resp = client::send(&client::h1(), req).await;
        let proxy = outcome(&resp);
        // The same request described to the forward-auth listener, nginx style.
        let mut fa_headers = headers.clone();
        fa_headers.extend([("x-original-uri", *target), ("x-original-method", *method)]);
        let sub = client::request(
            Method::GET,
            &format!("http://{fa}/auth"),
            &fa_headers,
            client::full(""),
        );
        let fa_resp = client::send(&client::h1(), sub).await;
        let forward_auth = outcome(&fa_resp);
        if forward_auth != "allow" {
            // A deny is the proxy's deny: status, challenge, and the rejection's headers.
            let same = fa_resp.status == resp.status
                && fa_resp.header("www-authenticate") == resp.header("www-authenticate")
                && fa_resp.header("cache-control") == Some("no-store")
                && fa_resp.header("x-request-id").is_some();
            if !same {
                disagreements.push(format!("{method} {target}: the deny responses differ"));
            }
        }
        let who = key.map_or(Who::Nobody, Who::Secret);
        let method: Method = method.parse().expect("method");
        let (report, allowed) = explain::explain(&s, &method, target, None, who, fixtures::now());
        let explained = if allowed {
            "allow".to_owned()
        } else {
            let last = report.lines().last().unwrap_or_default();
            last.rsplit(' ').next().unwrap_or_default().to_owned()
        };
        if direct != proxy || direct != explained || direct != forward_auth {
            disagreements.push(format!(
                "{method} {target}: authorize {direct}, proxy {proxy}, \
                 forward-auth {forward_auth}, explain {explained}"
            ));
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
    assert_eq!(
        up.count(),
        TABLE
            .iter()
            .filter(|(m, t, k)| decide(&s, m, t, *k) == "allow")
            .count(),
        "only the proxy's allowed requests reached the upstream; forward-auth forwards nothing"
    );
    // The table exercises allows and several kinds of deny, so agreement means something.
    let outcomes: std::collections::HashSet<String> =
        TABLE.iter().map(|(m, t, k)| decide(&s, m, t, *k)).collect();
    assert!(outcomes.len() >= 8, "{outcomes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permit_for_a_key_named_by_id_is_never_forwarded() {
    let up = Upstream::start().await;
    let s = snapshot(&fixtures::standard(&up.url()));
    let uri: http::Uri = "/api/?module=indicator&action=list".parse().expect("uri");
    let target = gateway::canonicalize(&uri, &Limits::default()).expect("canonical");
    let headers = HeaderMap::new();
    let head = Head {
        method: &Method::GET,
        host: None,
        headers: &headers,
        target: &target,
        client_certificate: None,
    };
    let now = fixtures::now();
    let permit = decision::authorize(
        &s,
        &head,
        Presenting::KeyId("reader"),
        now,
        &mut Trace::default(),
    )
    .expect("the reader key may list indicators");
    assert!(permit.principal().is_some_and(|p| p.is_assumed()));
    let Target::Upstream(u) = permit.route().route().target else {
        panic!("an upstream route");
    };
    let (parts, _) = Request::get(uri.clone())
        .body(())
        .expect("request")
        .into_parts();
    let out = Outgoing {
        parts,
        body: portcullis::body::full(""),
        target: &target,
        carrier: None,
        upstream: &s.upstreams[u],
        never_forward: &[],
        assertion: None,
    };
    let down = Downstream {
        peer: SocketAddr::from(([127, 0, 0, 1], 1)),
        scheme: "http",
        trusted_proxies: &[],
        request_id: "0",
    };
    let client = forward::client(std::time::Duration::from_secs(1));
    // Refused before any exchange exists to await.
    let sent = forward::send(&client, permit, out, &down).map(|_| ());
    assert_eq!(sent, Err(Rejection::Internal));
    assert_eq!(
        up.count(),
        0,
        "an assumed principal's request reached the upstream"
    );
}
