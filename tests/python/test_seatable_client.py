"""SeaTable's official Python client (seatable-api, unchanged) against the portcullis binary.

The gateway answers the token endpoints itself and forwards base requests to a recording
upstream standing in for dtable-server: `Base(api_token, url)`, the API-gateway variant,
`Account(...).get_base(...)`, expiry seen as `AuthExpiredError` and recovered by a fresh `auth()`,
a read-only token refused a write, and the same flows with `Authorization: Bearer` through curl.
"""

import json
import subprocess
import time
import uuid

import jwt
import pytest
import requests
from seatable_api import Account, Base
from seatable_api.exception import AuthExpiredError

from conftest import (
    GATEWAY_BASE, GATEWAY_BASE_NAME, OWNER, PASSWORD, ROWS, SALES, SALES_NAME, WORKSPACE,
)


def app_name():
    return "app-" + uuid.uuid4().hex[:8]


def requests_to(upstream, start):
    return upstream.seen[start:]


def test_api_token_base_lists_rows(gateway, upstream, account_token):
    app = app_name()
    token = gateway.create_api_token(account_token, SALES_NAME, app, "rw")
    base = Base(token, gateway.url)
    base.auth()
    gateway.secrets.append(base.jwt_token)
    assert base.dtable_uuid == SALES
    assert base.dtable_name == SALES_NAME
    assert base.dtable_db_url == gateway.url + "/dtable-db"
    assert not base.use_api_gateway

    start = len(upstream.seen)
    assert base.list_rows("Table1") == ROWS
    [seen] = requests_to(upstream, start)
    assert seen["method"] == "GET"
    assert seen["path"] == "/dtable-server/api/v1/dtables/%s/rows/?table_name=Table1" % SALES
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert headers["x-portcullis-credential"] == "base"
    assert headers["x-portcullis-key-id"] == "base:app:" + app
    assert "authorization" not in headers


def test_api_gateway_base_uses_the_api_gateway_paths(gateway, upstream, account_token):
    token = gateway.create_api_token(account_token, GATEWAY_BASE_NAME, app_name(), "rw")
    base = Base(token, gateway.url)
    base.auth()
    assert base.use_api_gateway is True
    start = len(upstream.seen)
    assert base.list_rows("Table1") == ROWS
    [seen] = requests_to(upstream, start)
    assert seen["path"].startswith("/api-gateway/api/v2/dtables/%s/rows/?" % GATEWAY_BASE)
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert headers["x-portcullis-credential"] == "base"


def test_account_get_base_lists_rows(gateway, upstream):
    account = Account(OWNER, PASSWORD, gateway.url)
    account.auth()
    gateway.secrets.append(account.token)
    base = account.get_base(WORKSPACE, SALES_NAME)
    assert base.dtable_uuid == SALES
    start = len(upstream.seen)
    assert base.list_rows("Table1") == ROWS
    [seen] = requests_to(upstream, start)
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert headers["x-portcullis-key-id"] == "base:" + OWNER
    assert headers["x-portcullis-user"] == OWNER


def test_wrong_password_is_refused_like_seatable(gateway):
    with pytest.raises(ConnectionError) as e:
        Account(OWNER, "not-" + PASSWORD, gateway.url).auth()
    status, body = e.value.args
    assert status == 400
    assert json.loads(body) == {"non_field_errors": ["Unable to login with provided credentials."]}


def test_expired_base_token_raises_auth_expired_and_auth_recovers(gateway, upstream, account_token):
    token = gateway.create_api_token(account_token, SALES_NAME, app_name(), "rw")
    base = Base(token, gateway.url)
    base.auth()
    now = int(time.time())
    claims = {
        "kind": "base", "sub": OWNER, "username": OWNER, "jti": uuid.uuid4().hex,
        "iat": now - 7200, "exp": now - 3600, "dtable_uuid": SALES, "permission": "rw",
    }
    expired = jwt.encode(claims, gateway.keys["PC_BASE_KEY"], algorithm="HS256",
                         headers={"kid": "base-1"})
    base.jwt_token = expired
    base.headers = dict(base.headers, Authorization="Token " + expired)
    start = len(upstream.seen)
    with pytest.raises(AuthExpiredError):
        base.list_rows("Table1")
    assert requests_to(upstream, start) == []

    # The same claims, unexpired, are accepted: the refusal was the expiry, not the signature.
    claims["exp"] = now + 600
    fresh = jwt.encode(claims, gateway.keys["PC_BASE_KEY"], algorithm="HS256",
                       headers={"kid": "base-1"})
    base.headers = dict(base.headers, Authorization="Token " + fresh)
    assert base.list_rows("Table1") == ROWS

    base.headers = dict(base.headers, Authorization="Token " + expired)
    base.auth()
    assert base.list_rows("Table1") == ROWS


