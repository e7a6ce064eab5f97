"""Fixtures for driving the built `portcullis` binary with SeaTable's official Python client.

Nothing is built here: the binary comes from `PORTCULLIS_BIN` (default `target/debug/portcullis`
under the repository root). A `Gateway` gets a temporary settings file and policy directory, free
ports (bound on 127.0.0.1:0, then released), HS256 signing keys passed in its environment, and a
recording upstream standing in for dtable-server. Its log (stderr) goes to a file that tests scan
for secrets. `ManagementGateway` (fixture `mgmt`) is the same with a `management` policy
(contract.fit API keys, Trivore authorisation records), and can be SIGKILLed and restarted.
"""

import hashlib
import json
import os
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("PORTCULLIS_BIN", ROOT / "target" / "debug" / "portcullis"))

ROWS = [{"_id": "r1", "Name": "first"}, {"_id": "r2", "Name": "second"}]
OWNER = "alice@example.org"
PASSWORD = "alice-python-pw-7c2e9b"
WORKSPACE = 3
SALES = "5a1e5000-0000-4000-8000-0000000000a1"
SALES_NAME = "Sales Base"
GATEWAY_BASE = "6a7e6a7e-0000-4000-8000-0000000000a2"
GATEWAY_BASE_NAME = "Gateway Base"


def free_port():
    """A port that was free a moment ago (bound to 127.0.0.1:0, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args, stdin=""):
    """Run a `portcullis` subcommand, return its standard output."""
    out = subprocess.run(
        [str(BIN), *args], input=stdin, capture_output=True, text=True, timeout=60, check=True
    )
    return out.stdout


class Recorder(BaseHTTPRequestHandler):
    """dtable-server stand-in: records each request; GET answers rows, others `{"ok": true}`."""

    protocol_version = "HTTP/1.1"
    seen = None  # set per server

    def _answer(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        )
        answers = getattr(self.server, "answers", {})
        if self.path.split("?")[0] in answers:
            payload = answers[self.path.split("?")[0]]
        else:
            payload = {"rows": ROWS} if self.command == "GET" else {"ok": True}
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

    def log_message(self, *args):
        pass


class Upstream:
    """A recording HTTP server in a thread on a free port; `answers` maps a path (without its
    query) to the JSON it answers instead of the default."""

    def __init__(self, answers=None):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
        self.server.seen = []
        self.server.answers = dict(answers or {})
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def seen(self):
        return self.server.seen

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Gateway:
    """`portcullis serve` on free ports with a policy of its own."""

    def __init__(self, tmp, upstream):
        self.port, self.admin_port = free_port(), free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.upstream = upstream
        self.keys = {
            "PC_ACCT_KEY": cli("user", "signing-secret").strip(),
            "PC_TEMP_KEY": os.urandom(24).hex(),
            "PC_BASE_KEY": os.urandom(24).hex(),
        }
        self.secrets = [PASSWORD, *self.keys.values()]
        self.dir = tmp
        (tmp / "policy").mkdir()
        (tmp / "policy" / "policy.json").write_text(json.dumps(self.policy(), indent=2))
        (tmp / "settings.json").write_text(json.dumps(self.settings()))
        self.log_path = tmp / "gateway.log"
        self.log = open(self.log_path, "w")
        self.start()

    def start(self):
        """Start the binary (again, after `kill`: same ports, policy and log) and wait for it."""
        env = dict(os.environ, **self.keys, RUST_LOG="info,portcullis=trace")
        self.proc = subprocess.Popen(
            [str(BIN), "serve", "--config", str(self.dir / "settings.json")],
            stdout=self.log, stderr=subprocess.STDOUT, env=env,
        )
        self.wait_ready()

    def kill(self):
        """SIGKILL the process (no shutdown of any kind) and reap it."""
        self.proc.kill()
        self.proc.wait()

    def settings(self):
        return {
            "listeners": [{"address": "127.0.0.1:%d" % self.port}],
            "admin": {"address": "127.0.0.1:%d" % self.admin_port},
            "policy": "policy",
            "log": {"format": "text", "level": "info"},
        }

    def base(self, name, **extra):
        return {
            "workspace_id": WORKSPACE, "name": name, "owner": OWNER,
            "dtable_server": self.url + "/dtable-server/",
            "dtable_socket": self.url + "/",
            **extra,
        }

    def policy(self):
        def route(rid, prefix):
            return {
                "id": rid, "path": prefix + "/{base}/{*rest}",
                "module": "dtable", "action": "access",
                "resources": {"base": {"path": "base"}},
                "upstream": "dtable", "accept": ["base"], "error_style": "seatable",
            }

        return {
            "mode": "limited-access",
            "upstreams": {"dtable": {"url": self.upstream.url}},
            "routes": [
                route("dtable-server", "/dtable-server/api/v1/dtables"),
                route("api-gateway", "/api-gateway/api/v2/dtables"),
            ],
            "users": {OWNER: {"password": cli("user", "hash-password", stdin=PASSWORD + "\n").strip()}},
            "signing_keys": {
                "acct-1": {"use": "account", "alg": "HS256", "secret": {"env": "PC_ACCT_KEY"}},
                "temp-1": {"use": "temporary", "alg": "HS256", "secret": {"env": "PC_TEMP_KEY"}},
                "base-1": {"use": "base", "alg": "HS256", "secret": {"env": "PC_BASE_KEY"}},
            },
            "bases": {
                SALES: self.base(SALES_NAME, dtable_db=self.url + "/dtable-db/"),
                GATEWAY_BASE: self.base(GATEWAY_BASE_NAME, use_api_gateway=True),
            },
            "seatable": {},
        }

    def wait_ready(self):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("portcullis exited: " + self.log_path.read_text())
            try:
                if requests.get("http://127.0.0.1:%d/readyz" % self.admin_port, timeout=1).ok:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError("portcullis never became ready: " + self.log_path.read_text())

    def account_token(self):
        r = requests.post(self.url + "/api2/auth-token/",
                          data={"username": OWNER, "password": PASSWORD}, timeout=30)
        assert r.status_code == 200, r.text
        token = r.json()["token"]
        self.secrets.append(token)
        return token

    def create_api_token(self, account_token, base_name, app, permission):
        """Create an API token through the gateway's own endpoint; returns the plaintext."""
        url = "%s/api/v2.1/workspace/%d/dtable/%s/api-tokens/" % (self.url, WORKSPACE, base_name)
        r = requests.post(url, data={"app_name": app, "permission": permission},
                          headers={"Authorization": "Token " + account_token}, timeout=30)
        assert r.status_code == 201, r.text
        token = r.json()["api_token"]
        self.secrets.append(token)
        return token

    def log_text(self):
        self.log.flush()
        return self.log_path.read_text()

    def assert_no_secret_logged(self):
        """No secret this gateway's tests used appears in its log."""
        log = self.log_text()
        assert log, "the gateway logged nothing"
        leaked = [i for i, secret in enumerate(self.secrets) if secret and secret in log]
        assert not leaked, "secrets #%s reached the log" % leaked

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture(scope="module")
def upstream():
    up = Upstream()
    yield up
    up.close()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, upstream):
    if not BIN.exists():
        pytest.fail("no portcullis binary at %s (run `cargo build`)" % BIN)
    gw = Gateway(tmp_path_factory.mktemp("portcullis"), upstream)
    yield gw
    gw.close()


