//! Trivore authorisation records over onePortal's paths: create (with the real client's
//! `authType` and `null` read-only fields), get, update, revoke with and without a body, delete,
//! SCIM-filtered and paged listing, the subject listings, namespaces and `If-Match`.

use http::Method;
use serde_json::{Value, json};

use crate::support::client::assert_rejected;
use crate::support::manage::*;

const LIST: &str = "/api/rest/v1/authorisation";

fn record(kind: &str, subject: &str, object: &str) -> Value {
    json!({
        "type": kind,
        "validFrom": "2022-05-23T13:03:21.711Z",
        "validTo": "2099-06-23T13:03:21.711Z",
        "subject": { "type": "User", "value": subject },
        "object": { "type": "User", "value": object }
    })
}

async fn create(mg: &Mg, who: (&str, &str), body: &Value) -> Value {
    let r = mg.as_client(who, Method::POST, LIST, &[], Some(body)).await;
    r.expect(201);
    assert!(r.header("etag").is_some());
    r.json()
}

#[tokio::test]
async fn create_get_update_revoke_delete() {
    let mg = Mg::start().await;
    let made = create(
        &mg,
        root(),
        &record(
            "file_for_permit",
            "58cfb7353874e103fc81ec5f",
            "5a325c543874e16a85710c5e",
        ),
    )
    .await;
    let id = made["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 24);
    assert_eq!(made["type"], "file_for_permit");
    assert_eq!(made["authType"], "file_for_permit");
    assert_eq!(made["nsCode"], "root", "the client's default namespace");
    assert_eq!(
        made["creator"],
        json!({ "type": "ManagementApiClient", "id": CLIENT })
    );
    assert_eq!(made["revoked"], false);
    assert_eq!(made["active"], true);
    assert_eq!(made["effectiveValidTo"], "2099-06-23T13:03:21.711Z");
    assert!(made["meta"]["created"].is_string() && made["meta"]["lastModified"].is_string());

    let one = format!("{LIST}/{id}");
    let got = mg.as_client(root(), Method::GET, &one, &[], None).await;
    got.expect(200);
    assert_eq!(got.json(), made);
    let tag = got.header("etag").unwrap().to_owned();

    // The real client's update: authType, and every read-only field as null.
    let update = json!({
        "id": null, "authType": "employment", "meta": null, "creator": null, "revoked": null,
        "validFrom": null, "validTo": "2098-01-01T00:00:00Z", "nsCode": null,
        "subject": { "type": "User", "value": "58cfb7353874e103fc81ec5f" },
        "object": { "type": "String", "value": "acme" }
    });
    let r = mg
        .as_client(
            root(),
            Method::PUT,
            &one,
            &[("if-match", &tag)],
            Some(&update),
        )
        .await;
    r.expect(200);
    let updated = r.json();
    assert_eq!(updated["type"], "employment");
    assert_eq!(
        updated["validFrom"], "2022-05-23T13:03:21.711Z",
        "null is not a clear"
    );
    assert_eq!(updated["validTo"], "2098-01-01T00:00:00Z");
    assert_eq!(updated["creator"]["id"], CLIENT);
    assert_eq!(updated["object"]["value"], "acme");
    // The tag read before the update is stale.
    let r = mg
        .as_client(
            root(),
            Method::PUT,
            &one,
            &[("if-match", &tag)],
            Some(&update),
        )
        .await;
    r.expect(412);
    assert!(r.json()["errorMessage"].is_string());

    // Revoke as the real client does, without a body; again with a cause (stays as it was).
    let r = mg
        .as_client(root(), Method::POST, &format!("{one}/revoke"), &[], None)
        .await;
    r.expect(200);
    let revoked = r.json();
    assert_eq!(revoked["revoked"], true);
    assert_eq!(revoked["active"], false);
    assert!(revoked["revokedAt"].is_string());
    assert_eq!(revoked["effectiveValidTo"], revoked["revokedAt"]);
    let r = mg
        .as_client(
            root(),
            Method::POST,
            &format!("{one}/revoke"),
            &[],
            Some(&json!({ "cause": "Unnecessary" })),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["revokedAt"], revoked["revokedAt"]);

    let r = mg.as_client(root(), Method::DELETE, &one, &[], None).await;
    r.expect(204);
    let r = mg.as_client(root(), Method::GET, &one, &[], None).await;
    r.expect(404);
    assert_eq!(r.json()["errorMessage"], "Authorisation not found");
}

#[tokio::test]
async fn revocation_details_keep_the_cause() {
    let mg = Mg::start().await;
    let made = create(&mg, root(), &record("t", "s", "o")).await;
    let r = mg
        .as_client(
            root(),
            Method::POST,
            &format!("{LIST}/{}/revoke", made["id"].as_str().unwrap()),
            &[],
            Some(&json!({ "cause": "Unnecessary" })),
        )
        .await;
    r.expect(200);
    assert_eq!(
        r.json()["revocationDetails"],
        json!({ "cause": "Unnecessary" })
    );
}

#[tokio::test]
async fn bad_input_is_400_and_stores_nothing() {
    let mg = Mg::start().await;
    let mut bad_date = record("t", "s", "o");
    bad_date["validTo"] = json!("next tuesday");
    let mut no_subject = record("t", "s", "o");
    no_subject.as_object_mut().unwrap().remove("subject");
    let mut unknown = record("t", "s", "o");
    unknown["colour"] = json!("blue");
    let mut inverted = record("t", "s", "o");
    inverted["validFrom"] = json!("2100-01-01T00:00:00Z");
    for body in [bad_date, no_subject, unknown, inverted, json!([1, 2])] {
        let r = mg
            .as_client(root(), Method::POST, LIST, &[], Some(&body))
            .await;
        r.expect(400);
        assert!(r.json()["errorMessage"].is_string(), "{}", r.text());
    }
    assert!(mg.managed_file().is_empty(), "{}", mg.managed_file());
}

#[tokio::test]
async fn namespaces_fence_every_call() {
    let mg = Mg::start().await;
    let mine = create(&mg, root(), &record("t", "s", "o")).await;
    let id = mine["id"].as_str().unwrap();
    let other = (OTHER_CLIENT, OTHER_SECRET);
    let theirs = create(&mg, other, &record("t", "s2", "o2")).await;
    assert_eq!(theirs["nsCode"], "other");
    // Another namespace's record is not found, in every verb.
    for m in [Method::GET, Method::DELETE] {
        mg.as_client(other, m, &format!("{LIST}/{id}"), &[], None)
            .await
            .expect(404);
    }
    mg.as_client(
        other,
        Method::POST,
        &format!("{LIST}/{id}/revoke"),
        &[],
        None,
    )
    .await
    .expect(404);
    // Writing into a namespace the client does not hold.
    let mut body = record("t", "s", "o");
    body["nsCode"] = json!("root");
    let r = mg
        .as_client(other, Method::POST, LIST, &[], Some(&body))
        .await;
    r.expect(403);
    // Lists show one's own namespaces; the view client sees both but may not write.
    let mg = &mg;
    let list = |who| async move { mg.as_client(who, Method::GET, LIST, &[], None).await.json() };
    assert_eq!(list(root()).await["totalResults"], 1);
    assert_eq!(list(other).await["totalResults"], 1);
    assert_eq!(list((VIEW_CLIENT, VIEW_SECRET)).await["totalResults"], 2);
    let r = mg
        .as_client(
            (VIEW_CLIENT, VIEW_SECRET),
            Method::POST,
            LIST,
            &[],
            Some(&record("t", "s", "o")),
        )
        .await;
    assert_rejected(&r, 403, "permission_denied");
    assert!(r.json()["errorMessage"].is_string());
}

#[tokio::test]
async fn listing_filters_and_pages() {
    let mg = Mg::start().await;
    for (n, kind) in ["file_for_permit", "employment", "employment"]
        .iter()
        .enumerate()
    {
        let mut body = record(kind, &format!("subject-{n}"), "o");
        body["validFrom"] = json!(format!("2022-0{}-01T00:00:00Z", n + 1));
        create(&mg, root(), &body).await;
    }
    let mg = &mg;
    let get = |q: &'static str| async move {
        let r = mg
            .as_client(root(), Method::GET, &format!("{LIST}{q}"), &[], None)
            .await;
        r.expect(200);
        r.json()
    };
    let all = get("").await;
    assert_eq!(all["totalResults"], 3);
    assert_eq!(all["startIndex"], 0);
    assert_eq!(all["itemsPerPage"], 20);
    // The real client's spacing, with `+` for spaces.
    let f = get("?filter=(nsCode+eq+%22root%22)++and++(authType+eq+%22employment%22)").await;
    assert_eq!(f["totalResults"], 2);
    let f = get(
        "?filter=subject.value%20sw%20%22subject-%22%20and%20not%20(type%20eq%20%22employment%22)",
    )
    .await;
    assert_eq!(f["totalResults"], 1);
    assert_eq!(f["resources"][0]["type"], "file_for_permit");
    // Instants compared as instants, whatever their spelling.
    let f = get("?filter=validFrom+gt+%222022-01-01T02:00:00%2B02:00%22").await;
    assert_eq!(f["totalResults"], 2, "{f}");
    // Pages, 0-based.
    let p = get("?startIndex=1&count=1").await;
    assert_eq!(p["totalResults"], 3);
    assert_eq!(p["startIndex"], 1);
    assert_eq!(p["itemsPerPage"], 1);
    assert_eq!(p["resources"].as_array().unwrap().len(), 1);
    assert_eq!(p["resources"][0]["id"], all["resources"][1]["id"]);
    // Malformed filters say where.
    for q in [
        "?filter=nsCode+eqq+%22root%22",
        "?filter=(nsCode+eq+%22root%22",
        "?filter=colour+eq+1",
        "?count=many",
    ] {
        let r = mg
            .as_client(root(), Method::GET, &format!("{LIST}{q}"), &[], None)
            .await;
        r.expect(400);
        assert!(r.json()["errorMessage"].is_string(), "{q}: {}", r.text());
    }
}

