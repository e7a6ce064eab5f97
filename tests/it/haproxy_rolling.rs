//! A rolling restart of two gateways behind a real HAProxy (Debian's package) under continuous
//! load loses no request: each gateway, on SIGTERM, turns `/readyz` to 503 (HAProxy's health
//! check takes it out), keeps serving through its grace period, then drains and exits 0; the
//! restarted one comes back into rotation before the other is stopped.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use http::Method;
use serde_json::json;
use tokio::process::{Child, Command};

use crate::support::client;
use crate::support::policy::{self, ADMIN};
use crate::support::ports::free_port;
use crate::support::tmp::TempDir;
use crate::support::{Upstream, cli};

/// One gateway process: settings in `dir`, public `port`, admin `admin`.
fn gateway(dir: &Path, name: &str, port: u16, admin: u16) -> Child {
    let settings = dir.join(format!("{name}.json"));
    policy::write(
        &settings,
        &json!({
            "listeners": [{ "address": format!("127.0.0.1:{port}") }],
            "admin": { "address": format!("127.0.0.1:{admin}") },
            "workers": 1,
            "policy": "policy.json",
            "limits": { "shutdown_grace_ms": 1500, "drain_timeout_ms": 5000 },
            "log": { "level": "warn" }
        }),
    );
    Command::new(cli::bin())
        .args(["serve", "--config", cli::s(&settings)])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn portcullis")
}

async fn ready(admin: u16) {
    let url = format!("http://127.0.0.1:{admin}/readyz");
    for _ in 0..200 {
        if let Ok(r) = client::h1().get(url.parse().expect("url")).await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("gateway on admin port {admin} never became ready");
}

async fn terminate(child: &mut Child) {
    let pid = child.id().expect("pid").to_string();
    let st = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill");
    assert!(st.success());
    let code = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("exited after draining")
        .expect("wait");
    assert!(code.success(), "exit status {code}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_behind_haproxy_loses_no_request() {
    let up = Upstream::start().await;
    let dir = TempDir::new("rolling");
    policy::write(&dir.join("policy.json"), &policy::standard(&up.url()));
    let (p1, a1, p2, a2, front) = (
        free_port(),
        free_port(),
        free_port(),
        free_port(),
        free_port(),
    );
    let mut g1 = gateway(dir.path(), "g1", p1, a1);
    let mut g2 = gateway(dir.path(), "g2", p2, a2);
    ready(a1).await;
    ready(a2).await;
    let conf = format!(
        "global\n  maxconn 256\n\
         defaults\n  mode http\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n\
           retries 3\n  option redispatch 1\n  retry-on conn-failure\n\
         frontend in\n  bind 127.0.0.1:{front}\n  default_backend gateways\n\
         backend gateways\n  balance roundrobin\n  option httpchk GET /readyz\n\
           default-server inter 200ms fall 1 rise 2\n\
           server g1 127.0.0.1:{p1} check port {a1}\n\
           server g2 127.0.0.1:{p2} check port {a2}\n"
    );
    let conf_path = dir.join("haproxy.cfg");
    std::fs::write(&conf_path, conf).expect("write haproxy.cfg");
    let haproxy_bin = if Path::new("/usr/sbin/haproxy").exists() {
        "/usr/sbin/haproxy"
    } else {
        "haproxy"
    };
    let mut haproxy = Command::new(haproxy_bin)
        .args(["-db", "-f", cli::s(&conf_path)])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("run haproxy (apt-get install haproxy)");
    let url = format!("http://127.0.0.1:{front}/api/?module=indicator&action=list");
    let mut up_front = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", front))
            .await
            .is_ok()
            && client::get(&url, &[("x-api-key", ADMIN)]).await.status == 200
        {
            up_front = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if !up_front {
        let _ = haproxy.kill().await;
        let check = std::process::Command::new(haproxy_bin)
            .args(["-c", "-f", cli::s(&conf_path)])
            .output()
            .expect("haproxy -c");
        panic!(
            "haproxy did not serve: {}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
    // Continuous load through HAProxy: two clients, keep-alive, until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let (sent, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut load = Vec::new();
    for _ in 0..2 {
        let (stop, sent, failed, url) = (stop.clone(), sent.clone(), failed.clone(), url.clone());
        load.push(tokio::spawn(async move {
            let c = client::h1();
            while !stop.load(Ordering::Relaxed) {
                let req =
                    client::request(Method::GET, &url, &[("x-api-key", ADMIN)], client::full(""));
                let r = client::send(&c, req).await;
                sent.fetch_add(1, Ordering::Relaxed);
                if r.status != 200 {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    terminate(&mut g1).await;
    g1 = gateway(dir.path(), "g1", p1, a1);
    ready(a1).await;
    tokio::time::sleep(Duration::from_millis(800)).await; // HAProxy: rise 2 × 200 ms
    terminate(&mut g2).await;
    g2 = gateway(dir.path(), "g2", p2, a2);
    ready(a2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for l in load {
        l.await.expect("load task");
    }
    let (sent, failed) = (sent.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    assert!(sent > 200, "too little load to mean anything: {sent}");
    assert_eq!(
        failed, 0,
        "{failed} of {sent} requests failed during the rolling restart"
    );
    let _ = haproxy.kill().await;
    let _ = g1.kill().await;
    let _ = g2.kill().await;
}
