//! Request hygiene: headers that let a client steer the upstream around the decision never reach
//! it (method and URL overrides, the policy's `never_forward`, client-address and prefix headers
//! from untrusted peers), `_method` is refused, methods outside the allow-list are refused before
//! routing, encoded `?`/`#` in the path are refused unless a route allows them, `Host` must be
//! present (HTTP/1.1) and agree with an absolute-form target, and an upstream may fix the `Host`
//! it receives. Raw HTTP/1.1 on a socket, so nothing normalizes the bytes on the way.

use serde_json::{Value, json};

use crate::support::client::{self, assert_rejected, parse_response};
use crate::support::policy::{self, ADMIN};
use crate::support::{Harness, Options, Upstream};

const LIST: &str = "/api/?module=indicator&action=list";

/// Send `head` (request line and headers, without the final blank line) plus `body`, with
/// `Connection: close`; the parsed response.
async fn raw(gw: &Harness, head: &str, body: &str) -> client::Resp {
    let req = format!(
        "{head}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    parse_response(&client::raw(gw.addr, req.as_bytes()).await)
}

fn get(target: &str, extra: &str) -> String {
    format!("GET {target} HTTP/1.1\r\nHost: app.example\r\nX-API-Key: {ADMIN}{extra}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn override_and_never_forward_headers_never_reach_the_upstream() {
    let up = Upstream::start().await;
    let mut p = policy::standard(&up.url());
    p["never_forward"] = json!(["X-Debug-User"]);
    let gw = Harness::start(&p).await;
    let forged = [
        "X-HTTP-Method-Override: DELETE",
        "X_HTTP_Method_Override: DELETE",
        "X-HTTP-Method: PUT",
        "X-Method-Override: PATCH",
        "X-Original-URL: /admin/",
        "X-Rewrite-URL: /admin/",
        "x.override.url: /admin/",
        "X-Debug-User: root",
        "x_debug_user: root",
    ];
    let extra: String = forged.iter().map(|h| format!("\r\n{h}")).collect();
    let r = raw(&gw, &get(LIST, &extra), "").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = up.last();
    for name in seen.headers.keys() {
        let n = name.as_str().replace(['_', '.'], "-");
        assert!(
            !n.contains("override")
                && !n.contains("original-url")
                && !n.contains("rewrite")
                && !n.contains("debug-user")
                && n != "x-http-method",
            "{name} reached the upstream"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_address_headers_pass_only_from_trusted_proxies() {
    let up = Upstream::start().await;
    let spoof = "\r\nX-Real-IP: 10.9.9.9\r\nTrue-Client-IP: 10.9.9.9\r\nCF-Connecting-IP: 10.9.9.9\
                 \r\nX-Forwarded-Prefix: /evil\r\nX-Forwarded-Port: 1\r\nX-Forwarded-Host: evil.example\
                 \r\nX-Client-IP: 10.9.9.9";
    // Untrusted peer: gone, and the gateway sets X-Real-IP to the peer it saw.
    let gw = Harness::start(&policy::standard(&up.url())).await;
    assert_eq!(raw(&gw, &get(LIST, spoof), "").await.status, 200);
    let seen = up.last();
    assert_eq!(seen.header("x-real-ip"), "127.0.0.1");
    assert_eq!(seen.header("x-forwarded-host"), "app.example");
    for gone in [
        "true-client-ip",
        "cf-connecting-ip",
        "x-forwarded-prefix",
        "x-forwarded-port",
        "x-client-ip",
    ] {
        assert!(
            seen.headers_named(gone).is_empty(),
            "{gone} from an untrusted peer"
        );
    }
    // Trusted peer (a load balancer): kept.
    let opts = Options {
        trusted_proxies: vec!["127.0.0.0/8".parse().expect("cidr")],
        ..Options::default()
    };
    let gw = Harness::start_with(&policy::standard(&up.url()), opts).await;
    assert_eq!(raw(&gw, &get(LIST, spoof), "").await.status, 200);
    let seen = up.last();
    assert_eq!(seen.header("x-real-ip"), "10.9.9.9");
    assert_eq!(seen.header("x-forwarded-prefix"), "/evil");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn method_override_parameters_are_refused_unless_the_route_allows_them() {
    let up = Upstream::start().await;
    let mut p = policy::standard(&up.url());
    let gw = Harness::start(&p).await;
    let q = "/api/v1/indicator/list?_method=DELETE";
    assert_rejected(&raw(&gw, &get(q, ""), "").await, 400, "method_override");
    let alias = "/api/v1/indicator/list?%5Fmethod=DELETE";
    assert_rejected(&raw(&gw, &get(alias, ""), "").await, 400, "method_override");
    let post = format!(
        "POST /api/v1/indicator/list HTTP/1.1\r\nHost: app.example\r\nX-API-Key: {ADMIN}\r\n\
         Content-Type: application/x-www-form-urlencoded"
    );
    assert_rejected(
        &raw(&gw, &post, "a=1&_method=DELETE").await,
        400,
        "method_override",
    );
    assert_eq!(up.count(), 0);
    assert_eq!(
        raw(&gw, &post, "a=1").await.status,
        200,
        "a form without it passes"
    );
    let routes = p["routes"].as_array_mut().expect("routes");
    let by_path: &mut Value = routes
        .iter_mut()
        .find(|r| r["id"] == "api-by-path")
        .expect("route");
    by_path["allow_method_override"] = json!(true);
    gw.rewrite(&p).await;
    assert_eq!(raw(&gw, &get(q, ""), "").await.status, 200);
    assert_eq!(raw(&gw, &post, "a=1&_method=DELETE").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn methods_outside_the_allow_list_are_refused_before_routing() {
    let up = Upstream::start().await;
    let mut p = policy::standard(&up.url());
    let gw = Harness::start(&p).await;
    let with = |m: &str| format!("{m} {LIST} HTTP/1.1\r\nHost: app.example\r\nX-API-Key: {ADMIN}");
    assert_rejected(
        &raw(&gw, &with("PROPFIND"), "").await,
        501,
        "method_not_implemented",
    );
    assert_rejected(
        &raw(&gw, &with("BREW"), "").await,
        501,
        "method_not_implemented",
    );
    let connect = raw(&gw, &with("CONNECT"), "").await;
    assert_rejected(&connect, 405, "method_not_allowed");
    assert!(
        connect
            .header("allow")
            .is_some_and(|a| a.contains("GET") && !a.contains("CONNECT"))
    );
    // The list is the policy's to extend.
    p["allowed_methods"] = json!(["GET", "POST", "PROPFIND"]);
    gw.rewrite(&p).await;
    let r = raw(&gw, &with("PROPFIND"), "").await;
    assert_rejected(&r, 405, "method_not_allowed");
    assert_rejected(
        &raw(&gw, &with("PUT"), "").await,
        501,
        "method_not_implemented",
    );
    assert_eq!(up.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encoded_question_mark_or_hash_in_the_path_is_refused() {
    let up = Upstream::start().await;
    let mut p = policy::standard(&up.url());
    let gw = Harness::start(&p).await;
    for target in ["/public/index.php%3Fx=1", "/public/a%23b", "/public/a%3fb"] {
        let r = raw(
            &gw,
            &format!("GET {target} HTTP/1.1\r\nHost: app.example"),
            "",
        )
        .await;
        assert_rejected(&r, 400, "encoded_delimiter");
    }
    // An encoded space stays valid (SeaTable base names have them).
    let r = raw(
        &gw,
        "GET /public/My%20Base HTTP/1.1\r\nHost: app.example",
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    let routes = p["routes"].as_array_mut().expect("routes");
    routes
        .iter_mut()
        .find(|r| r["id"] == "public")
        .expect("public")["allow_encoded_delimiters"] = json!(true);
    gw.rewrite(&p).await;
    let r = raw(&gw, "GET /public/a%3Fb HTTP/1.1\r\nHost: app.example", "").await;
    assert_eq!(r.status, 200);
    assert_eq!(up.last().target, "/public/a%3Fb", "forwarded as received");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_is_required_and_must_agree_with_the_target() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let no_host = format!("GET {LIST} HTTP/1.1\r\nX-API-Key: {ADMIN}");
    assert_rejected(&raw(&gw, &no_host, "").await, 400, "missing_host");
    let http10 = format!("GET {LIST} HTTP/1.0\r\nX-API-Key: {ADMIN}");
    assert_eq!(
        raw(&gw, &http10, "").await.status,
        200,
        "HTTP/1.0 may omit Host"
    );
    let mismatch = format!(
        "GET http://other.example{LIST} HTTP/1.1\r\nHost: app.example\r\nX-API-Key: {ADMIN}"
    );
    assert_rejected(&raw(&gw, &mismatch, "").await, 400, "host_mismatch");
    assert_eq!(up.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_can_fix_the_host_it_receives() {
    let up = Upstream::start().await;
    let mut p = policy::standard(&up.url());
    p["upstreams"]["app"]["host"] = json!("app.internal");
    let gw = Harness::start(&p).await;
    assert_eq!(raw(&gw, &get(LIST, ""), "").await.status, 200);
    let seen = up.last();
    assert_eq!(seen.header("host"), "app.internal");
    assert_eq!(seen.header("x-forwarded-host"), "app.example");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framing_a_proxy_would_have_to_guess_at_is_refused_and_the_connection_closed() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let post = |te: &str, extra: &str, body: &str| {
        format!(
            "POST /api/v1/indicator/list HTTP/1.1\r\nHost: app.example\r\nX-API-Key: {ADMIN}\r\n\
             Content-Type: text/plain\r\nTransfer-Encoding: {te}\r\n{extra}\r\n{body}"
        )
    };
    let cases = [
        post("gzip, chunked", "", "5\r\nhello\r\n0\r\n\r\n"),
        post("chunked, chunked", "", "5\r\nhello\r\n0\r\n\r\n"),
    ];
    for req in &cases {
        // A second request pipelined behind: it must never be answered on this connection.
        let pipelined =
            format!("{req}GET {LIST} HTTP/1.1\r\nHost: app.example\r\nX-API-Key: {ADMIN}\r\n\r\n");
        let raw = client::raw(gw.addr, pipelined.as_bytes()).await;
        let resps = client::split_responses(&raw);
        let first = req.lines().nth(4).unwrap_or_default();
        assert_eq!(resps.len(), 1, "{first}: the connection stayed open");
        let bad = &resps[0];
        assert!(bad.status == 400, "{first}: {} {}", bad.status, bad.text());
        if bad.header("x-portcullis-reason").is_some() {
            assert_rejected(bad, 400, "bad_framing");
            assert_eq!(bad.header("connection"), Some("close"));
        }
    }
    // Chunked with a Content-Length: hyper lets chunked win and drops the length, so the upstream
    // gets one unambiguous framing (never both).
    let both = post(
        "chunked",
        "Content-Length: 3\r\n",
        "5\r\nhello\r\n0\r\n\r\n",
    );
    let resp = parse_response(&client::raw(gw.addr, both.as_bytes()).await);
    if resp.status == 200 {
        let seen = up.last();
        assert!(seen.headers_named("content-length").len() <= 1);
        assert_eq!(
            seen.body,
            "hello".as_bytes(),
            "the upstream read the chunked body"
        );
    } else {
        assert_rejected(&resp, 400, "bad_framing");
    }
    let before = up.count();
    // A malformed chunk is the client's 400, not the upstream's 502.
    let broken = post("chunked", "", "zz\r\nhello\r\n0\r\n\r\n");
    let raw = client::raw(gw.addr, broken.as_bytes()).await;
    let resp = parse_response(&raw);
    assert_eq!(resp.status, 400, "{}", resp.text());
    assert!(
        up.count() == before || !up.last().complete,
        "a malformed body reached the upstream whole"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http2_authority_and_host_must_agree() {
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let port = gw.addr.port();
    let send = |authority: &str, host: Option<&str>| {
        let url = format!("http://{authority}:{port}{LIST}");
        let mut headers = vec![("x-api-key", ADMIN)];
        if let Some(h) = host {
            headers.push(("host", h));
        }
        let mut req = client::request(http::Method::GET, &url, &headers, client::full(""));
        // Connect to the gateway whatever the authority says.
        let addr = gw.addr;
        async move {
            let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let (mut send, conn) = hyper::client::conn::http2::handshake(
                hyper_util::rt::TokioExecutor::new(),
                hyper_util::rt::TokioIo::new(stream),
            )
            .await
            .expect("h2 handshake");
            tokio::spawn(conn);
            *req.version_mut() = http::Version::HTTP_2;
            let resp = send.send_request(req).await.expect("h2 response");
            resp.status().as_u16()
        }
    };
    assert_eq!(send("127.0.0.1", None).await, 200, ":authority alone");
    assert_eq!(
        send("127.0.0.1", Some("127.0.0.1")).await,
        200,
        "both agreeing"
    );
    assert_eq!(
        send("127.0.0.1", Some("evil.example")).await,
        400,
        "disagreeing"
    );
    assert_eq!(up.count(), 2);
}
