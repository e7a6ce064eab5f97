//! The shadow policy: decided beside the live one for every request, never answered from;
//! disagreements are counted by route and by (live, shadow) outcome and logged with both, for a
//! known pair of policies; a reloaded shadow is decided from then on.

use serde_json::json;

use crate::support::client;
use crate::support::policy::{self, ADMIN, READER};
use crate::support::{Harness, Options, Upstream, logs};

fn disagreements(text: &str, route: &str, live: &str, shadow: &str) -> Option<f64> {
    let series = format!(
        "portcullis_shadow_disagreements_total{{route=\"{route}\",live=\"{live}\",shadow=\"{shadow}\"}} "
    );
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .map(|v| v.parse().expect("a number"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disagreements_are_counted_and_logged_and_never_answered() {
    let up = Upstream::start().await;
    let live = policy::standard(&up.url());
    // The candidate takes `indicator list` from the reader's role, and adds a route.
    let mut candidate = live.clone();
    candidate["roles"]["indicator-reader"] = json!({ "indicator": ["info"], "level": ["list"] });
    let gw = Harness::start_with(
        &live,
        Options {
            shadow: Some(candidate.clone()),
            ..Options::default()
        },
    )
    .await;
    let list = gw.url("/api/?module=indicator&action=list");
    for _ in 0..3 {
        // The live policy answers: allowed, whatever the shadow says.
        client::get(&list, &[("x-api-key", READER)])
            .await
            .expect(200);
    }
    client::get(&list, &[("x-api-key", ADMIN)])
        .await
        .expect(200);
    client::get(&gw.url("/admin/"), &[]).await.expect(404);
    let r = client::get(&list, &[("x-api-key", READER)]).await;
    let rid = r.header("x-request-id").expect("request id").to_owned();

    let text = gw.metrics().await;
    assert_eq!(
        disagreements(&text, "linea21-api", "allow", "permission_denied"),
        Some(4.0),
        "{text}"
    );
    assert!(
        text.contains("portcullis_shadow_decisions_total 6\n"),
        "every decided request: {text}"
    );
    assert_eq!(
        text.matches("portcullis_shadow_disagreements_total{")
            .count(),
        1,
        "agreements are not counted: {text}"
    );
    let logged =
        logs::wait_for(|t| t.contains(&rid) && t.contains("shadow policy disagrees")).await;
    let line = logged
        .lines()
        .find(|l| l.contains(&rid) && l.contains("shadow policy disagrees"))
        .expect("a disagreement line");
    for part in [
        "live=\"allow\"",
        "shadow=\"permission_denied\"",
        "route=\"linea21-api\"",
    ] {
        assert!(line.contains(part), "{part} in {line}");
    }

    // Promote nothing, fix the candidate: it agrees from the next reload on.
    let shadow = gw.shadow.as_ref().expect("shadow reloader");
    policy::write(&shadow.path, &live);
    shadow.reload_async().await;
    client::get(&list, &[("x-api-key", READER)])
        .await
        .expect(200);
    let text = gw.metrics().await;
    assert_eq!(
        disagreements(&text, "linea21-api", "allow", "permission_denied"),
        Some(4.0),
        "{text}"
    );
    let status = client::get(&gw.admin_url("/status"), &[]).await.json();
    assert_eq!(status["shadow"]["generation"], 2, "{status}");
    assert_eq!(status["shadow"]["sha256"], status["sha256"], "{status}");
}
