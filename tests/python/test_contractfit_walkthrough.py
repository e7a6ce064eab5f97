"""contract.fit's scoped API keys (issue #7), driven the way contract.fit's own documentation does.

`test_seed_walkthrough` is the Python walkthrough of seed `000_eb657e4bed968154.txt`, statement by
statement, with only `tenant` and the credentials changed (`getpass` replaced by a fixed
password), the elided role creation filled in, and the document-scoped API-key role given its
inbox (the seed's text asks for it; its code sample leaves it out, which
`test_seed_literal_document_role_without_inbox_is_400` checks). It goes on with calls using the new
key through the gateway to the recording upstream: header and query forms, inside and outside
the key's inbox/document scope, then DELETE and refusal.
"""

import re
import time
import secrets as _secrets
import uuid

import pytest
import requests

from conftest import (
    ADMIN, ADMIN_PASSWORD, INVOICE_INBOX, OTHER_INBOX, VIEWER, VIEWER_PASSWORD,
)

DOC_ID = "60ddb937b260064252bd5a98"  # the seed's document id
OTHER_DOC = "60ddb937b260064252bd5a99"
JSON_GET = {"Content-Type": "application/json"}  # what contract.fit clients send on GETs


@pytest.fixture(scope="module")
def admin(mgmt):
    """A session logged in as the admin (Bearer token)."""
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + mgmt.admin_token()
    yield s
    s.close()


def new_role(mgmt, admin, permissions=("inbox_reader",)):
    r = admin.post(mgmt.url + "/admin/roles",
                   json={"name": "role-" + uuid.uuid4().hex[:8], "permissions": list(permissions)})
    assert r.status_code == 201, r.text
    return r.json()


def new_user(mgmt, admin, roles):
    password = _secrets.token_urlsafe(18)
    mgmt.secrets.append(password)
    r = admin.post(mgmt.url + "/admin/users", json={
        "username": "user-" + uuid.uuid4().hex[:8], "active": True, "password": password,
        "roles": roles,
    })
    assert r.status_code == 201, r.text
    return r.json()


def new_key(mgmt, admin, user, roles, **extra):
    r = admin.post(mgmt.url + "/admin/auth/api-key", json={"user": user["id"], "roles": roles, **extra})
    assert r.status_code == 201, r.text
    mgmt.secrets.append(r.json()["token"])
    return r.json()


def upstream_saw(mgmt, before):
    """What the upstream received since `before` requests."""
    return mgmt.upstream.seen[before:]


