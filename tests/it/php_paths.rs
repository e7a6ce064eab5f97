//! Differential: a path the gateway forwards means, to a real PHP application (`php -S`,
//! `tests/fixtures/php/index.php`), the path the gateway decided on. Generated targets rich in
//! dots, slashes and encoded delimiters go to the public route `/public/{*rest}` (as
//! `/public/x...`, so the catch-all is never empty); for each, the
//! gateway's own canonicalization (`portcullis::canonical::canonicalize`) says refused or
//! canonical, and then:
//!
//! - refused by canonicalization: the gateway refuses too (a 4xx with a reason code) and PHP
//!   serves nothing; a canonical path may also be refused by a route rule (an encoded `?`);
//! - forwarded: only canonical paths, PHP's `REQUEST_URI` is the target exactly as sent, and
//!   the path segments as a PHP router reads them (split on `/`, each rawurldecoded) are the
//!   segments of the canonical path the gateway matched routes on.

use http::Method;
use portcullis::canonical::canonicalize;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;

use crate::support::Harness;
use crate::support::client::{self, full, request};
use crate::support::php::{Ini, PhpApp};
use crate::support::policy;

/// Path pieces rich in what canonicalization must refuse, and in what PHP decodes.
fn hostile_rest() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "/", "a", ".", "..", "%2e", "%2E", "%2f", "%5c", "%3b", "%3F", "%23", "%25", "%41", "+",
        "~", "%c3%a9", "%20", "b.c", "?", "&", "x=y", "%00", "%ff",
    ]);
    prop::collection::vec(piece, 0..8).prop_map(|p| p.concat())
}

#[test]
fn php_reads_the_path_the_gateway_decided_on() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (php, gw) = rt.block_on(async {
        let php = PhpApp::start(Ini::Builtin).await;
        let gw = Harness::start(&policy::standard(&php.url())).await;
        (php, gw)
    });
    let mut runner = TestRunner::new(Config::with_cases(96));
    let (refused, forwarded) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
    runner
        .run(&hostile_rest(), |rest| {
            let target = format!("/public/x{rest}");
            let Ok(uri) = target.parse::<http::Uri>() else {
                return Ok(()); // not a request target a client can send
            };
            let local = canonicalize(&uri);
            let resp = rt.block_on(client::send(
                &client::h1(),
                request(Method::GET, &gw.url(&target), &[], full("")),
            ));
            let forwarded_to_php = resp.status == 200;
            if !forwarded_to_php {
                // Refused: by canonicalization, or by a route rule on a canonical path (an
                // encoded `?` or `#`). Either way a 4xx with a reason code, and PHP saw nothing.
                refused.set(refused.get() + 1);
                prop_assert!(
                    (400..500).contains(&resp.status),
                    "{}: {}",
                    target,
                    resp.status
                );
                let body: Value = resp.json();
                prop_assert!(body["error"].is_string(), "{}: {}", target, body);
                prop_assert!(
                    body.get("server").is_none(),
                    "{} reached PHP: {}",
                    target,
                    body
                );
                return Ok(());
            }
            let Ok(c) = local else {
                return Err(TestCaseError::fail(format!(
                    "{target}: canonicalize refused it, yet it was forwarded"
                )));
            };
            forwarded.set(forwarded.get() + 1);
            let view: Value = resp.json();
            let sent = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
            prop_assert_eq!(view["server"]["REQUEST_URI"].as_str(), Some(sent));
            let php_segments: Vec<&str> = view["segments"]
                .as_array()
                .expect("segments")
                .iter()
                .map(|s| s.as_str().unwrap_or("<not a string>"))
                .collect();
            let ours: Vec<&str> = c.path.split('/').collect();
            prop_assert_eq!(php_segments, ours, "{}", target);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let (forwarded, refused) = (forwarded.get(), refused.get());
    eprintln!("php_paths: {forwarded} forwarded, {refused} refused");
    assert!(
        forwarded > 10 && refused > 10,
        "the generator must reach both sides"
    );
    drop(gw);
    drop(php);
}
