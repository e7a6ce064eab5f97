//! Base tokens Portcullis mints in SeaTable's shape (a base with `"token_shape": "seatable"`):
//! HS256 without `kid`, signed with `DTABLE_PRIVATE_KEY`, carrying dtable-server's claim names,
//! so they verify as dtable-server verifies them; and the gateway accepts them back. Also the
//! policy errors around SeaTable keys.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use portcullis::reload::Outcome;
use serde_json::{Value, json};

use crate::support::seatable::keys::{self, DTABLE_SECRET};
use crate::support::seatable::*;

/// Verify `token` as dtable-server does: the shared secret, HS256, `exp` checked.
fn dtable_server_verify(token: &str) -> Value {
    portcullis::token::crypto::install();
    let mut v = Validation::new(Algorithm::HS256);
    v.required_spec_claims = ["exp".to_owned()].into();
    v.leeway = 0;
    jsonwebtoken::decode::<Value>(
        token,
        &DecodingKey::from_secret(DTABLE_SECRET.as_bytes()),
        &v,
    )
    .expect("dtable-server accepts the token")
    .claims
}

#[tokio::test]
async fn minted_tokens_verify_as_dtable_server_verifies_them() {
    let gw = Gw::start_with(|p| seatable_interop(p, "seatable")).await;
    let api = gw.api_token(SALES_NAME, "sync", "rw").await;
    let token = gw.base_token_from(&api).await;
    let (header, _) = keys::peek(&token);
    assert_eq!(header, json!({"typ": "JWT", "alg": "HS256"}));
    let c = dtable_server_verify(&token);
    assert_eq!(c["dtable_uuid"], SALES);
    assert_eq!(c["permission"], "rw");
    assert_eq!(c["username"], "");
    assert_eq!(c["app_name"], "sync");
    assert_eq!(c["owner_id"], ALICE);
    assert_eq!(
        (c["org_id"].clone(), c["id_in_org"].clone()),
        (json!(-1), json!(""))
    );
    assert!(c["user_department_ids_map"].is_object(), "{c}");
    assert!(c["exp"].is_i64(), "{c}");
    assert_eq!(c["exp"].as_i64().unwrap(), gw.now() + 3 * 86400);
    assert!(c["src"].as_str().unwrap().starts_with("api:api-"), "{c}");
    for gone in ["kind", "sub"] {
        assert!(c.get(gone).is_none(), "{gone} in {c}");
    }
    // Another secret does not verify it.
    let wrong = DecodingKey::from_secret(b"another-secret-0123456789abcdef!!");
    assert!(
        jsonwebtoken::decode::<Value>(&token, &wrong, &Validation::new(Algorithm::HS256)).is_err()
    );
    // The gateway accepts its own SeaTable-shaped token.
    gw.rows(SALES, &token).await.expect(200);
    gw.get(&std_rows_path(SALES), Some(&token))
        .await
        .expect(200);

    // From an account token: the user's name and permission.
    let token = gw.base_token(&gw.account_token(BOB)).await;
    let c = dtable_server_verify(&token);
    assert_eq!(
        (c["username"].clone(), c["permission"].clone()),
        (json!(BOB), json!("r"))
    );
    assert!(c.get("app_name").is_none(), "{c}");

    // The other base keeps Portcullis' shape.
    let api = gw.api_token(OTHER_NAME, "sync", "rw").await;
    let token = gw.base_token_from(&api).await;
    assert_eq!(keys::kid_of(&token), "base-1");
}

/// A policy edit.
type Edit = Box<dyn FnOnce(&mut Value)>;

#[tokio::test]
async fn seatable_key_policy_errors() {
    let gw = Gw::start().await;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "seatable token shape without a SeaTable key",
            Box::new(|p| p["bases"][SALES]["token_shape"] = json!("seatable")),
            "token_shape",
        ),
        (
            "a SeaTable key with a use",
            Box::new(|p| {
                p["signing_keys"]["dtable"] = json!({"shape": "seatable", "use": "base",
                    "alg": "HS256", "secret": {"env": "DTABLE_PRIVATE_KEY"}})
            }),
            "a SeaTable key has no `use`",
        ),
        (
            "an EdDSA SeaTable key",
            Box::new(|p| {
                p["signing_keys"]["dtable"] = json!({"shape": "seatable", "alg": "EdDSA",
                    "public_key": {"inline": keys::ED_PUBLIC}})
            }),
            "HS256",
        ),
        (
            "a Portcullis key without a use",
            Box::new(|p| {
                p["signing_keys"]["x"] = json!({"alg": "HS256",
                    "secret": {"env": "DTABLE_PRIVATE_KEY"}})
            }),
            "expected `use`",
        ),
        (
            "seatable_base naming no capture",
            Box::new(|p| {
                seatable_interop(p, "portcullis");
                let routes = p["routes"].as_array_mut().unwrap();
                let last = routes.last_mut().unwrap();
                last["resources"]["base"] = json!({"seatable_base": "tail"});
            }),
            "the path template has no `{tail}`",
        ),
    ];
    for (label, edit, expected) in cases {
        let original = std::fs::read_to_string(gw.policy_file()).unwrap();
        match gw.try_edit(edit).await {
            Outcome::Rejected(errors) => {
                let text = errors.to_string();
                assert!(text.contains(expected), "{label}: {text}");
                assert!(!text.contains(DTABLE_SECRET), "{label}: secret in {text}");
            }
            other => panic!("{label}: {other:?}"),
        }
        // Put the valid policy back for the next case.
        let valid: Value = serde_json::from_str(&original).unwrap();
        let back = gw.try_edit(|p| *p = valid).await;
        assert!(matches!(back, Outcome::Unchanged), "{label}: {back:?}");
    }
}