def test_seed_walkthrough(mgmt):
    seen_before = len(mgmt.upstream.seen)

    def token_urlsafe(n):  # the seed's `from secrets import token_urlsafe`, remembered as a secret
        value = _secrets.token_urlsafe(n)
        mgmt.secrets.append(value)
        return value

    # ---- The seed, in order (only tenant, admin and the password changed). ----
    tenant = mgmt.url
    admin = ADMIN
    password = ADMIN_PASSWORD  # was: getpass(f"User {admin} password: ")
    sess = requests.Session()
    res = requests.post(f"{tenant}/admin/auth", json={
        "username": admin,
        "password": password
    })
    res.raise_for_status()
    jwt = res.json()["authentication_token"]
    mgmt.secrets.append(jwt)
    sess.headers = dict(Authorization=f"Bearer {jwt}")

    res = sess.get(f"{tenant}/admin/inboxes")
    res.raise_for_status()
    inboxes = res.json()
    invoice_inbox = next(filter(lambda x: x["name"] == "invoice", inboxes))

    # Create role (elided in the seed): as few permissions as possible.
    res = sess.post(f"{tenant}/admin/roles", json={"name": "invoice-reader",
                                                   "permissions": ["inbox_reader"]})
    res.raise_for_status()
    role = res.json()

    res = sess.post(f"{tenant}/admin/users", json={
        "username": "shared-link",
        "active": True,
        "password": token_urlsafe(18),  # The user password does not matter, use a randomly generated string
        "roles": [{"role": role["id"], "inbox": invoice_inbox["id"]}]
    })
    res.raise_for_status()
    user = res.json()

    doc_id = "60ddb937b260064252bd5a98"  # your doc ID
    roles = [
        {"role": role["id"], "inbox": invoice_inbox["id"]},
        # same role as the user but limited to one doc (the inbox added, as the seed's text says)
        {"role": role["id"], "inbox": invoice_inbox["id"], "document_id": doc_id},
    ]
    res = sess.post(f"{tenant}/admin/auth/api-key", json={
        "user": user["id"],
        "roles": roles
    })
    res.raise_for_status()
    token = res.json()["token"]
    mgmt.secrets.append(token)
    # ---- End of the seed. ----

    # What each step answered.
    assert invoice_inbox == {"id": INVOICE_INBOX, "name": "invoice"}
    assert inboxes[0]["name"] == "receipts" and len(inboxes) == 3
    inbox_calls = [s for s in upstream_saw(mgmt, seen_before) if s["path"] == "/admin/inboxes"]
    assert len(inbox_calls) == 1, "GET /admin/inboxes was not forwarded to the upstream"
    assert "Bearer" not in str(inbox_calls[0]["headers"].get("Authorization", "")), \
        "the admin token was forwarded to the upstream"
    assert re.fullmatch(r"[0-9a-f]{24}", role["id"]), role
    assert role["name"] == "invoice-reader" and role["permissions"] == ["inbox_reader"]
    assert re.fullmatch(r"[0-9a-f]{24}", user["id"]), user
    assert user["username"] == "shared-link" and user["active"] is True
    assert user["roles"] == [{"role": role["id"], "inbox": INVOICE_INBOX}]
    assert user["confirmed_at"], user
    assert "password" not in user and "password_phc" not in user
    key = res.json()
    assert res.status_code == 201
    assert key["user"] == user["id"] and key["active"] is True
    assert key["roles"] == roles
    assert key["expire_at"] is None and key["created_at"]
    assert len(token) >= 32 and key["id"] != token
    assert token not in mgmt.managed_path.read_text(), "the plaintext token was stored"
    stored = [k for k in mgmt.managed()["registry"]["api_keys"] if k["id"] == key["id"]]
    assert len(stored) == 1 and len(stored[0]["sha256"]) == 64

    # The admin's other endpoints, as contract.fit clients call them (Content-Type on GETs).
    r = sess.get(f"{tenant}/admin/roles", headers=JSON_GET)
    assert r.status_code == 200 and role in r.json(), r.text
    r = sess.get(f"{tenant}/admin/users", headers=JSON_GET)
    assert r.status_code == 200 and user in r.json(), r.text
    r = sess.get(f"{tenant}/admin/users/{user['id']}", headers=JSON_GET)
    assert r.status_code == 200 and r.json() == user, r.text
    r = sess.get(f"{tenant}/admin/auth/api-key", headers=JSON_GET)
    assert r.status_code == 200, r.text
    listed = [k for k in r.json() if k["id"] == key["id"]]
    assert len(listed) == 1 and "token" not in listed[0] and "sha256" not in listed[0]
    assert token not in r.text
    r = sess.get(f"{tenant}/admin/auth/api-key/{key['id']}", headers=JSON_GET)
    assert r.status_code == 200 and r.json()["id"] == key["id"] and token not in r.text
    r = sess.get(f"{tenant}/admin/auth/api-key/{token}", headers=JSON_GET)  # contract.fit's {key}
    assert r.status_code == 200 and r.json()["id"] == key["id"] and token not in r.text
    r = sess.get(f"{tenant}/admin/auth/api-key/inbox/{INVOICE_INBOX}", headers=JSON_GET)
    assert r.status_code == 200 and key["id"] in [k["id"] for k in r.json()], r.text
    r = sess.get(f"{tenant}/admin/auth/api-key/inbox/{OTHER_INBOX}", headers=JSON_GET)
    assert r.status_code == 200 and key["id"] not in [k["id"] for k in r.json()], r.text
    r = sess.get(f"{tenant}/admin/inboxes", headers=JSON_GET)
    assert r.status_code == 200 and r.json() == inboxes, r.text

    # ---- Calls with the new key. ----
    inbox_docs = f"{tenant}/inboxes/{INVOICE_INBOX}/documents"
    mark = len(mgmt.upstream.seen)
    r = requests.get(inbox_docs, headers={"X-API-Key": token})
    assert r.status_code == 200, r.text
    r = requests.get(inbox_docs, params={"api_key": token, "page": "2"})
    assert r.status_code == 200, r.text
    r = requests.get(f"{inbox_docs}/{doc_id}", headers={"X-API-Key": token, **JSON_GET})
    assert r.status_code == 200, r.text
    r = requests.get(f"{inbox_docs}/{OTHER_DOC}", params={"api_key": token})
    assert r.status_code == 200, r.text  # the inbox-wide entry covers every document of the inbox
    forwarded = upstream_saw(mgmt, mark)
    assert [s["path"] for s in forwarded] == [
        f"/inboxes/{INVOICE_INBOX}/documents",
        f"/inboxes/{INVOICE_INBOX}/documents?page=2",
        f"/inboxes/{INVOICE_INBOX}/documents/{doc_id}",
        f"/inboxes/{INVOICE_INBOX}/documents/{OTHER_DOC}",
    ]
    for s in forwarded:
        headers = {k.lower(): v for k, v in s["headers"].items()}
        assert headers.get("x-portcullis-user") == user["id"], headers
        assert "api_key" not in s["path"] and token not in s["path"]
        assert token not in str(headers), "the key reached the upstream"

    # Outside its inbox: refused before the upstream, in both forms.
    mark = len(mgmt.upstream.seen)
    for kw in ({"headers": {"X-API-Key": token}}, {"params": {"api_key": token}}):
        r = requests.get(f"{tenant}/inboxes/{OTHER_INBOX}/documents", **kw)
        assert r.status_code == 403 and "out_of_scope" in r.text, (r.status_code, r.text)
        r = requests.get(f"{tenant}/inboxes/{OTHER_INBOX}/documents/{doc_id}", **kw)
        assert r.status_code == 403 and "out_of_scope" in r.text, (r.status_code, r.text)
        # A route that captures no inbox cannot be shown to lie inside the key's scope.
        r = requests.get(f"{tenant}/admin/inboxes", **kw)
        assert r.status_code == 403 and "out_of_scope" in r.text, (r.status_code, r.text)
    # The key is not an admin credential.
    r = requests.get(f"{tenant}/admin/auth/api-key", headers={"X-API-Key": token})
    assert r.status_code in (401, 403), r.text
    assert upstream_saw(mgmt, mark) == []

    # A key limited to the document alone: that document only.
    res = sess.post(f"{tenant}/admin/auth/api-key", json={
        "user": user["id"],
        "roles": [{"role": role["id"], "inbox": invoice_inbox["id"], "document_id": doc_id}],
    })
    assert res.status_code == 201, res.text
    doc_token = res.json()["token"]
    mgmt.secrets.append(doc_token)
    mark = len(mgmt.upstream.seen)
    r = requests.get(f"{inbox_docs}/{doc_id}", params={"api_key": doc_token})
    assert r.status_code == 200, r.text
    for url in (f"{inbox_docs}/{OTHER_DOC}", inbox_docs,
                f"{tenant}/inboxes/{OTHER_INBOX}/documents/{doc_id}"):
        r = requests.get(url, headers={"X-API-Key": doc_token})
        assert r.status_code == 403 and "out_of_scope" in r.text, (url, r.status_code, r.text)
    assert [s["path"] for s in upstream_saw(mgmt, mark)] == [f"/inboxes/{INVOICE_INBOX}/documents/{doc_id}"]

    # Both forms at once are two credentials: refused.
    r = requests.get(inbox_docs, headers={"X-API-Key": token}, params={"api_key": token})
    assert r.status_code == 400 and "multiple_credentials" in r.text, (r.status_code, r.text)

    # DELETE, then the key is refused on the very next request (header and query forms).
    r = sess.delete(f"{tenant}/admin/auth/api-key/{key['id']}")
    assert r.status_code == 204, r.text
    mark = len(mgmt.upstream.seen)
    r = requests.get(inbox_docs, headers={"X-API-Key": token})
    assert r.status_code == 401, r.text
    r = requests.get(inbox_docs, params={"api_key": token})
    assert r.status_code == 401, r.text
    assert upstream_saw(mgmt, mark) == []
    r = sess.get(f"{tenant}/admin/auth/api-key/{key['id']}", headers=JSON_GET)
    assert r.status_code == 404, r.text
    assert key["id"] not in [k["id"] for k in mgmt.managed()["registry"]["api_keys"]]
    # The document key is untouched; deleting it by its token (contract.fit's {key}) works too.
    r = requests.get(f"{inbox_docs}/{doc_id}", headers={"X-API-Key": doc_token})
    assert r.status_code == 200, r.text
    r = sess.delete(f"{tenant}/admin/auth/api-key/{doc_token}")
    assert r.status_code == 204, r.text
    r = requests.get(f"{inbox_docs}/{doc_id}", headers={"X-API-Key": doc_token})
    assert r.status_code == 401, r.text


