"""Trivore onePortal authorisation records (issue #7) through the gateway.

The real client is `trivoreid-extension` from PyPI (module `trivoreid`; it does not declare
`requests`, which is installed beside it). Its authorisation API, read from its source:

- `TrivoreID(server=..., client_id=..., client_secret=...)` → HTTP Basic on every call;
  `.authorization_service` is an `AuthorisationService`.
- `create(Authorisation)` POSTs `Authorisation.serialize()` (every field, read-only ones as
  `null`, the type as `authType`) and wants 201; `get_all(Filter, start_index, count)` GETs
  `?filter=...&startIndex=...&count=...` (spaces encoded as `+`) and wants 200 with
  `{totalResults, startIndex, itemsPerPage, resources}`; `get(id)` wants 200; `revoke(id)` POSTs
  `/{id}/revoke` with no body and wants 200; `delete(id)` wants 204. Errors are read from
  `errorMessage`.
- `trivoreid.utils.criteria.Filter` builds SCIM filters: `Filter(Filter.EQUAL, "nsCode", "root")`
  is `nsCode eq "root"`; `and_filters(a, b)` is `(a)  and  (b)` (two spaces around `and`).

The plain-`requests` tests check the HTTP behaviour the client does not reach: dates,
namespaces, paging, filter syntax, `If-Match`, and what an active record grants on a proxied
route.
"""

import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
from trivoreid.client import TrivoreID
from trivoreid.exceptions import TrivoreIDException
from trivoreid.models.authorisation import Authorisation
from trivoreid.utils.criteria import Filter

from conftest import CAROL, CAROL_PASSWORD, INVOICE_INBOX, OTHER_CLIENT, ROOT_CLIENT, VIEW_CLIENT

AUTHS = "/api/rest/v1/authorisation"
PERMIT = "file_for_permit"


@pytest.fixture(scope="module")
def tid(mgmt):
    """The real client, pointed at the gateway."""
    return TrivoreID(path="/nonexistent/client_sdk.properties", server=mgmt.url,
                     client_id=ROOT_CLIENT, client_secret=mgmt.clients[ROOT_CLIENT][0])


def tag():
    return uuid.uuid4().hex[:12]


def record(subject, obj, kind=PERMIT, **extra):
    """A create body in the seed's (newer) shape."""
    return {"type": kind, "subject": {"type": "User", "value": subject},
            "object": {"type": "String", "value": obj}, **extra}


def create(mgmt, body, client=ROOT_CLIENT):
    r = requests.post(mgmt.url + AUTHS, json=body, auth=mgmt.basic(client), timeout=30)
    assert r.status_code == 201, r.text
    return r.json()


def client_authorisation(subject, obj):
    """An `Authorisation` built the way the client's users build one."""
    a = Authorisation()
    a.nsCode = "root"
    a.authType = PERMIT
    a.authSubject.type = "User"
    a.authSubject.value = subject
    a.authObject.modify("String", obj)
    a.validFrom = "2020-01-01T00:00:00.000Z"
    a.validTo = "2099-01-01T00:00:00.000Z"
    return a


def test_client_create_list_get_revoke_delete(mgmt, tid):
    svc = tid.authorization_service
    subject, obj = "subj-" + tag(), "permit-" + tag()
    made = svc.create(client_authorisation(subject, obj))
    assert made.id and made.authType == PERMIT and made.nsCode == "root"
    assert made.authSubject.value == subject and made.authObject.value == obj
    assert made.revoked is False and made.meta.created
    flt = Filter().and_filters(Filter(Filter.EQUAL, "nsCode", "root"),
                               Filter(Filter.EQUAL, "subject.value", subject))
    page = svc.get_all(flt)
    assert page.totalResults == 1 and [a.id for a in page.resources] == [made.id]
    assert svc.get(made.id).authObject.value == obj
    svc.revoke(made.id)
    got = svc.get(made.id)
    assert got.revoked is True and got.revokedAt
    svc.delete(made.id)
    with pytest.raises(TrivoreIDException) as e:
        svc.get(made.id)
    assert e.value.resporse_code == 404


