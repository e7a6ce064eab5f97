"""The SeaTable example's client: SeaTable's official Python client (`seatable-api`, unchanged)
against Portcullis, which answers SeaTable's token endpoints itself and forwards base requests to
the dtable-server stand-in. Each step prints one line; any surprise raises (exit 1).

    python3 client.py GATEWAY_URL UPSTREAM_URL
"""

import sys

import requests
from seatable_api import Account, Base

GATEWAY, UPSTREAM = sys.argv[1], sys.argv[2]
PROJECTS = "5f2c7a4e-9a1b-4c3d-8e2f-0a1b2c3d4e5f"  # alice's; bob reads it
REPORTS = "7e1d0c2b-3a49-4f58-9d6e-1b2c3d4e5f60"  # alice's, served through the API gateway
WORKSPACE = 1


def ok(what):
    print("ok    " + what, flush=True)


def seen_since(mark):
    """What the dtable-server stand-in received since it had received `mark` requests."""
    return requests.get(UPSTREAM + "/__seen", timeout=10).json()[mark:]


def mark():
    return len(requests.get(UPSTREAM + "/__seen", timeout=10).json())


def refused(call, status=403, body='{"error_msg": "Permission denied."}'):
    """`call` must raise the client's ConnectionError(status, body): SeaTable's own refusal."""
    try:
        call()
    except ConnectionError as e:
        got = e.args
        assert got[0] == status and got[1].replace(" ", "") == body.replace(" ", ""), got
        return got
    raise AssertionError("not refused")


# 1. alice logs in (POST /api2/auth-token/, answered by the gateway) and opens her base.
alice = Account("alice@example.org", "alice-password", GATEWAY)
alice.auth()
projects = alice.get_base(WORKSPACE, "Projects")  # temp-api-token, then app-access-token
assert projects.dtable_uuid == PROJECTS, projects.dtable_uuid
ok("Account.auth() and get_base(1, 'Projects'): a base token for %s" % projects.dtable_uuid)

m = mark()
rows = projects.list_rows("Table1")
assert [r["Name"] for r in rows] == ["first", "second"], rows
projects.append_row("Table1", {"Name": "from alice"})
[get, post] = seen_since(m)
assert get["path"] == "/dtable-server/api/v1/dtables/%s/rows/?table_name=Table1" % PROJECTS, get
assert get["headers"]["x-portcullis-credential"] == "base", get
assert get["headers"]["x-portcullis-user"] == "alice@example.org", get
assert get["headers"]["x-portcullis-resource-base"] == PROJECTS, get
assert "authorization" not in get["headers"], "the base token reached dtable-server"
assert post["method"] == "POST"
ok("list_rows and append_row through /dtable-server/: dtable-server saw user %s, base %s, no token"
   % (get["headers"]["x-portcullis-user"], get["headers"]["x-portcullis-resource-base"]))

result = projects.query("select Name from Table1", convert=False)
assert {"Name": "from alice"} in result, result
ok("query() through /dtable-db/: %d rows" % len(result))

# 2. An API token for an app (created with alice's account token, as SeaTable's web UI does).
tokens_url = "%s/api/v2.1/workspace/%d/dtable/%s/api-tokens/" % (GATEWAY, WORKSPACE, "Projects")
r = requests.post(tokens_url, data={"app_name": "reporting", "permission": "rw"},
                  headers={"Authorization": "Token " + alice.token}, timeout=10)
assert r.status_code == 201, (r.status_code, r.text)
api_token = r.json()["api_token"]
ok("POST .../api-tokens/: API token for app 'reporting' (rw) created, shown once")

app = Base(api_token, GATEWAY)
app.auth()
m = mark()
assert len(app.list_rows("Table1")) == 3
[get] = seen_since(m)
assert get["headers"]["x-portcullis-key-id"] == "base:app:reporting", get
ok("Base(api_token, url).auth() and list_rows: dtable-server saw key id %s"
   % get["headers"]["x-portcullis-key-id"])

# A base token is for its own base only: the other base's URL is refused before dtable-server.
m = mark()
other = requests.get("%s/dtable-server/api/v1/dtables/%s/rows/" % (GATEWAY, REPORTS),
                     headers=app.headers, timeout=10)
assert (other.status_code, other.json()) == (403, {"error_msg": "Permission denied."}), other.text
no_base = requests.get(GATEWAY + "/dtable-server/ping/", headers=app.headers, timeout=10)
assert no_base.status_code == 403, no_base.text
assert seen_since(m) == []
ok("the same base token on another base's rows: 403 %s; on a path without a base: 403"
   % other.text)

# 3. bob is a read-only member of Projects: he reads, he cannot write.
bob = Account("bob@example.org", "bob-password", GATEWAY)
bob.auth()
bobs = bob.get_base(WORKSPACE, "Projects")
assert len(bobs.list_rows("Table1")) == 3
m = mark()
status, body = refused(lambda: bobs.append_row("Table1", {"Name": "from bob"}))
assert seen_since(m) == []
ok("bob (member 'r') lists rows; append_row raises ConnectionError(%d, %s), never forwarded"
   % (status, body))
try:
    bob.get_base(WORKSPACE, "Field Reports")
    raise AssertionError("bob opened a base he is not a member of")
except ConnectionError as e:
    ok("bob.get_base(1, 'Field Reports') (not a member): ConnectionError%s" % (e.args,))

# 4. The API-gateway base: the client switches to /api-gateway/api/v2/... by itself.
reports = alice.get_base(WORKSPACE, "Field Reports")
assert reports.use_api_gateway is True
m = mark()
assert len(reports.list_rows("Table1")) == 2
reports.append_row("Table1", {"Name": "field note"})
[get, post] = seen_since(m)
assert get["path"].startswith("/api-gateway/api/v2/dtables/%s/rows/" % REPORTS), get
assert post["path"] == "/api-gateway/api/v2/dtables/%s/rows/" % REPORTS, post
ok("'Field Reports' (use_api_gateway): list_rows and append_row went to %s" % post["path"])

# 5. Deleting the API token revokes it and every base token minted from it, on the next request.
r = requests.delete(tokens_url + "reporting/", headers={"Authorization": "Token " + alice.token},
                    timeout=10)
assert (r.status_code, r.json()) == (200, {"success": True}), r.text
m = mark()
refused(lambda: app.list_rows("Table1"))
refused(lambda: Base(api_token, GATEWAY).auth())
assert seen_since(m) == []
ok("API token deleted: its base token and a new auth() are refused with 403")

# 6. A wrong password is answered as SeaTable answers it.
try:
    Account("alice@example.org", "not-her-password", GATEWAY).auth()
    raise AssertionError("a wrong password logged in")
except ConnectionError as e:
    assert e.args[0] == 400, e.args
    ok("a wrong password: ConnectionError%s" % (e.args,))