def test_seed_literal_document_role_without_inbox_is_400(mgmt, admin):
    """The seed's code sample as written: `{"role": ..., "document_id": doc_id}` with no inbox."""
    role = new_role(mgmt, admin)
    user = new_user(mgmt, admin, [{"role": role["id"], "inbox": INVOICE_INBOX}])
    before = mgmt.managed()["registry"].get("api_keys", [])
    doc_id = "60ddb937b260064252bd5a98"  # your doc ID
    roles = [
        {"role": role["id"], "inbox": INVOICE_INBOX},
        {"role": role["id"], "document_id": doc_id},  # same role as the user but limited to one doc
    ]
    res = admin.post(f"{mgmt.url}/admin/auth/api-key", json={"user": user["id"], "roles": roles})
    assert res.status_code == 400, res.text
    message = res.json()["message"]
    assert "inbox" in message and "missing" in message, message
    assert "token" not in res.json()
    assert mgmt.managed()["registry"].get("api_keys", []) == before


def test_login_and_token_forms(mgmt):
    r = requests.post(mgmt.url + "/admin/auth", json={"username": ADMIN, "password": "wrong-pw"})
    assert r.status_code == 401, r.text
    assert "authentication_token" not in r.text
    r = requests.post(mgmt.url + "/admin/auth", json={"username": "nobody@example.org",
                                                      "password": ADMIN_PASSWORD})
    assert r.status_code == 401, r.text
    token = mgmt.admin_token()
    for auth in ("Bearer " + token, token):  # contract.fit's client also sends it bare
        r = requests.get(mgmt.url + "/admin/roles", headers={"Authorization": auth, **JSON_GET})
        assert r.status_code == 200 and isinstance(r.json(), list), (auth[:7], r.status_code, r.text)
    r = requests.get(mgmt.url + "/admin/roles", headers={"Authorization": "Bearer " + token[:-2] + "xx"})
    assert r.status_code == 401, r.text
    r = requests.get(mgmt.url + "/admin/roles")
    assert r.status_code == 401, r.text