@pytest.fixture(scope="module")
def account_token(gateway):
    return gateway.account_token()


# --- Management APIs (issue #7): contract.fit scoped API keys and Trivore authorisation records.

ADMIN = "timothe@example.org"  # the seed's `admin`, with its own password
ADMIN_PASSWORD = "admin-python-pw-4f1d8a"
VIEWER = "viewer@example.org"  # may only view API keys
VIEWER_PASSWORD = "viewer-python-pw-93be27"
CAROL = "carol@example.org"  # no roles of her own; Trivore records delegate to her
CAROL_PASSWORD = "carol-python-pw-0d5c61"
# Management clients (HTTP Basic), as onePortal's: id → (secret, namespaces, permissions).
CLIENTS = {
    "1248769513590337": ("client-root-%s" % os.urandom(6).hex(), ["root"],
                         {"authorisation": ["all"]}),
    "3430986450301641": ("client-other-%s" % os.urandom(6).hex(), ["other"],
                         {"authorisation": ["all"]}),
    "5500000000000007": ("client-viewer-%s" % os.urandom(6).hex(), ["root"],
                         {"authorisation": ["view"]}),
}
ROOT_CLIENT, OTHER_CLIENT, VIEW_CLIENT = CLIENTS
INVOICE_INBOX = "5f0c0ffee0000000000000a1"
OTHER_INBOX = "5f0c0ffee0000000000000b2"
INBOXES = [{"id": "5f0c0ffee0000000000000c3", "name": "receipts"},
           {"id": INVOICE_INBOX, "name": "invoice"},
           {"id": OTHER_INBOX, "name": "contracts"}]


