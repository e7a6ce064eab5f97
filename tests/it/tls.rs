//! TLS on a public listener, served by `run::serve` in process with certificates generated here
//! (`rcgen`): a test CA and one certificate each for `a.test` and `b.test`.
//!
//! rustls clients trusting the test CA check which certificate each SNI name gets, speak
//! HTTP/1.1 and h2 as ALPN chose, and TLS 1.2; a client trusting another CA and a TLS 1.1
//! ClientHello fail; curl gets 200 and the upstream sees `X-Forwarded-Proto: https`.
//! Certificate files changed on disk are served after the check interval, a broken change keeps
//! the last good certificate, a bad certificate at start refuses to serve, a silent client is
//! dropped after the handshake timeout, and `require_sni_match` answers 421.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Version};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use portcullis::clock::ManualClock;
use portcullis::run::{self, Listeners, ServeError, World};
use portcullis::settings::Settings;
use rustls::ClientConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::support::ca::Ca;
use crate::support::client::{self, pause};
use crate::support::policy::{self, ADMIN, READER};
use crate::support::tmp::TempDir;
use crate::support::{Upstream, logs};

const LIST: &str = "/api/?module=indicator&action=list";

/// `serve` running with a TLS listener.
struct Served {
    addr: SocketAddr,
    admin: SocketAddr,
    dir: TempDir,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), ServeError>>,
}

/// Settings with one TLS listener serving `a.test` (default) and `b.test` from `dir`.
fn settings(dir: &TempDir, up: &Upstream, tls_extra: Value, limits: Value) -> Settings {
    policy::write(&dir.join("policy.json"), &policy::standard(&up.url()));
    let mut tls = json!({
        "certificates": [
            { "cert": "a.test.pem", "key": "a.test.key" },
            { "cert": "b.test.pem", "key": "b.test.key" }
        ],
        "check_interval_ms": 100
    });
    for (k, v) in tls_extra.as_object().expect("object") {
        tls[k] = v.clone();
    }
    let path = dir.join("portcullis.json");
    policy::write(
        &path,
        &json!({
            "listeners": [{ "address": "127.0.0.1:0", "tls": tls }],
            "policy": "policy.json",
            "limits": limits,
            "reload": { "check_interval_ms": 0 },
            "log": { "access": { "format": "off" } }
        }),
    );
    Settings::load(&path).expect("settings")
}

fn start(dir: TempDir, settings: Settings) -> Served {
    logs::install();
    let public = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = public.local_addr().expect("addr");
    let admin = std::net::TcpListener::bind("127.0.0.1:0").expect("bind admin");
    let admin_addr = admin.local_addr().expect("admin addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let world = World {
        clock: Arc::new(ManualClock::new(policy::now())),
        env: Arc::new(|_: &str| None),
        reloads: tokio::sync::mpsc::channel(1).1,
        log_reopens: tokio::sync::mpsc::channel(1).1,
    };
    let task = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        run::serve(
            &settings,
            Listeners::single(public, Some(admin)),
            world,
            shutdown,
        )
        .await
    });
    Served {
        addr,
        admin: admin_addr,
        dir,
        stop,
        task,
    }
}

/// A gateway serving fresh `a.test` and `b.test` certificates of `ca`.
fn serve_with(ca: &Ca, up: &Upstream, tls_extra: Value, limits: Value) -> Served {
    let dir = TempDir::new("tls");
    ca.write(&dir, "a.test");
    ca.write(&dir, "b.test");
    let settings = settings(&dir, up, tls_extra, limits);
    start(dir, settings)
}

/// A client trusting `ca_pem`, offering `alpn` and the given TLS versions.
fn client(
    ca_pem: &str,
    alpn: &[&[u8]],
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    let ca = CertificateDer::from_pem_slice(ca_pem.as_bytes()).expect("ca pem");
    roots.add(ca).expect("trust ca");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    TlsConnector::from(Arc::new(config))
}