def test_bare_admin_token_on_the_proxied_inboxes_route(mgmt):
    token = mgmt.admin_token()
    r = requests.get(mgmt.url + "/admin/inboxes", headers={"Authorization": "Bearer " + token})
    assert r.status_code == 200, r.text
    r = requests.get(mgmt.url + "/admin/inboxes", headers={"Authorization": token, **JSON_GET})
    assert r.status_code == 200, r.text
    assert {"id": INVOICE_INBOX, "name": "invoice"} in r.json()


def test_rules_on_users_and_keys(mgmt, admin):
    url = mgmt.url
    role = new_role(mgmt, admin)
    other_role = new_role(mgmt, admin, ["document:view"])
    # Unknown role → 406 "Role does not exist"; nothing is written.
    users_before = mgmt.managed()["registry"].get("users", [])
    r = admin.post(url + "/admin/users", json={
        "username": "ghost-" + uuid.uuid4().hex[:6], "active": True, "password": "x" * 20,
        "roles": [{"role": "0123456789abcdef01234567"}]})
    assert r.status_code == 406 and r.json() == {"message": "Role does not exist"}, r.text
    assert mgmt.managed()["registry"].get("users", []) == users_before
    user = new_user(mgmt, admin, [{"role": role["id"], "inbox": INVOICE_INBOX}])
    r = admin.get(url + "/admin/users/" + "f" * 24, headers=JSON_GET)
    assert r.status_code == 404, r.text

    # Never broader than the user: another inbox, no inbox at all, another role → 403.
    for roles in ([{"role": role["id"], "inbox": OTHER_INBOX}],
                  [{"role": role["id"]}],
                  [{"role": other_role["id"], "inbox": INVOICE_INBOX}],
                  [{"role": role["id"], "inbox": INVOICE_INBOX},
                   {"role": role["id"], "inbox": OTHER_INBOX, "document_id": DOC_ID}]):
        r = admin.post(url + "/admin/auth/api-key", json={"user": user["id"], "roles": roles})
        assert r.status_code == 403, (roles, r.status_code, r.text)
        assert "roles[" in r.json()["message"], r.text
    # Unknown fields and an unknown role are refused.
    r = admin.post(url + "/admin/auth/api-key",
                   json={"user": user["id"], "roles": [{"role": role["id"], "inbox": INVOICE_INBOX}],
                         "scopes": ["all"]})
    assert r.status_code == 400, r.text
    r = admin.post(url + "/admin/auth/api-key",
                   json={"user": user["id"], "roles": [{"role": "0" * 24, "inbox": INVOICE_INBOX}]})
    assert r.status_code == 406, r.text

    # A user whose entry has no inbox may hand out any inbox or document of that role; a user
    # limited to a document, only that document.
    wide = new_user(mgmt, admin, [{"role": role["id"]}])
    key = new_key(mgmt, admin, wide, [{"role": role["id"], "inbox": OTHER_INBOX},
                                      {"role": role["id"], "inbox": INVOICE_INBOX, "document_id": DOC_ID}])
    assert requests.get(f"{url}/inboxes/{OTHER_INBOX}/documents", headers={"X-API-Key": key["token"]}).status_code == 200
    narrow = new_user(mgmt, admin, [{"role": role["id"], "inbox": INVOICE_INBOX, "document_id": DOC_ID}])
    new_key(mgmt, admin, narrow, [{"role": role["id"], "inbox": INVOICE_INBOX, "document_id": DOC_ID}])
    for roles in ([{"role": role["id"], "inbox": INVOICE_INBOX}],
                  [{"role": role["id"], "inbox": INVOICE_INBOX, "document_id": OTHER_DOC}]):
        r = admin.post(url + "/admin/auth/api-key", json={"user": narrow["id"], "roles": roles})
        assert r.status_code == 403, (roles, r.status_code, r.text)
    # Created inactive: refused until activated; a future expiry is accepted.
    key = new_key(mgmt, admin, user, [{"role": role["id"], "inbox": INVOICE_INBOX}], active=False,
                  expire_at="2099-01-01T00:00:00Z")
    assert key["active"] is False and key["expire_at"] == "2099-01-01T00:00:00Z"
    docs = f"{url}/inboxes/{INVOICE_INBOX}/documents"
    assert requests.get(docs, headers={"X-API-Key": key["token"]}).status_code == 401
    r = admin.patch(url + f"/admin/auth/api-key/{key['id']}", json={"active": True})
    assert r.status_code == 200, r.text
    assert requests.get(docs, headers={"X-API-Key": key["token"]}).status_code == 200

    # The inbox endpoint fills in its inbox and refuses another.
    r = admin.post(url + f"/admin/auth/api-key/inbox/{INVOICE_INBOX}",
                   json={"user": user["id"], "roles": [{"role": role["id"]}]})
    assert r.status_code == 201, r.text
    mgmt.secrets.append(r.json()["token"])
    assert r.json()["roles"] == [{"role": role["id"], "inbox": INVOICE_INBOX}]
    r = admin.post(url + f"/admin/auth/api-key/inbox/{INVOICE_INBOX}",
                   json={"user": user["id"], "roles": [{"role": role["id"], "inbox": OTHER_INBOX}]})
    assert r.status_code == 403, r.text

    # PATCH: roles → 400; active false refuses the key on the next request, true restores it.
    key = new_key(mgmt, admin, user, [{"role": role["id"], "inbox": INVOICE_INBOX}])
    docs = f"{url}/inboxes/{INVOICE_INBOX}/documents"
    r = admin.patch(url + f"/admin/auth/api-key/{key['id']}",
                    json={"roles": [{"role": role["id"], "inbox": INVOICE_INBOX}]})
    assert r.status_code == 400 and "new key" in r.json()["message"], r.text
    got = admin.get(url + f"/admin/auth/api-key/{key['id']}", headers=JSON_GET)
    assert got.status_code == 200 and got.headers.get("ETag"), got.headers
    r = admin.patch(url + f"/admin/auth/api-key/{key['id']}", json={"active": False},
                    headers={"If-Match": got.headers["ETag"]})
    assert r.status_code == 200 and r.json()["active"] is False, r.text
    assert requests.get(docs, headers={"X-API-Key": key["token"]}).status_code == 401
    # The tag read before that change is stale now.
    r = admin.patch(url + f"/admin/auth/api-key/{key['id']}", json={"active": True},
                    headers={"If-Match": got.headers["ETag"]})
    assert r.status_code == 412, r.text
    r = admin.patch(url + f"/admin/auth/api-key/{key['token']}", json={"active": True})
    assert r.status_code == 200 and r.json()["active"] is True, r.text
    assert requests.get(docs, headers={"X-API-Key": key["token"]}).status_code == 200
    # An expiry in the past refuses it.
    r = admin.patch(url + f"/admin/auth/api-key/{key['id']}", json={"expire_at": "2001-01-01T00:00:00Z"})
    assert r.status_code == 200, r.text
    assert requests.get(docs, params={"api_key": key["token"]}).status_code == 401
    r = admin.patch(url + f"/admin/auth/api-key/{key['id']}", json={"expire_at": "not a date"})
    assert r.status_code == 400, r.text
    r = admin.delete(url + f"/admin/auth/api-key/{key['id']}")
    assert r.status_code == 204, r.text
    r = admin.delete(url + f"/admin/auth/api-key/{key['id']}")
    assert r.status_code == 404, r.text