def test_read_only_token_cannot_append(gateway, upstream, account_token):
    token = gateway.create_api_token(account_token, SALES_NAME, app_name(), "r")
    base = Base(token, gateway.url)
    base.auth()
    assert base.list_rows("Table1") == ROWS
    start = len(upstream.seen)
    with pytest.raises(ConnectionError) as e:
        base.append_row("Table1", {"Name": "third"})
    assert not isinstance(e.value, AuthExpiredError)
    status, body = e.value.args
    assert status == 403
    assert json.loads(body) == {"error_msg": "Permission denied."}
    assert requests_to(upstream, start) == []


def test_api_token_management_with_requests(gateway, account_token):
    """List, update (multipart, as `files=` encodes it) and delete through python-requests."""
    app = app_name()
    token = gateway.create_api_token(account_token, SALES_NAME, app, "rw")
    auth = {"Authorization": "Token " + account_token}
    tokens_url = "%s/api/v2.1/workspace/%d/dtable/%s/api-tokens/" % (
        gateway.url, WORKSPACE, SALES_NAME)
    listed = requests.get(tokens_url, headers=auth, timeout=30)
    assert listed.status_code == 200, listed.text
    [mine] = [t for t in listed.json()["api_tokens"] if t["app_name"] == app]
    assert mine["permission"] == "rw"
    assert token not in listed.text

    r = requests.put(tokens_url + app + "/", files={"permission": (None, "r")},
                     headers=auth, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["permission"] == "r"
    base = Base(token, gateway.url)
    base.auth()
    with pytest.raises(ConnectionError):
        base.append_row("Table1", {"Name": "x"})

    r = requests.delete(tokens_url + app + "/", headers=auth, timeout=30)
    assert (r.status_code, r.json()) == (200, {"success": True})
    with pytest.raises(ConnectionError) as e:
        Base(token, gateway.url).auth()
    assert e.value.args[0] == 403
    with pytest.raises(ConnectionError) as e:
        base.list_rows("Table1")
    assert e.value.args[0] == 403, "a base token of a deleted API token still works"
    r = requests.delete(tokens_url + app + "/", headers=auth, timeout=30)
    assert (r.status_code, r.json()) == (404, {"error_msg": "api token %s not found." % app})


def curl(*args):
    out = subprocess.run(
        ["curl", "-s", "-S", "--max-time", "20", "-w", "\n%{http_code}", *args],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout
    body, _, status = out.rpartition("\n")
    return int(status), body


def bearer(token):
    return ["-H", "Authorization: Bearer " + token]


def test_bearer_flows_with_curl(gateway, upstream, account_token):
    status, body = curl("--data-urlencode", "username=" + OWNER,
                        "--data-urlencode", "password=" + PASSWORD,
                        gateway.url + "/api2/auth-token/")
    assert status == 200, body
    account = json.loads(body)["token"]
    gateway.secrets.append(account)

    temp_url = "%s/api/v2.1/workspace/%d/dtable/%s/temp-api-token/" % (
        gateway.url, WORKSPACE, SALES_NAME.replace(" ", "%20"))
    status, body = curl(*bearer(account), temp_url)
    assert status == 200, body
    temp = json.loads(body)["api_token"]
    gateway.secrets.append(temp)

    api = gateway.create_api_token(account_token, SALES_NAME, app_name(), "r")
    rows_url = "%s/dtable-server/api/v1/dtables/%s/rows/?table_name=Table1" % (gateway.url, SALES)
    for credential in (temp, api):
        status, body = curl(*bearer(credential), gateway.url + "/api/v2.1/dtable/app-access-token/")
        assert status == 200, body
        access = json.loads(body)
        gateway.secrets.append(access["access_token"])
        assert access["dtable_uuid"] == SALES
        assert access["dtable_db"] == gateway.url + "/dtable-db/"
        start = len(upstream.seen)
        status, body = curl(*bearer(access["access_token"]), rows_url)
        assert status == 200, body
        assert json.loads(body) == {"rows": ROWS}
        assert len(requests_to(upstream, start)) == 1

    status, body = curl(*bearer(access["access_token"]), "-X", "POST",
                        "-H", "Content-Type: application/json", "-d", "{}", rows_url)
    assert (status, json.loads(body)) == (403, {"error_msg": "Permission denied."})
    status, body = curl(*bearer("not-a-token"), rows_url)
    assert (status, json.loads(body)) == (403, {"error_msg": "Permission denied."})


def test_no_secret_reaches_the_gateway_log(gateway, account_token):
    # Make sure there is traffic even if run alone.
    gateway.create_api_token(account_token, SALES_NAME, app_name(), "r")
    log = gateway.log_text()
    assert "API credential created" in log, "the log capture is not working"
    for secret in gateway.secrets:
        assert secret not in log, "a secret reached the log"
