//! A catch-all route (`/cat/{*rest}`) whose base comes from SeaTable's path shapes
//! (`"seatable_base": "rest"`): a base token passes on its own base's URLs in every shape, and is
//! refused on another base's, on a path with no recognizable base uuid and on tricks, none of
//! which reach the upstream.

use serde_json::json;

use crate::support::client::assert_rejected;
use crate::support::seatable::keys::{self, DTABLE_SECRET};
use crate::support::seatable::*;

#[tokio::test]
async fn the_path_base_must_be_the_token_base() {
    let gw = Gw::start_with(|p| seatable_interop(p, "portcullis")).await;
    let acct = gw.account_token(ALICE);
    let portcullis = gw.base_token(&acct).await;
    let c = keys::dtable_web_base("u1@auth.local", None, SALES, "rw", gw.now() + 600);
    let seatable = keys::hs256(None, DTABLE_SECRET, &c);
    for token in [&portcullis, &seatable] {
        for path in [
            format!("/cat/api/v1/dtables/{SALES}/rows/?table_name=Table1"),
            format!("/cat/api/v2/dtables/{SALES}/rows/"),
            format!("/cat/dtables/{SALES}/"),
            format!("/cat/dtables/{SALES}"),
        ] {
            let before = gw.upstream.count();
            gw.get(&path, Some(token)).await.expect(200);
            assert_eq!(gw.upstream.count(), before + 1, "{path}");
            let seen = gw.upstream.last();
            assert_eq!(seen.header("x-portcullis-resource-base"), SALES, "{path}");
        }
        gw.post_json(
            &format!("/cat/api/v1/dtables/{SALES}/rows/"),
            token,
            &json!({}),
        )
        .await
        .expect(200);
        for (path, code) in [
            (format!("/cat/api/v1/dtables/{OTHER}/rows/"), "out_of_scope"),
            ("/cat/ping/".to_owned(), "out_of_scope"),
            ("/cat/api/v1/dtables/".to_owned(), "out_of_scope"),
            (
                format!("/cat/api/v1/dtables/{}/rows/", SALES.to_uppercase()),
                "out_of_scope",
            ),
            (
                format!("/cat/api/v1/dtables/{SALES}x/rows/"),
                "out_of_scope",
            ),
            (
                format!("/cat/x/api/v1/dtables/{SALES}/rows/"),
                "out_of_scope",
            ),
            (format!("/cat/api/v3/dtables/{SALES}/rows/"), "out_of_scope"),
        ] {
            let before = gw.upstream.count();
            assert_rejected(&gw.get(&path, Some(token)).await, 403, code);
            assert_eq!(gw.upstream.count(), before, "{path} reached the upstream");
        }
        // Dot segments are resolved (or refused) before routing: never the other base.
        let before = gw.upstream.count();
        let path = format!("/cat/api/v1/dtables/{SALES}/../{OTHER}/rows/");
        let r = gw.get(&path, Some(token)).await;
        assert_ne!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(gw.upstream.count(), before, "{path} reached the upstream");
    }
    // No credential: still refused (the route needs a base token).
    let r = gw.get(&format!("/cat/dtables/{SALES}/"), None).await;
    assert_rejected(&r, 401, "missing_credential");
}