def test_permissions_of_admin_users(mgmt, admin):
    """A caller without the permission gets 403, never a partial result."""
    viewer = requests.Session()
    viewer.headers["Authorization"] = "Bearer " + mgmt.admin_token(VIEWER, VIEWER_PASSWORD)
    r = viewer.get(mgmt.url + "/admin/auth/api-key", headers=JSON_GET)
    assert r.status_code == 200 and isinstance(r.json(), list), r.text
    role = new_role(mgmt, admin)
    user = new_user(mgmt, admin, [{"role": role["id"], "inbox": INVOICE_INBOX}])
    keys_before = mgmt.managed()["registry"].get("api_keys", [])
    for method, path, body in (
        ("POST", "/admin/auth/api-key", {"user": user["id"], "roles": [{"role": role["id"], "inbox": INVOICE_INBOX}]}),
        ("POST", "/admin/roles", {"name": "viewer-role", "permissions": []}),
        ("POST", "/admin/users", {"username": "v", "active": True, "password": "p" * 12, "roles": []}),
        ("GET", "/admin/users", None),
        ("GET", "/admin/inboxes", None),
    ):
        r = viewer.request(method, mgmt.url + path, json=body)
        assert r.status_code == 403, (method, path, r.status_code, r.text)
        assert "token" not in r.text and user["id"] not in r.text
    assert mgmt.managed()["registry"].get("api_keys", []) == keys_before
    # A Trivore management client has no contract.fit permissions.
    r = requests.get(mgmt.url + "/admin/auth/api-key", auth=mgmt.basic())
    assert r.status_code == 403, r.text