def test_client_update(mgmt, tid):
    made = create(mgmt, record("subj-" + tag(), "permit-" + tag()))
    svc = tid.authorization_service
    a = svc.get(made["id"])
    a.validTo = "2098-01-01T00:00:00.000Z"
    changed = svc.update(a)
    assert changed.validTo.startswith("2098-01-01") and changed.id == made["id"]


def test_client_reads_auth_source_back(mgmt, tid):
    made = create(mgmt, record("subj-" + tag(), "permit-" + tag(), authSource="registry"))
    got = tid.authorization_service.get(made["id"])
    assert got.authType == PERMIT
    assert got.authSource == "registry"


def test_client_list_get_revoke_delete(mgmt, tid):
    """Everything but the client's create, on a record created with the seed's request."""
    svc = tid.authorization_service
    subject, obj = "subj-" + tag(), "permit-" + tag()
    made = create(mgmt, record(subject, obj, validFrom="2022-05-23T13:03:21.711Z",
                               validTo="2099-06-23T13:03:21.711Z", nsCode="root"))
    other = create(mgmt, record("subj-" + tag(), obj))

    # The client's own Filter, as its users build one: exactly the record.
    flt = Filter().and_filters(Filter(Filter.EQUAL, "nsCode", "root"),
                               Filter(Filter.EQUAL, "subject.value", subject))
    assert flt.generate() == '(nsCode eq "root")  and  (subject.value eq "%s")' % subject
    page = svc.get_all(flt)
    assert page.totalResults == 1 and page.startIndex == 0
    assert [a.id for a in page.resources] == [made["id"]]
    got = page.resources[0]
    assert got.authType == PERMIT and got.nsCode == "root"
    assert got.authSubject.type == "User" and got.authSubject.value == subject
    assert got.authObject.value == obj and got.revoked is False
    # Both records on the object; present-ness and OR as the client writes them.
    page = svc.get_all(Filter().and_filters(Filter(Filter.EQUAL, "object.value", obj),
                                            Filter(Filter.PRESENT, "subject.value")))
    assert sorted(a.id for a in page.resources) == sorted([made["id"], other["id"]])
    page = svc.get_all(Filter().or_filters(Filter(Filter.EQUAL, "subject.value", subject),
                                           Filter(Filter.EQUAL, "subject.value", "nobody")))
    assert [a.id for a in page.resources] == [made["id"]]
    page = svc.get_all(Filter(Filter.EQUAL, "object.value", obj), start_index=1, count=1)
    assert page.totalResults == 2 and page.startIndex == 1 and page.itemsPerPage == 1
    assert len(page.resources) == 1

    got = svc.get(made["id"])
    assert got.id == made["id"] and got.validTo == made["validTo"]

    svc.revoke(made["id"])  # no body at all
    r = requests.get(mgmt.url + AUTHS + "/" + made["id"], auth=mgmt.basic())
    assert r.status_code == 200, r.text
    shown = r.json()
    assert shown["revoked"] is True and shown["active"] is False and shown["revokedAt"]
    assert shown["effectiveValidTo"] == shown["revokedAt"]
    assert svc.get(made["id"]).revoked is True
    r = requests.get(mgmt.url + AUTHS, auth=mgmt.basic(),
                     params={"filter": 'subject.value eq "%s" and revoked eq true and active eq false' % subject})
    assert [x["id"] for x in r.json()["resources"]] == [made["id"]], r.text

    svc.delete(made["id"])
    with pytest.raises(TrivoreIDException) as e:
        svc.get(made["id"])
    assert e.value.resporse_code == 404 and "not found" in str(e.value).lower()
    assert made["id"] not in [r["id"] for r in mgmt.managed()["registry"]["authorisations"]]
    with pytest.raises(TrivoreIDException) as e:
        svc.delete(made["id"])
    assert e.value.resporse_code == 404
    assert svc.get_all(flt).totalResults == 0


def test_client_credentials_are_checked(mgmt):
    bad = TrivoreID(path="/nonexistent", server=mgmt.url, client_id=ROOT_CLIENT,
                    client_secret="not-the-secret")
    with pytest.raises(TrivoreIDException) as e:
        bad.authorization_service.get_all()
    assert e.value.resporse_code == 401
    r = requests.get(mgmt.url + AUTHS)
    assert r.status_code == 401, r.text


