"""Tokens in SeaTable's own shape, against the portcullis binary.

The gateway here holds the deployment secret as a SeaTable key (`DTABLE_PRIVATE_KEY`), mints the
sales base's tokens in SeaTable's shape, and protects dtable-server and the API gateway with
catch-all routes whose base comes from SeaTable's URL shapes. Tokens are made with PyJWT exactly
as dtable-web makes them; a minted token is checked the way dtable-server checks it (PyJWT, the
shared secret, HS256); the official `seatable-api` client runs through the catch-all routes.
"""

import json
import os
import time
import uuid

import jwt
import pytest
import requests
from seatable_api import Base

from conftest import (
    GATEWAY_BASE, GATEWAY_BASE_NAME, OWNER, PASSWORD, ROWS, SALES, SALES_NAME, WORKSPACE,
    Gateway,
)

DENIED = {"error_msg": "Permission denied."}
EXPIRED = {"error_msg": "Token expired."}


class SeaTableGateway(Gateway):
    """The conftest gateway with SeaTable's secret, SeaTable-shaped minting and catch-all routes."""

    def policy(self):
        secret = os.urandom(32).hex()
        self.keys["DTABLE_PRIVATE_KEY"] = secret
        self.secrets.append(secret)
        p = super().policy()

        def catch_all(rid, prefix):
            return {
                "id": rid, "path": prefix + "/{*rest}",
                "module": "dtable", "action": "access",
                "resources": {"base": {"seatable_base": "rest"}},
                "upstream": "dtable", "accept": ["base"], "error_style": "seatable",
            }

        p["routes"] = [catch_all("dtable-server", "/dtable-server"),
                       catch_all("api-gateway", "/api-gateway")]
        p["signing_keys"]["dtable"] = {
            "shape": "seatable", "alg": "HS256", "secret": {"env": "DTABLE_PRIVATE_KEY"},
        }
        p["bases"][SALES]["token_shape"] = "seatable"
        return p

    @property
    def dtable_key(self):
        return self.keys["DTABLE_PRIVATE_KEY"]


@pytest.fixture(scope="module")
def st(tmp_path_factory, upstream):
    gw = SeaTableGateway(tmp_path_factory.mktemp("portcullis-st"), upstream)
    yield gw
    gw.close()


@pytest.fixture(scope="module")
def st_account(st):
    return st.account_token()


def rows_url(gw, base=SALES):
    return "%s/dtable-server/api/v1/dtables/%s/rows/" % (gw.url, base)


def dtable_web_base_token(secret, base=SALES, permission="rw", exp=None, **over):
    """A base token as dtable-web's app-access-token view makes it."""
    payload = {
        "exp": int(time.time()) + 86400 * 3 if exp is None else exp,
        "dtable_uuid": base,
        "username": "",
        "permission": permission,
        "app_name": "postman",
        "id_in_org": "",
        "org_id": -1,
        "owner_id": OWNER,
        "user_department_ids_map": {"current_user_department_ids": [],
                                    "current_user_department_and_sub_ids": []},
    }
    payload.update(over)
    return jwt.encode(payload, secret, algorithm="HS256")


def dtable_web_temp_token(secret, username=OWNER, base=SALES):
    """A temporary API token as dtable-web's temp-api-token view makes it (decimal exp)."""
    payload = {"username": username, "dtable_uuid": base, "exp": time.time() + 3600}
    return jwt.encode(payload, secret, algorithm="HS256")


def call(method, url, token, **kw):
    r = requests.request(method, url, headers={"Authorization": "Token " + token}, timeout=30, **kw)
    try:
        return r.status_code, r.json()
    except ValueError:
        return r.status_code, r.text


def test_dtable_web_tokens_are_accepted(st, upstream):
    rw = dtable_web_base_token(st.dtable_key)
    assert jwt.get_unverified_header(rw) == {"alg": "HS256", "typ": "JWT"}
    start = len(upstream.seen)
    assert call("GET", rows_url(st) + "?table_name=Table1", rw) == (200, {"rows": ROWS})
    assert call("POST", rows_url(st), rw, json={"table_name": "Table1", "row": {}}) == (
        200, {"ok": True})
    assert len(upstream.seen) == start + 2

    ro = dtable_web_base_token(st.dtable_key, permission="r")
    assert call("GET", rows_url(st), ro)[0] == 200
    start = len(upstream.seen)
    assert call("POST", rows_url(st), ro, json={"row": {}}) == (403, DENIED)
    assert len(upstream.seen) == start

    temp = dtable_web_temp_token(st.dtable_key)
    status, body = call("GET", st.url + "/api/v2.1/dtable/app-access-token/", temp)
    assert status == 200, body
    assert body["dtable_uuid"] == SALES
    assert call("POST", rows_url(st), body["access_token"], json={"row": {}})[0] == 200


def forgeries(secret):
    now = int(time.time())
    good = jwt.decode(dtable_web_base_token(secret), secret, algorithms=["HS256"])
    no_exp = {k: v for k, v in good.items() if k != "exp"}
    return [
        ("alg none", jwt.encode(good, None, algorithm="none"), DENIED),
        ("another secret", dtable_web_base_token("x" * 64), DENIED),
        ("expired", dtable_web_base_token(secret, exp=now - 60), EXPIRED),
        ("float exp", dtable_web_base_token(secret, exp=now + 600.5), DENIED),
        ("no exp", jwt.encode(no_exp, secret, algorithm="HS256"), DENIED),
        ("other base", dtable_web_base_token(secret, base=GATEWAY_BASE), DENIED),
        ("HS512", jwt.encode(good, secret, algorithm="HS512"), DENIED),
        ("temporary token", dtable_web_temp_token(secret), DENIED),
    ]