@pytest.mark.parametrize("method, path", [
    ("PUT", "/admin/auth/api-key/{token}"),
    ("GET", "/admin/auth/api-key/{token}/"),
    ("PATCH", "/admin/auth/api-key/{token}"),
    ("GET", "/admin/auth/api-key/{token}"),
    ("GET", "/admin/auth/api-key/{token}x"),
    ("GET", "/inboxes/%s/documents?api_key={token}" % OTHER_INBOX),
    ("GET", "/no/such/route?api_key={token}"),
])
def test_key_token_is_not_logged_on_odd_requests(mgmt, admin, method, path):
    """contract.fit names keys by their token in paths: no answer logs it, whatever the request."""
    role = new_role(mgmt, admin)
    user = new_user(mgmt, admin, [{"role": role["id"], "inbox": INVOICE_INBOX}])
    r = admin.post(mgmt.url + "/admin/auth/api-key",
                   json={"user": user["id"], "roles": [{"role": role["id"], "inbox": INVOICE_INBOX}]})
    assert r.status_code == 201, r.text
    key = r.json()  # its token is checked in this test's own log window (not `mgmt.secrets`)
    start = len(mgmt.log_text())
    sender = requests if "api_key=" in path else admin  # the query form alone is the credential
    r = sender.request(method, mgmt.url + path.format(token=key["token"]),
                       json={"active": True} if method == "PATCH" else None)
    assert r.status_code < 500, r.text
    request_id = r.headers.get("x-request-id")
    assert request_id, r.headers
    assert admin.delete(mgmt.url + "/admin/auth/api-key/" + key["id"]).status_code == 204
    deadline = time.monotonic() + 5
    while request_id not in mgmt.log_text()[start:] and time.monotonic() < deadline:
        time.sleep(0.05)
    window = mgmt.log_text()[start:]
    assert request_id in window, "the request was not logged"
    assert key["token"] not in window, "the key's token reached the log"


def test_no_secret_reaches_the_gateway_log(mgmt):
    assert len(mgmt.secrets) > 10
    mgmt.assert_no_secret_logged()
