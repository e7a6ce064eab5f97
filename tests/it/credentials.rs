//! Credentials: every accepted carrier (`Authorization: Bearer`/`Token` in any case, `X-API-Key`,
//! the configured query parameters) is found, and removed from the forwarded request — header
//! gone, query parameter gone with every other parameter intact byte for byte — unless the route
//! keeps it. Two credentials are refused, not guessed between.

use crate::support::client::{self, assert_rejected};
use crate::support::policy::{self, ADMIN, READER};
use crate::support::{Harness, Upstream};

/// (case, target, headers)
type Pair<'a> = (&'a str, String, Vec<(&'a str, &'a str)>);

/// (case, target, headers, expected forwarded query)
type Carrier<'a> = (&'a str, String, Vec<(&'a str, String)>, Option<String>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_carrier_is_accepted_and_stripped() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let q = "module=indicator&action=list";
    let cases: Vec<Carrier> = vec![
        (
            "bearer",
            format!("/api/?{q}"),
            vec![("authorization", format!("Bearer {READER}"))],
            Some(q.into()),
        ),
        (
            "token scheme",
            format!("/api/?{q}"),
            vec![("authorization", format!("Token {READER}"))],
            Some(q.into()),
        ),
        (
            "lowercase scheme",
            format!("/api/?{q}"),
            vec![("authorization", format!("bearer {READER}"))],
            Some(q.into()),
        ),
        (
            "upper-case scheme",
            format!("/api/?{q}"),
            vec![("Authorization", format!("TOKEN {READER}"))],
            Some(q.into()),
        ),
        (
            "x-api-key",
            format!("/api/?{q}"),
            vec![("X-API-Key", READER.into())],
            Some(q.into()),
        ),
        (
            "linea21 token param",
            format!("/api/?a=1&module=indicator&token={READER}&action=list&b=%20x+y&c=caf%C3%A9&d"),
            vec![],
            Some("a=1&module=indicator&action=list&b=%20x+y&c=caf%C3%A9&d".into()),
        ),
        (
            "token param last",
            format!("/api/?{q}&token={READER}"),
            vec![],
            Some(q.into()),
        ),
        (
            "token param first",
            format!("/api/?token={READER}&{q}"),
            vec![],
            Some(q.into()),
        ),
        (
            "contract.fit api_key param",
            format!("/api/v1/indicator/list?api_key={READER}"),
            vec![],
            None,
        ),
        (
            "api_key with others",
            format!("/api/v1/indicator/list?x=%2F&api_key={READER}&y=1+2"),
            vec![],
            Some("x=%2F&y=1+2".into()),
        ),
    ];
    for (case, target, headers, query) in cases {
        up.clear();
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let resp = client::get(&gw.url(&target), &h).await;
        assert_eq!(resp.status, 200, "{case}: {}", resp.text());
        let seen = up.only();
        assert_eq!(seen.header("x-portcullis-key-id"), "reader", "{case}");
        assert_eq!(seen.query, query, "{case}");
        assert!(!seen.headers.contains_key("authorization"), "{case}");
        assert!(!seen.headers.contains_key("x-api-key"), "{case}");
        assert!(!seen.target.contains(READER), "{case}: {}", seen.target);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_credential_route_forwards_it() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let bearer = format!("Bearer {ADMIN}");
    let resp = client::get(&gw.url("/keep/read?x=1"), &[("authorization", &bearer)]).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(up.last().header("authorization"), bearer);
    let resp = client::get(&gw.url("/keep/read"), &[("x-api-key", ADMIN)]).await;
    assert_eq!(resp.status, 200);
    assert_eq!(up.last().header("x-api-key"), ADMIN);
    let target = format!("/keep/read?x=1&token={ADMIN}&y=2");
    let resp = client::get(&gw.url(&target), &[]).await;
    assert_eq!(resp.status, 200);
    let seen = up.last();
    assert_eq!(seen.query, Some(format!("x=1&token={ADMIN}&y=2")));
    assert_eq!(seen.header("x-portcullis-key-id"), "admin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_on_a_public_route_is_still_stripped() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let target = format!("/public/logo.png?v=2&token={READER}");
    let resp = client::get(&gw.url(&target), &[]).await;
    assert_eq!(resp.status, 200);
    let seen = up.only();
    assert_eq!(seen.query.as_deref(), Some("v=2"));
    assert!(!seen.headers.contains_key("x-portcullis-key-id"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_credentials_are_400() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let q = "module=indicator&action=list";
    let bearer = format!("Bearer {READER}");
    let cases: Vec<Pair> = vec![
        (
            "bearer + x-api-key",
            format!("/api/?{q}"),
            vec![("authorization", &bearer), ("x-api-key", READER)],
        ),
        (
            "bearer + token param",
            format!("/api/?{q}&token={READER}"),
            vec![("authorization", &bearer)],
        ),
        (
            "token + api_key params",
            format!("/api/?{q}&token={READER}&api_key={ADMIN}"),
            vec![],
        ),
        (
            "token param twice",
            format!("/api/?{q}&token={READER}&token={ADMIN}"),
            vec![],
        ),
        (
            "token param as array",
            format!("/api/?{q}&token[]={READER}"),
            vec![],
        ),
        (
            "token param alias",
            format!("/api/?{q}&%20token={ADMIN}"),
            vec![],
        ),
        (
            "x-api-key twice",
            format!("/api/?{q}"),
            vec![("x-api-key", READER), ("x-api-key", ADMIN)],
        ),
    ];
    for (case, target, headers) in cases {
        let resp = client::get(&gw.url(&target), &headers).await;
        assert_rejected(&resp, 400, "multiple_credentials");
        assert!(
            !resp.text().contains(READER) && !resp.text().contains(ADMIN),
            "{case}"
        );
        assert_eq!(up.count(), 0, "{case}");
    }
}
