//! `last_access` in the API token listing: the last time the token obtained a base token on this
//! node (its creation time until then), kept across reloads.

use serde_json::Value;

use crate::support::seatable::*;

async fn listed(gw: &Gw, app: &str) -> Value {
    let r = gw
        .get(
            &base_path(SALES_NAME, "api-tokens/"),
            Some(&gw.account_token(ALICE)),
        )
        .await;
    r.expect(200);
    let list = r.json();
    list["api_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["app_name"] == app)
        .cloned()
        .unwrap_or_else(|| panic!("{app} not in {list}"))
}

fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[tokio::test]
async fn last_access_is_the_last_exchange() {
    let gw = Gw::start().await;
    let created_at = gw.now();
    let api = gw.api_token(SALES_NAME, "sync", "rw").await;
    let t = listed(&gw, "sync").await;
    assert_eq!(t["last_access"], t["generated_at"]);
    assert_eq!(t["generated_at"], rfc3339(created_at));

    gw.advance(120);
    gw.base_token_from(&api).await;
    assert_eq!(
        listed(&gw, "sync").await["last_access"],
        rfc3339(created_at + 120)
    );

    // Using the base token is not an exchange; a refused exchange is not either.
    gw.advance(60);
    let _ = gw.app_access("0".repeat(40).as_str()).await;
    assert_eq!(
        listed(&gw, "sync").await["last_access"],
        rfc3339(created_at + 120)
    );
    gw.base_token_from(&api).await;
    let t = listed(&gw, "sync").await;
    assert_eq!(t["last_access"], rfc3339(created_at + 180));
    assert_eq!(t["generated_at"], rfc3339(created_at));

    // Kept across a reload (it lives outside the snapshot).
    gw.edit(|p| p["users"][MALLORY]["disabled"] = serde_json::json!(true))
        .await;
    assert_eq!(
        listed(&gw, "sync").await["last_access"],
        rfc3339(created_at + 180)
    );
}