class ManagementGateway(Gateway):
    """The gateway with a `management` policy: contract.fit endpoints under `/admin`, Trivore's
    under `/api/rest/v1`, inbox/document/permit routes to the recording upstream (which answers
    `GET /admin/inboxes` with `INBOXES`), and `?api_key=` as a credential."""

    def __init__(self, tmp, upstream):
        upstream.server.answers["/admin/inboxes"] = INBOXES
        self.clients = CLIENTS
        super().__init__(tmp, upstream)
        self.secrets += [ADMIN_PASSWORD, VIEWER_PASSWORD, CAROL_PASSWORD]
        self.secrets += [secret for secret, _, _ in CLIENTS.values()]

    @property
    def managed_path(self):
        return self.dir / "policy" / "portcullis-managed.json"

    def managed(self):
        """The managed file, parsed (`{}` if absent)."""
        if not self.managed_path.exists():
            return {}
        return json.loads(self.managed_path.read_text())

    def policy(self):
        def route(rid, path, module, action, resources=(), methods=("GET",)):
            return {
                "id": rid, "path": path, "methods": list(methods),
                "module": module, "action": action, "upstream": "app",
                "resources": {r: {"path": r} for r in resources},
            }

        def pw(p):
            return cli("user", "hash-password", stdin=p + "\n").strip()

        return {
            "mode": "limited-access",
            "upstreams": {"app": {"url": self.upstream.url}},
            "credential_query_params": ["api_key"],
            "roles": {
                "edit_backend_settings": {
                    "role": ["view", "create"], "user": ["view", "create"],
                    "api_key": ["view", "create", "update", "delete"],
                },
                "view_api_keys": {"api_key": ["view"]},
                "inbox_reader": {"inbox": ["view"], "document": ["view"]},
                "permit_filer": {"permit": ["view", "file"]},
            },
            "routes": [
                route("inboxes", "/admin/inboxes", "inbox", "view"),
                route("inbox-documents", "/inboxes/{inbox}/documents", "document", "view",
                      ["inbox"]),
                route("document", "/inboxes/{inbox}/documents/{document}", "document", "view",
                      ["inbox", "document"]),
                route("document-by-query", "/documents", "document", "view"),
                route("permit", "/permits/{permit}", "permit", "file", ["permit"],
                      ("GET", "POST")),
            ],
            "users": {
                ADMIN: {"password": pw(ADMIN_PASSWORD),
                        "roles": ["edit_backend_settings", "view_api_keys", "inbox_reader"]},
                VIEWER: {"password": pw(VIEWER_PASSWORD), "roles": ["view_api_keys"]},
                CAROL: {"password": pw(CAROL_PASSWORD)},
            },
            "signing_keys": {
                "acct-1": {"use": "account", "alg": "HS256", "secret": {"env": "PC_ACCT_KEY"}},
            },
            "management": {
                "contractfit": {"prefix": "/admin", "login_failures_per_user_per_minute": 50,
                                "login_failures_per_address_per_minute": 200},
                "trivore": {},
                "clients": {
                    cid: {"sha256": hashlib.sha256(secret.encode()).hexdigest(),
                          "permissions": perms, "namespaces": ns}
                    for cid, (secret, ns, perms) in CLIENTS.items()
                },
                "authorisation_types": {
                    "file_for_permit": {"role": "permit_filer", "resource": "permit"},
                },
            },
        }

    def basic(self, client_id=ROOT_CLIENT):
        """`requests` auth for a management client."""
        return (client_id, self.clients[client_id][0])

    def admin_token(self, username=ADMIN, password=ADMIN_PASSWORD):
        """`POST /admin/auth` → the authentication token (remembered as a secret)."""
        r = requests.post(self.url + "/admin/auth",
                          json={"username": username, "password": password}, timeout=30)
        assert r.status_code == 200, r.text
        token = r.json()["authentication_token"]
        self.secrets.append(token)
        return token


@pytest.fixture(scope="module")
def mgmt_upstream():
    up = Upstream({"/admin/inboxes": INBOXES})
    yield up
    up.close()


@pytest.fixture(scope="module")
def mgmt(tmp_path_factory, mgmt_upstream):
    """A `ManagementGateway` for one test module; its log is scanned for secrets at the end."""
    if not BIN.exists():
        pytest.fail("no portcullis binary at %s (run `cargo build`)" % BIN)
    gw = ManagementGateway(tmp_path_factory.mktemp("portcullis-mgmt"), mgmt_upstream)
    yield gw
    gw.close()
