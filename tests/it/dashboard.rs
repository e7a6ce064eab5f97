//! The dashboard, rendered by a real headless Chromium (Debian's `chromium`): the page the admin
//! listener serves runs its script against the live gateway, and the rendered DOM — not the
//! HTML source — shows the generation and hash, the route table, key states, a recent denial
//! and an explained request. A screenshot is kept in the test's target tmp dir.

use std::path::PathBuf;

use crate::support::client;
use crate::support::policy::{self, EXPIRED, READER};
use crate::support::{Harness, Upstream};

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"].into_iter().find(|b| {
        std::process::Command::new(b)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Chromium's rendered DOM of `url`, after its scripts ran (virtual time), and a screenshot.
async fn render(browser: &str, url: &str, shot: &std::path::Path) -> String {
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--virtual-time-budget=5000",
        "--window-size=1400,1800",
    ];
    let dom = tokio::process::Command::new(browser)
        .args(common)
        .arg("--dump-dom")
        .arg(url)
        .output()
        .await
        .expect("run chromium");
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let png = tokio::process::Command::new(browser)
        .args(common)
        .arg(format!("--screenshot={}", shot.display()))
        .arg(url)
        .output()
        .await
        .expect("run chromium");
    assert!(
        png.status.success(),
        "{}",
        String::from_utf8_lossy(&png.stderr)
    );
    String::from_utf8(dom.stdout).expect("utf-8 DOM")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_renders_the_live_state_in_a_real_browser() {
    let Some(browser) = chromium() else {
        panic!("chromium is needed (apt-get install chromium; scripts/test.sh installs it)");
    };
    let up = Upstream::start().await;
    let gw = Harness::start(&policy::standard(&up.url())).await;
    let list = gw.url("/api/?module=indicator&action=list");
    client::get(&list, &[("x-api-key", READER)])
        .await
        .expect(200);
    let denied = client::get(&list, &[("x-api-key", EXPIRED)]).await;
    let rid = denied
        .header("x-request-id")
        .expect("request id")
        .to_owned();

    let source = client::get(&gw.admin_url("/dashboard"), &[]).await;
    assert_eq!(
        source.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(!source.text().contains(&rid), "the source holds no data");

    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    let url =
        gw.admin_url("/dashboard?path=/api/%3Fmodule%3Dindicator%26action%3Dlist&key_id=reader");
    let dom = render(browser, &url, &shot).await;
    let sha = gw.policy.status().sha256.expect("sha256");
    for want in [
        "<b id=\"generation\">1</b>",
        sha.as_str(),
        "policy ok",
        "linea21-api",
        "inbox-documents",
        "not_yet_valid",
        "credential_expired",
        rid.as_str(),
        "ALLOWED",
    ] {
        assert!(dom.contains(want), "{want} not rendered:\n{dom}");
    }
    assert!(
        !dom.contains(READER) && !dom.contains(EXPIRED),
        "no secret rendered"
    );
    let png = std::fs::metadata(&shot).expect("screenshot written");
    assert!(png.len() > 1000, "a real screenshot at {}", shot.display());
}