#[tokio::test]
async fn a_subjects_authorisations_by_get_and_by_filter_body() {
    let mg = Mg::start().await;
    let s = "58cfb7353874e103fc81ec5f";
    let a = create(&mg, root(), &record("file_for_permit", s, "o1")).await;
    let b = create(&mg, root(), &record("file_for_permit", s, "o2")).await;
    create(
        &mg,
        root(),
        &record("file_for_permit", "someone-else", "o3"),
    )
    .await;
    mg.as_client(
        root(),
        Method::POST,
        &format!("{LIST}/{}/revoke", b["id"].as_str().unwrap()),
        &[],
        None,
    )
    .await
    .expect(200);
    let path = format!("/api/rest/v1/user/{s}/authorisation/subject");
    let r = mg.as_client(root(), Method::GET, &path, &[], None).await;
    r.expect(200);
    assert_eq!(r.json()["totalResults"], 2);
    let r = mg
        .as_client(
            root(),
            Method::POST,
            &path,
            &[],
            Some(&json!({ "active": true })),
        )
        .await;
    r.expect(200);
    let page = r.json();
    assert_eq!(page["totalResults"], 1);
    assert_eq!(page["resources"][0]["id"], a["id"]);
    let r = mg
        .as_client(
            root(),
            Method::POST,
            &path,
            &[],
            Some(&json!({ "colour": "blue" })),
        )
        .await;
    r.expect(400);
}