def test_create_shapes_and_dates(mgmt):
    subject = "subj-" + tag()
    made = create(mgmt, record(subject, "permit-x"))
    assert made["nsCode"] == "root"  # the client's default namespace
    assert made["type"] == PERMIT and made["authType"] == PERMIT
    assert made["creator"] == {"type": "ManagementApiClient", "id": ROOT_CLIENT}
    assert made["revoked"] is False and made["active"] is True
    assert made["meta"]["created"] and made["meta"]["lastModified"]
    assert len(made["id"]) == 24
    # The old client's shape: authType, read-only fields as null (absent, not "clear").
    old = create(mgmt, {"authType": PERMIT, "id": None, "meta": None, "creator": None,
                        "revoked": None, "revokedAt": None, "nsCode": "root",
                        "subject": {"type": "User", "value": subject},
                        "object": {"type": "String", "value": "permit-y"}})
    assert old["type"] == PERMIT and old["id"] and old["revoked"] is False

    for bad_body, words in (
        (record(subject, "p", validFrom="yesterday"), "validFrom"),
        (record(subject, "p", validTo="2022-13-45T99:00:00Z"), "validTo"),
        (record(subject, "p", validFrom="2023-01-01T00:00:00Z", validTo="2022-01-01T00:00:00Z"),
         "validFrom"),
        ({"subject": {"type": "User", "value": subject}, "object": {"type": "String", "value": "p"}},
         "type"),
        ({**record(subject, "p"), "authType": "x", "type": "y"}, "differ"),
    ):
        r = requests.post(mgmt.url + AUTHS, json=bad_body, auth=mgmt.basic())
        assert r.status_code == 400, (bad_body, r.status_code, r.text)
        assert words in r.json()["errorMessage"], r.text
    r = requests.post(mgmt.url + AUTHS, data="{not json", auth=mgmt.basic(),
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["errorMessage"], r.text


def test_namespaces(mgmt):
    obj = "permit-" + tag()
    mine = create(mgmt, record("s", obj))
    r = requests.post(mgmt.url + AUTHS, json=record("s", obj, nsCode="other"), auth=mgmt.basic())
    assert r.status_code == 403 and "other" in r.json()["errorMessage"], r.text
    theirs = create(mgmt, record("s", obj), client=OTHER_CLIENT)
    assert theirs["nsCode"] == "other"
    flt = {"filter": 'object.value eq "%s"' % obj}
    ids = lambda c: [x["id"] for x in requests.get(mgmt.url + AUTHS, params=flt,  # noqa: E731
                                                   auth=mgmt.basic(c)).json()["resources"]]
    assert ids(ROOT_CLIENT) == [mine["id"]]
    assert ids(OTHER_CLIENT) == [theirs["id"]]
    for method in ("GET", "PUT", "DELETE"):
        r = requests.request(method, mgmt.url + AUTHS + "/" + mine["id"], auth=mgmt.basic(OTHER_CLIENT),
                             json={"validTo": "2030-01-01T00:00:00Z"} if method == "PUT" else None)
        assert r.status_code == 404, (method, r.status_code, r.text)
    r = requests.post(mgmt.url + AUTHS + "/" + mine["id"] + "/revoke", auth=mgmt.basic(OTHER_CLIENT))
    assert r.status_code == 404, r.text
    # Moving a record into a namespace the client does not hold is refused, and changes nothing.
    r = requests.put(mgmt.url + AUTHS + "/" + mine["id"], json={"nsCode": "other"}, auth=mgmt.basic())
    assert r.status_code == 403, r.text
    assert requests.get(mgmt.url + AUTHS + "/" + mine["id"], auth=mgmt.basic()).json()["nsCode"] == "root"
    # A view-only client sees but cannot write.
    assert requests.get(mgmt.url + AUTHS + "/" + mine["id"], auth=mgmt.basic(VIEW_CLIENT)).status_code == 200
    before = mgmt.managed()["registry"]["authorisations"]
    r = requests.post(mgmt.url + AUTHS, json=record("s", obj), auth=mgmt.basic(VIEW_CLIENT))
    assert r.status_code == 403, r.text
    r = requests.post(mgmt.url + AUTHS + "/" + mine["id"] + "/revoke", auth=mgmt.basic(VIEW_CLIENT))
    assert r.status_code == 403, r.text
    r = requests.delete(mgmt.url + AUTHS + "/" + mine["id"], auth=mgmt.basic(VIEW_CLIENT))
    assert r.status_code == 403, r.text
    assert mgmt.managed()["registry"]["authorisations"] == before


def test_paging(mgmt):
    obj = "page-" + tag()
    ids = [create(mgmt, record("s%d" % i, obj))["id"] for i in range(5)]
    seen = []
    for start in (0, 2, 4):
        r = requests.get(mgmt.url + AUTHS, auth=mgmt.basic(),
                         params={"filter": 'object.value eq "%s"' % obj, "startIndex": start, "count": 2})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["totalResults"] == 5 and body["startIndex"] == start
        assert body["itemsPerPage"] == 2
        assert len(body["resources"]) == (1 if start == 4 else 2)
        seen += [x["id"] for x in body["resources"]]
    assert sorted(seen) == sorted(ids) and len(set(seen)) == 5
    r = requests.get(mgmt.url + AUTHS, auth=mgmt.basic(),
                     params={"filter": 'object.value eq "%s"' % obj, "startIndex": 9})
    assert r.status_code == 200 and r.json()["resources"] == [] and r.json()["totalResults"] == 5
    for bad in ({"startIndex": "x"}, {"count": "-1"}):
        r = requests.get(mgmt.url + AUTHS, auth=mgmt.basic(), params=bad)
        assert r.status_code == 400 and r.json()["errorMessage"], (bad, r.text)


def test_filter_encodings_and_errors(mgmt):
    subject = "subj-" + tag()
    made = create(mgmt, record(subject, "permit-" + tag()))

    def listed(raw_query):
        r = requests.get(mgmt.url + AUTHS + "?" + raw_query, auth=mgmt.basic())
        assert r.status_code == 200, (raw_query, r.text)
        return [x["id"] for x in r.json()["resources"]]

    # `+` for spaces (what requests and the real client send), %20, and the client's double spaces.
    assert listed("filter=subject.value+eq+%%22%s%%22" % subject) == [made["id"]]
    assert listed("filter=subject.value%%20eq%%20%%22%s%%22" % subject) == [made["id"]]
    assert listed("filter=%%28nsCode+eq+%%22root%%22%%29++and++%%28subject.value+eq+%%22%s%%22+%%29"
                  % subject) == [made["id"]]
    assert made["id"] in listed("filter=%28nsCode+eq+%22root%22%29++and++%28subject.value+pr+%29")
    # Operators are case-insensitive; attribute names are not.
    assert listed("filter=subject.value+EQ+%%22%s%%22+AND+authType+Eq+%%22%s%%22" % (subject, PERMIT)) == [made["id"]]
    assert listed("filter=subject.value+sw+%%22%s%%22+and+not+%%28active+eq+false%%29" % subject[:10]) \
        and made["id"] in listed("filter=subject.value+sw+%%22%s%%22" % subject[:10])
    # Instants compare as instants, whatever their spelling.
    assert made["id"] in listed("filter=subject.value+eq+%%22%s%%22+and+meta.created+gt+%%222000-01-01T00%%3A00%%3A00Z%%22"
                                % subject)
    assert listed("filter=subject.value+eq+%%22%s%%22+and+meta.created+lt+%%222000-01-01T02%%3A00%%3A00%%2B02%%3A00%%22"
                  % subject) == []
    # The record's creation instant written another way (+02:00, no fraction) is equal to it.
    created = datetime.fromisoformat(made["meta"]["created"].replace("Z", "+00:00"))
    other_spelling = created.astimezone(timezone(timedelta(hours=2))).strftime("%Y-%m-%dT%H:%M:%S+02:00")
    assert created.microsecond == 0 and other_spelling != made["meta"]["created"]
    r = requests.get(mgmt.url + AUTHS, auth=mgmt.basic(), params={
        "filter": 'subject.value eq "%s" and meta.created ge "%s" and meta.created le "%s"'
                  % (subject, other_spelling, other_spelling)})
    assert [x["id"] for x in r.json()["resources"]] == [made["id"]], r.text

    # authSource (the seed's name for the source) is filterable.
    sourced = create(mgmt, record(subject, "permit-s", authSource="src-" + subject))
    assert listed("filter=authSource+eq+%%22src-%s%%22" % subject) == [sourced["id"]]
    assert listed("filter=subject.value+eq+%%22%s%%22+and+not+%%28authSource+pr%%29" % subject) == [made["id"]]

    for bad in ('subject.value eq', '(nsCode eq "root"', 'nsCode xx "root"',
                'subject.value eq "unterminated', 'nsCode eq "root" and', 'SUBJECT.VALUE eq "x"',
                'secret eq "x"'):
        r = requests.get(mgmt.url + AUTHS, params={"filter": bad}, auth=mgmt.basic())
        assert r.status_code == 400, (bad, r.status_code, r.text)
        assert "filter" in r.json()["errorMessage"], (bad, r.text)


def test_if_match_and_update(mgmt):
    made = create(mgmt, record("subj-" + tag(), "permit-" + tag()))
    url = mgmt.url + AUTHS + "/" + made["id"]
    first = requests.get(url, auth=mgmt.basic())
    etag = first.headers.get("ETag")
    assert first.status_code == 200 and etag, first.headers
    r = requests.put(url, json={"validTo": "2090-01-01T00:00:00Z", "id": None, "meta": None},
                     headers={"If-Match": etag}, auth=mgmt.basic())
    assert r.status_code == 200 and r.json()["validTo"] == "2090-01-01T00:00:00Z", r.text
    assert r.json()["subject"] == made["subject"] and r.json()["meta"]["created"] == made["meta"]["created"]
    new_tag = r.headers.get("ETag")
    assert new_tag and new_tag != etag
    for method, path, body in (("PUT", "", {"validTo": "2091-01-01T00:00:00Z"}),
                               ("DELETE", "", None), ("POST", "/revoke", None)):
        r = requests.request(method, url + path, json=body, headers={"If-Match": etag}, auth=mgmt.basic())
        assert r.status_code == 412 and r.json()["errorMessage"], (method, r.status_code, r.text)
    now = requests.get(url, auth=mgmt.basic()).json()
    assert now["validTo"] == "2090-01-01T00:00:00Z" and now["revoked"] is False
    r = requests.post(url + "/revoke", json={"cause": "Unnecessary"},
                      headers={"If-Match": new_tag}, auth=mgmt.basic())
    assert r.status_code == 200 and r.json()["revocationDetails"] == {"cause": "Unnecessary"}, r.text
    r = requests.delete(url, headers={"If-Match": r.headers["ETag"]}, auth=mgmt.basic())
    assert r.status_code == 204, r.text


def test_subject_endpoints(mgmt):
    subject = "subj-" + tag()
    a = create(mgmt, record(subject, "permit-a"))
    b = create(mgmt, record(subject, "permit-b"))
    create(mgmt, record("someone-else", "permit-a"))
    r = requests.post(mgmt.url + AUTHS + "/" + b["id"] + "/revoke", auth=mgmt.basic())
    assert r.status_code == 200 and r.json()["active"] is False, r.text
    url = mgmt.url + "/api/rest/v1/user/%s/authorisation/subject" % subject
    r = requests.get(url, auth=mgmt.basic())
    assert r.status_code == 200 and sorted(x["id"] for x in r.json()["resources"]) == sorted([a["id"], b["id"]])
    r = requests.post(url, json={"active": True}, auth=mgmt.basic())
    assert r.status_code == 200 and [x["id"] for x in r.json()["resources"]] == [a["id"]], r.text
    r = requests.post(url, json={"active": False}, auth=mgmt.basic())
    assert [x["id"] for x in r.json()["resources"]] == [b["id"]], r.text
    r = requests.post(url, json={"password": "x"}, auth=mgmt.basic())
    assert r.status_code == 400 and r.json()["errorMessage"], r.text


def test_records_grant_access_until_revoked(mgmt):
    """An active `file_for_permit` record lets its subject file for its permit; revocation and
    deletion take effect on the very next request."""
    token = mgmt.admin_token(CAROL, CAROL_PASSWORD)
    carol = {"Authorization": "Bearer " + token}
    permit, other = "permit-" + tag(), "permit-" + tag()
    url = mgmt.url + "/permits/"
    assert requests.get(url + permit, headers=carol).status_code == 403
    made = create(mgmt, record(CAROL, permit))
    mark = len(mgmt.upstream.seen)
    r = requests.post(url + permit, headers=carol, json={"filing": 1})
    assert r.status_code == 200, r.text
    assert [s["path"] for s in mgmt.upstream.seen[mark:]] == ["/permits/" + permit]
    headers = {k.lower(): v for k, v in mgmt.upstream.seen[mark]["headers"].items()}
    assert headers.get("x-portcullis-user") == CAROL, headers
    assert requests.get(url + other, headers=carol).status_code == 403  # another object
    r = requests.post(mgmt.url + AUTHS + "/" + made["id"] + "/revoke", json={"cause": "Unnecessary"},
                      auth=mgmt.basic())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["revoked"] is True and body["active"] is False and body["revokedAt"]
    assert body["revocationDetails"] == {"cause": "Unnecessary"}
    mark = len(mgmt.upstream.seen)
    assert requests.get(url + permit, headers=carol).status_code == 403
    assert mgmt.upstream.seen[mark:] == []

    # Outside the validity window, of an unbound type, or of another subject: nothing.
    for body in (record(CAROL, other, validTo="2001-01-01T00:00:00Z"),
                 record(CAROL, other, validFrom="2098-01-01T00:00:00Z"),
                 record(CAROL, other, kind="employment"),
                 record("dave@example.org", other)):
        create(mgmt, body)
    assert requests.get(url + other, headers=carol).status_code == 403
    # Deleting an active record removes the access too.
    made = create(mgmt, record(CAROL, other, validFrom="2000-01-01T00:00:00Z"))
    assert requests.get(url + other, headers=carol).status_code == 200
    r = requests.delete(mgmt.url + AUTHS + "/" + made["id"], auth=mgmt.basic())
    assert r.status_code == 204, r.text
    assert requests.get(url + other, headers=carol).status_code == 403

    # The end of the validity window takes effect on the next request, with no write between.
    ends = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=3)
    made = create(mgmt, record(CAROL, other, validTo=ends.strftime("%Y-%m-%dT%H:%M:%SZ")))
    assert made["active"] is True
    assert requests.get(url + other, headers=carol).status_code == 200
    time.sleep(max(0.0, (ends - datetime.now(timezone.utc)).total_seconds()) + 1.1)
    assert requests.get(url + other, headers=carol).status_code == 403
    r = requests.get(mgmt.url + AUTHS + "/" + made["id"], auth=mgmt.basic())
    assert r.json()["active"] is False and r.json()["revoked"] is False, r.text

    # A subject that is not a User is a key id: a contract.fit key gets the permit while the
    # record is active.
    admin = {"Authorization": "Bearer " + mgmt.admin_token()}
    role = requests.post(mgmt.url + "/admin/roles", headers=admin,
                         json={"name": "r-" + tag(), "permissions": ["inbox_reader"]}).json()
    user = requests.post(mgmt.url + "/admin/users", headers=admin, json={
        "username": "u-" + tag(), "active": True, "password": "pw-" + tag(),
        "roles": [{"role": role["id"], "inbox": INVOICE_INBOX}]}).json()
    key = requests.post(mgmt.url + "/admin/auth/api-key", headers=admin, json={
        "user": user["id"], "roles": [{"role": role["id"], "inbox": INVOICE_INBOX}]}).json()
    mgmt.secrets.append(key["token"])
    kh = {"X-API-Key": key["token"]}
    assert requests.get(url + permit, headers=kh).status_code == 403
    made = create(mgmt, {"type": PERMIT, "subject": {"type": "String", "value": key["id"]},
                         "object": {"type": "String", "value": permit}})
    r = requests.get(url + permit, headers=kh)
    assert r.status_code == 200, r.text
    r = requests.post(mgmt.url + AUTHS + "/" + made["id"] + "/revoke", auth=mgmt.basic())
    assert r.status_code == 200, r.text
    assert requests.get(url + permit, headers=kh).status_code == 403


def test_no_secret_reaches_the_gateway_log(mgmt):
    mgmt.assert_no_secret_logged()
