//! The upstream for `scripts/load.sh`: every request on 127.0.0.1:PORT gets `200` with the body
//! `{"ok":true}` (application/json). HTTP/1.1 and h2c with prior knowledge are told apart per
//! connection (hyper-util's `auto` builder). One thread (`current_thread` runtime), so its CPU
//! time per request can be read from one process. Prints nothing except errors.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

const BODY: &[u8] = br#"{"ok":true}"#;

async fn answer(_request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::new(Bytes::from_static(BODY)));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

fn main() {
    let port: u16 = match std::env::args().nth(1).map(|arg| arg.parse()) {
        Some(Ok(port)) => port,
        _ => {
            eprintln!("usage: load-upstream PORT");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap_or_else(|error| {
            eprintln!("load-upstream: runtime: {error}");
            std::process::exit(1);
        });
    runtime.block_on(serve(SocketAddr::from((Ipv4Addr::LOCALHOST, port))));
}

async fn serve(address: SocketAddr) {
    let listener = TcpListener::bind(address).await.unwrap_or_else(|error| {
        eprintln!("load-upstream: bind {address}: {error}");
        std::process::exit(1);
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http2().max_concurrent_streams(1024);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                eprintln!("load-upstream: accept: {error}");
                continue;
            }
        };
        // Ignored: it only fails on a closed socket, which the connection then reports.
        let _ = stream.set_nodelay(true);
        let builder = builder.clone();
        tokio::spawn(async move {
            // A peer that resets its connection is no error worth printing under load.
            let _ = builder
                .serve_connection(TokioIo::new(stream), service_fn(answer))
                .await;
        });
    }
}
