"""Fixtures for driving the built `portcullis` binary with SeaTable's official Python client.

Nothing is built here: the binary comes from `PORTCULLIS_BIN` (default `target/debug/portcullis`
under the repository root). A `Gateway` gets a temporary settings file and policy directory, free
ports (bound on 127.0.0.1:0, then released), HS256 signing keys passed in its environment, and a
recording upstream standing in for dtable-server. Its log (stderr) goes to a file that tests scan
for secrets.
"""

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
        payload = {"rows": ROWS} if self.command == "GET" else {"ok": True}
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args):
        pass


class Upstream:
    """A recording HTTP server in a thread on a free port."""

    def __init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
        self.server.seen = []
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
        env = dict(os.environ, **self.keys, RUST_LOG="info,portcullis=trace")
        self.proc = subprocess.Popen(
            [str(BIN), "serve", "--config", str(tmp / "settings.json")],
            stdout=self.log, stderr=subprocess.STDOUT, env=env,
        )
        self.wait_ready()

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
