"""The contract.fit example's client, with `requests`, the way contract.fit's documentation
drives its API: log in at /admin/auth, create a role, a placeholder user and API keys scoped to an
inbox and to one document, call the application with them (X-API-Key and ?api_key=) inside and
outside their scope, then delete a key. Each step prints one line; any surprise raises (exit 1).

    python3 client.py GATEWAY_URL APP_URL [FILE]

With FILE, the document key's token is written there at the end (run.sh uses it after a restart).
"""

import secrets
import sys

import requests

TENANT, APP = sys.argv[1], sys.argv[2]
ADMIN, PASSWORD = "admin@example.org", "admin-password"
DOC = "60ddb937b260064252bd5a98"
OTHER_DOC = "60ddb937b260064252bd5a99"  # same inbox
OTHER_INBOX_DOC = "60ddb937b260064252bd5aa0"


def ok(what):
    print("ok    " + what, flush=True)


def expect(response, status, text=None):
    assert response.status_code == status, (response.request.method, response.request.url,
                                            response.status_code, response.text)
    if text is not None:
        assert text in response.text, response.text
    return response


def seen_since(mark):
    return requests.get(APP + "/__seen", timeout=10).json()[mark:]


def mark():
    return len(requests.get(APP + "/__seen", timeout=10).json())


# 1. Log in; the answer is an account token, sent back as `Authorization: Bearer`.
res = expect(requests.post(f"{TENANT}/admin/auth", json={"username": ADMIN, "password": PASSWORD},
                           timeout=30), 200)
sess = requests.Session()
sess.headers["Authorization"] = "Bearer " + res.json()["authentication_token"]
ok("POST /admin/auth: authentication_token for %s" % ADMIN)

inboxes = expect(sess.get(f"{TENANT}/admin/inboxes"), 200).json()
invoice = next(i for i in inboxes if i["name"] == "invoice")
other = next(i for i in inboxes if i["name"] == "contracts")
ok("GET /admin/inboxes (forwarded to the app): %s" % ", ".join(i["name"] for i in inboxes))

# 2. A role holding as little as possible, and a placeholder user holding it on one inbox.
role = expect(sess.post(f"{TENANT}/admin/roles",
                        json={"name": "invoice-reader", "permissions": ["inbox_reader"]}), 201).json()
ok("POST /admin/roles: %s" % role)
user = expect(sess.post(f"{TENANT}/admin/users", json={
    "username": "shared-link",
    "active": True,
    "password": secrets.token_urlsafe(18),  # never used: the user is a placeholder for its keys
    "roles": [{"role": role["id"], "inbox": invoice["id"]}],
}), 201).json()
ok("POST /admin/users: placeholder user %s (%s) on inbox %s" % (user["username"], user["id"], invoice["id"]))

# 3. Two keys: one for the whole inbox, one for a single document (with its inbox).
inbox_key = expect(sess.post(f"{TENANT}/admin/auth/api-key", json={
    "user": user["id"], "roles": [{"role": role["id"], "inbox": invoice["id"]}],
}), 201).json()
doc_key = expect(sess.post(f"{TENANT}/admin/auth/api-key", json={
    "user": user["id"], "roles": [{"role": role["id"], "inbox": invoice["id"], "document_id": DOC}],
}), 201).json()
ok("POST /admin/auth/api-key: inbox key %s, document key %s (tokens shown once)"
   % (inbox_key["id"], doc_key["id"]))
listed = expect(sess.get(f"{TENANT}/admin/auth/api-key/inbox/{invoice['id']}"), 200)
assert {k["id"] for k in listed.json()} == {inbox_key["id"], doc_key["id"]}, listed.text
assert inbox_key["token"] not in listed.text and doc_key["token"] not in listed.text
ok("GET /admin/auth/api-key/inbox/%s: both keys, no tokens" % invoice["id"])

# A key is never broader than its user: a key on the other inbox is refused.
expect(sess.post(f"{TENANT}/admin/auth/api-key", json={
    "user": user["id"], "roles": [{"role": role["id"], "inbox": other["id"]}]}), 403)
ok("a key for an inbox the user does not hold: 403")

# 4. The keys at work, as a header and as ?api_key=.
docs = f"{TENANT}/inboxes/{invoice['id']}/documents"
m = mark()
expect(requests.get(docs, headers={"X-API-Key": inbox_key["token"]}), 200)
expect(requests.get(docs, params={"api_key": inbox_key["token"], "page": "2"}), 200)
expect(requests.get(f"{docs}/{OTHER_DOC}", headers={"X-API-Key": inbox_key["token"]}), 200)
expect(requests.get(f"{docs}/{DOC}", params={"api_key": doc_key["token"]}), 200)
forwarded = seen_since(m)
assert [s["path"] for s in forwarded] == [
    f"/inboxes/{invoice['id']}/documents", f"/inboxes/{invoice['id']}/documents?page=2",
    f"/inboxes/{invoice['id']}/documents/{OTHER_DOC}", f"/inboxes/{invoice['id']}/documents/{DOC}",
], forwarded
assert all(s["user"] == user["id"] and s["api_key_header"] is None for s in forwarded), forwarded
ok("inside their scope: 4 x 200; the app saw X-Portcullis-User %s, never a key (?api_key= removed: %s)"
   % (user["id"], forwarded[1]["path"]))

m = mark()
outside = [
    ("inbox key, other inbox", f"{TENANT}/inboxes/{other['id']}/documents", inbox_key),
    ("inbox key, the inbox list (captures no inbox)", f"{TENANT}/admin/inboxes", inbox_key),
    ("document key, another document", f"{docs}/{OTHER_DOC}", doc_key),
    ("document key, the inbox's list", docs, doc_key),
    ("document key, its document id in another inbox",
     f"{TENANT}/inboxes/{other['id']}/documents/{DOC}", doc_key),
]
for label, url, key in outside:
    expect(requests.get(url, headers={"X-API-Key": key["token"]}), 403, "out_of_scope")
    expect(requests.get(url, params={"api_key": key["token"]}), 403, "out_of_scope")
expect(requests.get(docs, headers={"X-API-Key": inbox_key["token"]},
                    params={"api_key": inbox_key["token"]}), 400, "multiple_credentials")
expect(requests.get(f"{TENANT}/admin/auth/api-key", headers={"X-API-Key": inbox_key["token"]}), 403)
assert seen_since(m) == [], seen_since(m)
ok("outside their scope: %d x 403 out_of_scope (%s); both forms at once: 400; none reached the app"
   % (2 * len(outside), "; ".join(label for label, _, _ in outside)))

# 5. Delete the inbox key: refused (401) from the very next request; the document key still works.
expect(sess.delete(f"{TENANT}/admin/auth/api-key/{inbox_key['id']}"), 204)
r = expect(requests.get(docs, headers={"X-API-Key": inbox_key["token"]}), 401, "invalid_credential")
expect(requests.get(docs, params={"api_key": inbox_key["token"]}), 401)
expect(sess.get(f"{TENANT}/admin/auth/api-key/{inbox_key['id']}"), 404)
expect(requests.get(f"{docs}/{DOC}", headers={"X-API-Key": doc_key["token"]}), 200)
ok("DELETE /admin/auth/api-key/%s: 204, then the key gets 401 %s" % (inbox_key["id"], r.text))

if len(sys.argv) > 3:
    with open(sys.argv[3], "w") as f:
        f.write(doc_key["token"])