@pytest.mark.parametrize("index", range(8))
def test_each_forgery_is_refused(st, upstream, index):
    label, token, body = forgeries(st.dtable_key)[index]
    start = len(upstream.seen)
    assert call("GET", rows_url(st), token) == (403, body), label
    assert len(upstream.seen) == start, label
    # The genuine token passes the same way: the refusal is the forgery's.
    assert call("GET", rows_url(st), dtable_web_base_token(st.dtable_key))[0] == 200


def test_read_only_write_is_refused(st, upstream):
    token = dtable_web_base_token(st.dtable_key, permission="r")
    for method in ("POST", "PUT", "DELETE"):
        start = len(upstream.seen)
        assert call(method, rows_url(st), token, json={"row": {}}) == (403, DENIED), method
        assert len(upstream.seen) == start


def test_minted_token_verifies_like_dtable_server(st, st_account):
    api = st.create_api_token(st_account, SALES_NAME, "app-" + uuid.uuid4().hex[:8], "rw")
    status, body = call("GET", st.url + "/api/v2.1/dtable/app-access-token/", api)
    assert status == 200, body
    token = body["access_token"]
    st.secrets.append(token)
    assert "kid" not in jwt.get_unverified_header(token)
    claims = jwt.decode(token, st.dtable_key, algorithms=["HS256"],
                        options={"require": ["exp"]})
    assert claims["dtable_uuid"] == SALES
    assert claims["permission"] == "rw"
    assert claims["username"] == ""
    assert claims["owner_id"] == OWNER
    assert isinstance(claims["exp"], int)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "y" * 64, algorithms=["HS256"])


def test_seatable_api_client_through_catch_all(st, upstream, st_account):
    api = st.create_api_token(st_account, SALES_NAME, "app-" + uuid.uuid4().hex[:8], "rw")
    base = Base(api, st.url)
    base.auth()
    st.secrets.append(base.jwt_token)
    start = len(upstream.seen)
    assert base.list_rows("Table1") == ROWS
    base.append_row("Table1", {"Name": "third"})
    seen = upstream.seen[start:]
    assert [s["method"] for s in seen] == ["GET", "POST"]
    assert seen[0]["path"].startswith("/dtable-server/api/v1/dtables/%s/" % SALES)
    headers = {k.lower(): v for k, v in seen[0]["headers"].items()}
    assert headers["x-portcullis-resource-base"] == SALES

    # The API-gateway base, through the other catch-all route.
    api = st.create_api_token(st_account, GATEWAY_BASE_NAME, "app-" + uuid.uuid4().hex[:8], "rw")
    gw_base = Base(api, st.url)
    gw_base.auth()
    assert gw_base.use_api_gateway is True
    start = len(upstream.seen)
    assert gw_base.list_rows("Table1") == ROWS
    assert upstream.seen[start]["path"].startswith("/api-gateway/api/v2/dtables/%s/" % GATEWAY_BASE)

    # A base token does not open another base through the catch-all route.
    start = len(upstream.seen)
    status, body = call("GET", rows_url(st, GATEWAY_BASE), base.jwt_token)
    assert (status, body) == (403, DENIED)
    status, body = call("GET", st.url + "/dtable-server/ping/", base.jwt_token)
    assert (status, body) == (403, DENIED)
    assert len(upstream.seen) == start


def test_downgraded_api_token_base_token_can_no_longer_write(st, upstream, st_account):
    app = "app-" + uuid.uuid4().hex[:8]
    api = st.create_api_token(st_account, SALES_NAME, app, "rw")
    base = Base(api, st.url)
    base.auth()
    base.append_row("Table1", {"Name": "before"})
    url = "%s/api/v2.1/workspace/%d/dtable/%s/api-tokens/%s/" % (
        st.url, WORKSPACE, SALES_NAME, app)
    r = requests.put(url, files={"permission": (None, "r")},
                     headers={"Authorization": "Token " + st_account}, timeout=30)
    assert r.status_code == 200, r.text
    start = len(upstream.seen)
    with pytest.raises(ConnectionError) as e:
        base.append_row("Table1", {"Name": "after"})
    assert e.value.args[0] == 403
    assert len(upstream.seen) == start
    assert base.list_rows("Table1") == ROWS


def test_login_takes_a_json_body(st):
    r = requests.post(st.url + "/api2/auth-token/",
                      json={"username": OWNER, "password": PASSWORD}, timeout=30)
    assert r.status_code == 200, r.text
    st.secrets.append(r.json()["token"])
    r = requests.post(st.url + "/api2/auth-token/",
                      json={"username": OWNER, "password": "not-" + PASSWORD}, timeout=30)
    assert (r.status_code, r.json()) == (
        400, {"non_field_errors": ["Unable to login with provided credentials."]})


def test_last_access_is_shown(st, st_account):
    app = "app-" + uuid.uuid4().hex[:8]
    api = st.create_api_token(st_account, SALES_NAME, app, "r")
    url = "%s/api/v2.1/workspace/%d/dtable/%s/api-tokens/" % (st.url, WORKSPACE, SALES_NAME)

    def mine():
        r = requests.get(url, headers={"Authorization": "Token " + st_account}, timeout=30)
        return [t for t in r.json()["api_tokens"] if t["app_name"] == app][0]

    assert mine()["last_access"] == mine()["generated_at"]
    time.sleep(1.1)
    Base(api, st.url).auth()
    assert mine()["last_access"] > mine()["generated_at"]


def test_no_secret_reaches_the_log(st):
    log = st.log_text()
    assert "API credential created" in log, "the log capture is not working"
    for secret in st.secrets:
        assert secret not in log, "a secret reached the log"
    assert json.dumps(st.dtable_key) not in log
