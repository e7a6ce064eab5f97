//! Records grant access: while an authorisation record of a bound type is active, its subject
//! holds the bound role on its object; revocation and the end of the validity window take
//! effect on the very next proxied request, with no reload.

use http::Method;
use serde_json::{Value, json};

use crate::support::client::assert_rejected;
use crate::support::manage::*;
use crate::support::policy::now;
use portcullis::registry::instant;

const LIST: &str = "/api/rest/v1/authorisation";

fn grant(kind: &str, subject: (&str, &str), permit: &str, from: i64, to: i64) -> Value {
    json!({
        "authType": kind,
        "validFrom": instant::format(from),
        "validTo": instant::format(to),
        "subject": { "type": subject.0, "value": subject.1 },
        "object": { "type": "Permit", "value": permit }
    })
}

/// Create a record (as the full-rights client) granting `kind` from `from` to `to`.
async fn record(
    mg: &Mg,
    kind: &str,
    subject: (&str, &str),
    permit: &str,
    from: i64,
    to: i64,
) -> String {
    let r = mg
        .as_client(
            root(),
            Method::POST,
            LIST,
            &[],
            Some(&grant(kind, subject, permit, from, to)),
        )
        .await;
    r.expect(201);
    r.json()["id"].as_str().unwrap().to_owned()
}

async fn file(mg: &Mg, auth: (&str, &str), permit: &str) -> crate::support::client::Resp {
    mg.call(Method::POST, &format!("/permits/{permit}"), &[auth], None)
        .await
}

#[tokio::test]
async fn a_record_grants_its_role_on_its_object_until_revoked() {
    let mg = Mg::start().await;
    let token = mg.login(FILER, FILER_PW).await;
    let bearer = format!("Bearer {token}");
    let auth = ("authorization", bearer.as_str());
    assert_rejected(&file(&mg, auth, "P-1").await, 403, "permission_denied");
    let t = now();
    let id = record(
        &mg,
        "file_for_permit",
        ("User", FILER),
        "P-1",
        t - 60,
        t + 3600,
    )
    .await;
    file(&mg, auth, "P-1").await.expect(200);
    assert_eq!(mg.upstream.last().header("x-portcullis-user"), FILER);
    // Only on its object.
    assert_rejected(&file(&mg, auth, "P-2").await, 403, "permission_denied");
    // Revoked: refused on the very next request.
    let generation = mg.harness.generation();
    mg.as_client(
        root(),
        Method::POST,
        &format!("{LIST}/{id}/revoke"),
        &[],
        None,
    )
    .await
    .expect(200);
    assert_eq!(
        mg.harness.generation(),
        generation + 1,
        "the write bumps the generation"
    );
    assert_rejected(&file(&mg, auth, "P-1").await, 403, "permission_denied");
}

#[tokio::test]
async fn the_validity_window_is_judged_at_each_request() {
    let mg = Mg::start().await;
    let token = mg.login(FILER, FILER_PW).await;
    let bearer = format!("Bearer {token}");
    let auth = ("authorization", bearer.as_str());
    let t = now();
    record(
        &mg,
        "file_for_permit",
        ("User", FILER),
        "P-9",
        t + 100,
        t + 200,
    )
    .await;
    assert_rejected(&file(&mg, auth, "P-9").await, 403, "permission_denied");
    mg.harness.clock.set(t + 150);
    file(&mg, auth, "P-9").await.expect(200);
    mg.harness.clock.set(t + 200);
    assert_rejected(&file(&mg, auth, "P-9").await, 403, "permission_denied");
}

#[tokio::test]
async fn key_subjects_and_unbound_types() {
    let mg = Mg::start().await;
    let k = mg.key_setup(None).await;
    let auth = ("x-api-key", k.token.as_str());
    let t = now();
    // A type the policy does not bind grants nothing.
    record(&mg, "employment", ("ApiKey", &k.id), "P-5", t - 1, t + 60).await;
    assert_rejected(&file(&mg, auth, "P-5").await, 403, "permission_denied");
    // A bound type naming the key (by id) as its subject.
    record(
        &mg,
        "file_for_permit",
        ("ApiKey", &k.id),
        "P-5",
        t - 1,
        t + 60,
    )
    .await;
    file(&mg, auth, "P-5").await.expect(200);
    // A `User` record naming the key's placeholder user holds for the key too.
    record(
        &mg,
        "file_for_permit",
        ("User", &k.user),
        "P-6",
        t - 1,
        t + 60,
    )
    .await;
    file(&mg, auth, "P-6").await.expect(200);
    // But a `User` record does not match a key id, nor a key record a user.
    record(
        &mg,
        "file_for_permit",
        ("User", &k.id),
        "P-7",
        t - 1,
        t + 60,
    )
    .await;
    assert_rejected(&file(&mg, auth, "P-7").await, 403, "permission_denied");
}