fn modern(ca_pem: &str, alpn: &[&[u8]]) -> TlsConnector {
    client(ca_pem, alpn, rustls::DEFAULT_VERSIONS)
}

async fn connect(
    connector: &TlsConnector,
    addr: SocketAddr,
    name: &str,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from(name.to_owned()).expect("server name");
    tokio::time::timeout(client::LIMIT, connector.connect(name, tcp))
        .await
        .expect("handshake timed out")
}

/// The DER of the certificate the server presented.
fn presented(stream: &TlsStream<TcpStream>) -> Vec<u8> {
    stream
        .get_ref()
        .1
        .peer_certificates()
        .expect("certificates")[0]
        .to_vec()
}

/// `GET LIST` with the reader key and `Host: host` over HTTP/1.1; the status.
async fn get_h1(stream: TlsStream<TcpStream>, host: &str) -> u16 {
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("http1 handshake");
    tokio::spawn(conn);
    let req = Request::get(LIST)
        .header("host", host)
        .header("x-api-key", READER)
        .body(Empty::<Bytes>::new())
        .expect("request");
    let resp = send.send_request(req).await.expect("http1 response");
    assert_eq!(resp.version(), Version::HTTP_11);
    resp.status().as_u16()
}

/// Wait until `name` is served the certificate `der`.
async fn served_eventually(s: &Served, ca: &Ca, name: &str, der: &[u8]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let stream = connect(&modern(&ca.pem, &[]), s.addr, name).await;
        if stream.is_ok_and(|st| presented(&st) == der) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new certificate was not served"
        );
        pause().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sni_picks_the_certificate_and_alpn_the_protocol() {
    let up = Upstream::start().await;
    let ca = Ca::new("Portcullis test CA");
    let s = serve_with(&ca, &up, json!({}), json!({}));
    let a = std::fs::read(s.dir.join("a.test.pem")).expect("a");
    let b = std::fs::read(s.dir.join("b.test.pem")).expect("b");
    let der = |pem: &[u8]| CertificateDer::from_pem_slice(pem).expect("pem").to_vec();

    let h1 = modern(&ca.pem, &[b"http/1.1"]);
    let stream = connect(&h1, s.addr, "a.test").await.expect("a.test");
    assert_eq!(presented(&stream), der(&a));
    assert_eq!(get_h1(stream, "a.test").await, 200);
    assert_eq!(up.last().header("x-forwarded-proto"), "https");

    let stream = connect(&h1, s.addr, "b.test").await.expect("b.test");
    assert_eq!(presented(&stream), der(&b));
    assert_eq!(get_h1(stream, "b.test").await, 200);

    // No ALPN at all: HTTP/1.1.
    let stream = connect(&modern(&ca.pem, &[]), s.addr, "a.test").await;
    assert_eq!(get_h1(stream.expect("a.test"), "a.test").await, 200);

    // ALPN h2: the gateway speaks HTTP/2.
    let stream = connect(&modern(&ca.pem, &[b"h2", b"http/1.1"]), s.addr, "b.test")
        .await
        .expect("b.test");
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("h2 handshake");
    tokio::spawn(conn);
    let url = format!("https://b.test:{}{LIST}", s.addr.port());
    let req = Request::get(url)
        .header("x-api-key", READER)
        .body(Empty::<Bytes>::new())
        .expect("request");
    let resp = send.send_request(req).await.expect("h2 response");
    assert_eq!(
        (resp.version(), resp.status().as_u16()),
        (Version::HTTP_2, 200)
    );
    let _ = resp.into_body().collect().await;
    assert_eq!(up.last().header("x-forwarded-proto"), "https");

    // TLS 1.2 alone works.
    let tls12 = client(&ca.pem, &[], &[&rustls::version::TLS12]);
    let stream = connect(&tls12, s.addr, "a.test").await.expect("tls 1.2");
    assert_eq!(
        stream.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    assert_eq!(get_h1(stream, "a.test").await, 200);

    // A client trusting another CA refuses the certificate.
    let other = Ca::new("Another CA");
    assert!(
        connect(&modern(&other.pem, &[]), s.addr, "a.test")
            .await
            .is_err()
    );
    let _ = s.stop.send(());
    let _ = s.task.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_1_1_client_is_refused() {
    let up = Upstream::start().await;
    let ca = Ca::new("Portcullis test CA");
    let s = serve_with(&ca, &up, json!({}), json!({}));
    // A minimal TLS 1.1 ClientHello: version 3.2, two CBC suites, no extensions.
    let mut hello = vec![0x03, 0x02];
    hello.extend([7u8; 32]);
    hello.extend([0x00, 0x00, 0x04, 0xc0, 0x13, 0x00, 0x2f, 0x01, 0x00]);
    let mut handshake = vec![0x01, 0x00, 0x00, hello.len() as u8];
    handshake.extend(hello);
    let mut record = vec![0x16, 0x03, 0x01, 0x00, handshake.len() as u8];
    record.extend(handshake);
    let answer = client::raw(s.addr, &record).await;
    assert_ne!(
        answer.first(),
        Some(&0x16),
        "the server answered a handshake: {answer:?}"
    );
    assert!(up.seen().is_empty());
    let _ = s.stop.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_gets_through_over_https() {
    let up = Upstream::start().await;
    let ca = Ca::new("Portcullis test CA");
    let s = serve_with(&ca, &up, json!({}), json!({}));
    let ca_path = s.dir.join("ca.pem");
    std::fs::write(&ca_path, &ca.pem).expect("write ca");
    let port = s.addr.port();
    let resolve = format!("a.test:{port}:127.0.0.1");
    let url = format!("https://a.test:{port}{LIST}");
    let key = format!("x-api-key: {READER}");
    let resp = client::curl(&[
        "--cacert",
        &ca_path.display().to_string(),
        "--resolve",
        &resolve,
        "-H",
        &key,
        &url,
    ])
    .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(up.last().header("x-forwarded-proto"), "https");
    let _ = s.stop.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_certificate_is_served_and_a_broken_one_is_not() {
    let up = Upstream::start().await;
    let ca = Ca::new("Portcullis test CA");
    let s = serve_with(&ca, &up, json!({}), json!({}));
    // Renew only once the first certificates are loaded and served: a renewal racing the start
    // could be read half-written (new certificate, old key) and refuse the start.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while connect(&modern(&ca.pem, &[]), s.addr, "a.test")
        .await
        .is_err()
    {
        assert!(tokio::time::Instant::now() < deadline, "never served");
        pause().await;
    }
    let renewed = ca.write(&s.dir, "a.test");
    served_eventually(&s, &ca, "a.test", &renewed).await;

    // A certificate with another certificate's key, then an unparsable one: both ignored.
    let (_, other_key, _) = ca.issue("a.test");
    std::fs::write(s.dir.join("a.test.key"), other_key).expect("write key");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stream = connect(&modern(&ca.pem, &[]), s.addr, "a.test").await;
    assert_eq!(presented(&stream.expect("a.test")), renewed);
    std::fs::write(s.dir.join("a.test.pem"), "not a certificate").expect("write cert");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stream = connect(&modern(&ca.pem, &[]), s.addr, "a.test").await;
    assert_eq!(presented(&stream.expect("a.test")), renewed);
    let logs = logs::text();
    assert!(logs.contains("tls certificate reload failed"), "{logs}");
    assert!(
        logs.contains("a.test.pem"),
        "the error names the file: {logs}"
    );
    assert!(!logs.contains("PRIVATE KEY"), "no key material in logs");
    let status = client::get(&format!("http://{}/status", s.admin), &[])
        .await
        .json();
    let error = status["tls"][0]["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("a.test.pem"), "{status}");

    // A good pair again is served.
    let fixed = ca.write(&s.dir, "a.test");
    served_eventually(&s, &ca, "a.test", &fixed).await;
    let status = client::get(&format!("http://{}/status", s.admin), &[])
        .await
        .json();
    assert_eq!(status["tls"][0]["last_error"], Value::Null, "{status}");
    let _ = s.stop.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_certificate_at_start_refuses_to_serve() {
    let up = Upstream::start().await;
    let ca = Ca::new("Portcullis test CA");
    let dir = TempDir::new("tls");
    ca.write(&dir, "a.test");
    ca.write(&dir, "b.test");
    std::fs::write(dir.join("b.test.key"), "-----BEGIN PRIVATE KEY-----\n").expect("key");
    let settings = settings(&dir, &up, json!({}), json!({}));
    let s = start(dir, settings);
    let result = tokio::time::timeout(Duration::from_secs(15), s.task)
        .await
        .expect("serve returned")
        .expect("serve task");
    match result {
        Err(e @ ServeError::Tls { .. }) => {
            let message = e.to_string();
            assert!(message.contains("b.test.key"), "{message}");
        }
        other => panic!("expected a tls error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_plain_requests_and_a_body_share_one_http1_connection() {
    // The plain server takes the GETs; the POST's body hands the connection to hyper.
    let up = Upstream::start().await;
    let ca = Ca::new("Portcullis test CA");
    let s = serve_with(&ca, &up, json!({}), json!({}));
    let stream = connect(&modern(&ca.pem, &[b"http/1.1"]), s.addr, "a.test")
        .await
        .expect("handshake");
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("http1 handshake");
    tokio::spawn(conn);
    for (method, body) in [("GET", ""), ("POST", "a body"), ("GET", "")] {
        let req = Request::builder()
            .method(method)
            .uri(LIST)
            .header("host", "a.test")
            .header("x-api-key", ADMIN)
            .body(http_body_util::Full::new(Bytes::from(body)))
            .expect("request");
        // A response read does not yet make the connection ready for the next request.
        send.ready().await.expect("connection still usable");
        let resp = send.send_request(req).await.expect("response");
        assert_eq!(resp.status(), 200, "{method}");
        let got = resp.into_body().collect().await.expect("body").to_bytes();
        assert_eq!(&got[..], b"upstream says hello");
    }
    let seen: Vec<(String, Bytes, String)> = up
        .seen()
        .iter()
        .map(|r| {
            let proto = r.header("x-forwarded-proto").to_owned();
            (r.method.to_string(), r.body.clone(), proto)
        })
        .collect();
    let https = || "https".to_owned();
    assert_eq!(
        seen,
        [
            ("GET".into(), Bytes::new(), https()),
            ("POST".into(), Bytes::from("a body"), https()),
            ("GET".into(), Bytes::new(), https()),
        ]
    );
    let _ = s.stop.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_is_dropped_after_the_handshake_timeout() {
    let up = Upstream::start().await;
    let ca = Ca::new("Portcullis test CA");
    let s = serve_with(
        &ca,
        &up,
        json!({}),
        json!({ "tls_handshake_timeout_ms": 300 }),
    );
    let mut tcp = TcpStream::connect(s.addr).await.expect("connect");
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf))
        .await
        .expect("the server closed the silent connection");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    let _ = s.stop.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_sni_match_answers_421_to_another_host() {
    let up = Upstream::start().await;
    let ca = Ca::new("Portcullis test CA");
    let s = serve_with(&ca, &up, json!({ "require_sni_match": true }), json!({}));
    let c = modern(&ca.pem, &[]);
    let stream = connect(&c, s.addr, "a.test").await.expect("a.test");
    assert_eq!(get_h1(stream, "b.test").await, 421);
    let stream = connect(&c, s.addr, "a.test").await.expect("a.test");
    assert_eq!(get_h1(stream, "A.test:443").await, 200);
    assert_eq!(up.count(), 1, "the misdirected request was not forwarded");
    let _ = s.stop.send(());
}

/// A client trusting `ca_pem` and presenting `cert`/`key` (PEM).
fn client_with_cert(ca_pem: &str, cert: &str, key: &str) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).expect("ca pem"))
        .expect("trust ca");
    let chain = vec![CertificateDer::from_pem_slice(cert.as_bytes()).expect("client cert")];
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("client key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::DEFAULT_VERSIONS)
        .expect("versions")
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .expect("client cert");
    TlsConnector::from(Arc::new(config))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_requires_a_client_certificate_from_the_named_ca() {
    let up = Upstream::start().await;
    let (ca, clients, strangers) = (
        Ca::new("server CA"),
        Ca::new("client CA"),
        Ca::new("other CA"),
    );
    let dir = TempDir::new("mtls");
    ca.write(&dir, "a.test");
    ca.write(&dir, "b.test");
    std::fs::write(dir.join("clients.pem"), &clients.pem).expect("write client ca");
    let settings = settings(&dir, &up, json!({ "client_ca": "clients.pem" }), json!({}));
    let s = start(dir, settings);
    // With a certificate from the client CA: served.
    let (cert, key, _) = clients.issue("load-balancer");
    let stream = connect(&client_with_cert(&ca.pem, &cert, &key), s.addr, "a.test")
        .await
        .expect("handshake with a client certificate");
    assert_eq!(get_h1(stream, "a.test").await, 200);
    // Without one, or with another CA's: no request gets through.
    let (cert, key, _) = strangers.issue("intruder");
    for connector in [
        modern(&ca.pem, &[b"http/1.1"]),
        client_with_cert(&ca.pem, &cert, &key),
    ] {
        let refused = match connect(&connector, s.addr, "a.test").await {
            Err(_) => true,
            // TLS 1.3 clients learn of the refusal on their first read.
            Ok(mut stream) => {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let _ = stream
                    .write_all(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
                    .await;
                let mut buf = [0u8; 16];
                !matches!(stream.read(&mut buf).await, Ok(n) if n > 0)
            }
        };
        assert!(refused, "a client without a trusted certificate was served");
    }
    assert_eq!(up.count(), 1);
    let _ = s.stop.send(());
}

/// An HTTPS upstream presenting a certificate of `ca` for 127.0.0.1, answering `secure` to
/// every request and keeping the connection open; the count is of the connections it accepted.
async fn https_upstream(ca: &Ca) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    let (cert, key, _) = ca.issue("127.0.0.1");
    let chain = vec![CertificateDer::from_pem_slice(cert.as_bytes()).expect("cert")];
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = accepted.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                let Ok(mut tls) = acceptor.accept(s).await else {
                    return;
                };
                while client::read_head(&mut tls).await.is_some() {
                    let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nsecure";
                    if tls.write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (format!("https://127.0.0.1:{}", addr.port()), accepted)
}

/// `serve` on plain HTTP with `upstream_tls` in its settings, proxying to `upstream`.
fn serve_proxying(upstream: &str, upstream_tls: Value) -> (Served, std::path::PathBuf) {
    let dir = TempDir::new("https-upstream");
    policy::write(&dir.join("policy.json"), &policy::standard(upstream));
    let path = dir.join("portcullis.json");
    let mut s = json!({
        "listeners": [{ "address": "127.0.0.1:0" }],
        "policy": "policy.json",
        "reload": { "check_interval_ms": 0 },
        "log": { "access": { "format": "off" } }
    });
    if !upstream_tls.is_null() {
        s["upstream_tls"] = upstream_tls;
    }
    policy::write(&path, &s);
    let settings = Settings::load(&path).expect("settings");
    let ca = dir.join("ca.pem");
    (start(dir, settings), ca)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_upstreams_are_verified_against_the_configured_roots() {
    let ca = Ca::new("upstream CA");
    let (upstream, accepted) = https_upstream(&ca).await;
    let list = "/api/?module=indicator&action=list";
    // Trusting the upstream's CA: forwarded over TLS.
    let dir = TempDir::new("ca");
    std::fs::write(dir.join("ca.pem"), &ca.pem).expect("write ca");
    let ca_file = dir.join("ca.pem").display().to_string();
    let (s, _) = serve_proxying(&upstream, json!({ "ca_files": [ca_file] }));
    let r = client::get(
        &format!("http://{}{list}", s.addr),
        &[("x-api-key", READER)],
    )
    .await;
    assert_eq!((r.status, r.text()), (200, "secure".to_owned()));
    // Over TLS too, the kept-alive connection carries the next request.
    let r = client::get(
        &format!("http://{}{list}", s.addr),
        &[("x-api-key", READER)],
    )
    .await;
    assert_eq!((r.status, r.text()), (200, "secure".to_owned()));
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    let _ = s.stop.send(());
    // With the system roots only, the private CA is not trusted: 502, nothing sent in clear.
    let (s, _) = serve_proxying(&upstream, Value::Null);
    let r = client::get(
        &format!("http://{}{list}", s.addr),
        &[("x-api-key", READER)],
    )
    .await;
    client::assert_rejected(&r, 502, "upstream_unreachable");
    let _ = s.stop.send(());
    // An unreadable CA file refuses the start.
    let (s, _) = serve_proxying(&upstream, json!({ "ca_files": ["/nonexistent/ca.pem"] }));
    let result = tokio::time::timeout(Duration::from_secs(10), s.task)
        .await
        .expect("serve returned")
        .expect("task");
    assert!(
        matches!(result, Err(ServeError::UpstreamTls(_))),
        "{result:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_client_certificate_can_stand_for_a_key() {
    use sha2::Digest as _;
    let up = Upstream::start().await;
    let (ca, clients) = (Ca::new("server CA"), Ca::new("client CA"));
    let dir = TempDir::new("mtls-key");
    ca.write(&dir, "a.test");
    ca.write(&dir, "b.test");
    std::fs::write(dir.join("clients.pem"), &clients.pem).expect("write client ca");
    let settings = settings(&dir, &up, json!({ "client_ca": "clients.pem" }), json!({}));
    let (cert, key, der) = clients.issue("batch-job");
    let (other_cert, other_key, _) = clients.issue("unknown-job");
    let fingerprint = hex::encode(sha2::Sha256::digest(&der));
    let mut p = policy::standard(&up.url());
    p["keys"]["batch"] = policy::key(
        "batch-secret-0d9f8e7c6b5a4f3e",
        json!({ "indicator": ["list"] }),
        json!({ "client_certificate_sha256": fingerprint }),
    );
    let routes = p["routes"].as_array_mut().expect("routes");
    let linea21 = routes
        .iter_mut()
        .find(|r| r["id"] == "linea21-api")
        .expect("route");
    linea21["accept"] = json!(["api_key", "client_certificate"]);
    policy::write(&dir.join("policy.json"), &p);
    let s = start(dir, settings);
    let get = |connector: TlsConnector, path: &'static str| async move {
        let stream = connect(&connector, s.addr, "a.test")
            .await
            .expect("handshake");
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("http1");
        tokio::spawn(conn);
        let req = Request::get(path)
            .header("host", "a.test")
            .body(Empty::<Bytes>::new())
            .expect("request");
        send.send_request(req)
            .await
            .expect("response")
            .status()
            .as_u16()
    };
    let known = client_with_cert(&ca.pem, &cert, &key);
    assert_eq!(get(known.clone(), LIST).await, 200);
    let seen = up.last();
    assert_eq!(seen.header("x-portcullis-key-id"), "batch");
    assert_eq!(seen.header("x-portcullis-credential"), "client_certificate");
    // The key's grants still decide: no permission, no entry.
    assert_eq!(
        get(known.clone(), "/api/?module=level&action=delete").await,
        403
    );
    // A route that does not accept client certificates wants another credential.
    assert_eq!(get(known, "/api/v1/indicator/list").await, 401);
    // A certificate of the right CA that no key names is not a credential.
    let unknown = client_with_cert(&ca.pem, &other_cert, &other_key);
    assert_eq!(get(unknown, LIST).await, 401);
    assert_eq!(up.count(), 1);
}
