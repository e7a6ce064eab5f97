#!/usr/bin/env python3
"""Soak: sustained load while the policy is rewritten, the upstream dies and management writes run.

Loopback only, bounded in count and time. The gateway (release build by default: run
`cargo build --release --locked` first, or pass --bin) serves a policy directory; a Python upstream
runs in a child process. Then, all at once:

- load: HTTP/1.1 keep-alive workers with a valid key, an unknown key and a key that the policy
  revokes and restores, plus h2c batches through curl (`--http2-prior-knowledge`);
- the policy is rewritten EDITS times in each style: in place, write-and-rename, delete and
  recreate, and a ConfigMap-style symlink swap; every tenth edit is invalid (and must change
  nothing); in the middle of each style the revocable key is disabled, and it is enabled again at
  the start of the next style;
- the upstream is killed and restarted every few seconds;
- Trivore authorisation records are created through the management API.

It reports requests sent, unexpected statuses (for the valid key anything but 200, or 502 while
the upstream is down), revoked-key requests accepted after the revocation was seen applied (must
be 0), management writes acknowledged and missing from the file (must be 0), RSS and open file
descriptors of the gateway before and after, and p99 latency in the second after each edit versus
the rest. Exit status 1 if an invariant broke.

    python3 scripts/soak.py --edits 100 [--rounds 3]

With several rounds it also prints RSS and open descriptors under load after the warm-up and
after each round, which tells warm-up growth (once) from a leak (every round).
"""

import argparse
import base64
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VALID, UNKNOWN, REVOCABLE = "soak-valid-5e1f0c", "soak-unknown-77aa12", "soak-revocable-3b9d"
CLIENT, CLIENT_SECRET = "7000000000000001", "soak-client-secret"

UPSTREAM = r'''
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = b'{"ok":true}'
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
ThreadingHTTPServer.allow_reuse_address = True
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha(s):
    return hashlib.sha256(s.encode()).hexdigest()


def policy(upstream_port, revoked, edit, invalid=False):
    p = {
        "mode": "limited-access",
        "upstreams": {"app": {"url": f"http://127.0.0.1:{upstream_port}", "timeout_ms": 2000}},
        "routes": [{"id": "items", "methods": ["GET"], "path": "/items/{id}",
                    "module": "items", "action": "read", "upstream": "app"}],
        "keys": {
            "valid": {"sha256": sha(VALID), "permissions": {"items": ["read"]}},
            "revocable": {"sha256": sha(REVOCABLE), "permissions": {"items": ["read"]},
                          "disabled": revoked},
            f"filler-{edit}": {"sha256": sha(f"filler-{edit}"), "permissions": {}},
        },
        "roles": {"permit_filer": {"permit": ["file"]}},
        "management": {
            "trivore": {},
            "clients": {CLIENT: {"sha256": sha(CLIENT_SECRET),
                                 "permissions": {"authorisation": ["all"]}}},
        },
    }
    if invalid:
        p["routes"][0]["upstream"] = "no-such-upstream"
    return json.dumps(p, indent=1)


class Proc:
    def __init__(self, pid):
        self.pid = pid

    def rss_kib(self):
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def fds(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))


class Soak:
    def __init__(self, args):
        self.args = args
        self.edit_no = 0
        self.work = Path(tempfile.mkdtemp(prefix="pc-soak-"))
        self.pdir = self.work / "policy"
        self.pdir.mkdir()
        self.up_port, self.port, self.admin = free_port(), free_port(), free_port()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.sent = 0
        self.unexpected = []
        self.revoked_accepted = 0
        self.revoked_since = None  # time the revocation was seen applied
        self.upstream_down = False
        self.latencies = []  # (time, seconds)
        self.edits_at = []
        self.acked = []
        self.upstream = None
        self.t_start = time.time()

    # --- parts -------------------------------------------------------------------------
    def start_upstream(self):
        self.upstream = subprocess.Popen([sys.executable, "-c", UPSTREAM, str(self.up_port)])
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.up_port), 0.2).close()
                return
            except OSError:
                time.sleep(0.02)

    def start_gateway(self):
        (self.pdir / "policy.json").write_text(policy(self.up_port, False, 0))
        (self.work / "portcullis.json").write_text(json.dumps({
            "listeners": [{"address": f"127.0.0.1:{self.port}"}],
            "admin": {"address": f"127.0.0.1:{self.admin}"},
            "policy": "policy",
            "reload": {"debounce_ms": 20, "poll_interval_ms": 200, "check_interval_ms": 1000},
            "log": {"level": self.args.log},
        }))
        self.gw = subprocess.Popen([self.args.bin, "serve", "--config", str(self.work / "portcullis.json")],
                                   stdout=subprocess.DEVNULL, stderr=open(self.work / "log", "w"))
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.admin, timeout=1)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    return Proc(self.gw.pid)
            except OSError:
                pass
            time.sleep(0.05)
        sys.exit("the gateway did not become ready: " + (self.work / "log").read_text())

    def worker(self, secret):
        conn = None
        while not self.stop.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                started = time.time()
                t0 = time.perf_counter()
                conn.request("GET", "/items/1", headers={"x-api-key": secret})
                r = conn.getresponse()
                r.read()
                took = time.perf_counter() - t0
                status = r.status
            except (OSError, http.client.HTTPException):
                conn = None
                status = "connection error"
                took = None
            self.judge(secret, status, took, started)

    def judge(self, secret, status, took, started):
        """Judge one answer; `started` is when the request was sent (a request in flight when
        the revocation applied may still pass: it was decided before)."""
        now = time.time()
        with self.lock:
            self.sent += 1
            if took is not None:
                self.latencies.append((now, took))
            if secret == VALID and status != 200 and not (status == 502 and self.upstream_down_recently(started)):
                self.unexpected.append((secret[:10], status, round(started - self.t_start, 3)))
            if secret == UNKNOWN and status != 401:
                self.unexpected.append((secret[:10], status, round(started - self.t_start, 3)))
            if secret == REVOCABLE and status == 200 and self.revoked_since and started > self.revoked_since:
                self.revoked_accepted += 1

    def upstream_down_recently(self, now):
        return self.upstream_down or now - getattr(self, "upstream_back_at", 0) < 1.0

    def h2c(self):
        # One request per connection: curl 7.88 (Debian 12) breaks h2c connection reuse itself
        # ("Error in the HTTP2 framing layer", curl/curl#10634, fixed in curl 8.0).
        url = f"http://127.0.0.1:{self.port}/items/2"
        while not self.stop.is_set():
            t0 = time.time()
            out = subprocess.run(["curl", "-s", "--http2-prior-knowledge", "-H", f"x-api-key: {VALID}",
                                  "-o", "/dev/null", "-w", "%{http_code} %{http_version}", url],
                                 capture_output=True, text=True)
            code, _, version = out.stdout.partition(" ")
            status = int(code) if code.isdigit() and version == "2" else f"{code} over HTTP/{version}"
            self.judge(VALID, status, None, t0)

    def chaos_upstream(self):
        while not self.stop.wait(3):
            with self.lock:
                self.upstream_down = True
            self.upstream.kill()
            self.upstream.wait()
            if self.stop.wait(0.5):
                break
            self.start_upstream()
            with self.lock:
                self.upstream_down = False
                self.upstream_back_at = time.time()

    def management(self):
        basic = "Basic " + base64.b64encode(f"{CLIENT}:{CLIENT_SECRET}".encode()).decode()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        i = 0
        while not self.stop.wait(0.05):
            i += 1
            body = json.dumps({"type": "t", "subject": {"type": "User", "value": f"u{i}"},
                               "object": {"type": "Permit", "value": f"p{i}"}})
            try:
                conn.request("POST", "/api/rest/v1/authorisation", body=body,
                             headers={"authorization": basic, "content-type": "application/json"})
                r = conn.getresponse()
                data = r.read()
                if r.status == 201:
                    self.acked.append(json.loads(data)["id"])
                else:
                    self.unexpected.append(("management", r.status))
            except (OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    # --- edits -------------------------------------------------------------------------
    def write(self, style, text):
        target = self.pdir / "policy.json"
        if style == "in-place":
            with open(target, "r+") as f:
                f.seek(0)
                f.write(text)
                f.truncate()
        elif style == "rename":
            tmp = self.pdir / ".policy.json.tmp"
            tmp.write_text(text)
            os.rename(tmp, target)
        elif style == "delete-recreate":
            target.unlink()
            time.sleep(0.005)
            target.write_text(text)
        elif style == "symlink-swap":
            # ConfigMap layout: policy.json -> ..data/policy.json, ..data -> ..<version>.
            version = self.pdir / f"..v{time.monotonic_ns()}"
            version.mkdir()
            (version / "policy.json").write_text(text)
            link = self.pdir / "..data_tmp"
            link.symlink_to(version.name)
            os.rename(link, self.pdir / "..data")
            if not target.is_symlink():
                target.unlink()
                target.symlink_to("..data/policy.json")

    def await_revoked(self):
        """Poll until the revocable key is refused: the revocation is applied from then on."""
        deadline = time.time() + 10
        while time.time() < deadline:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            c.request("GET", "/items/1", headers={"x-api-key": REVOCABLE})
            if c.getresponse().status == 401:
                with self.lock:
                    self.revoked_since = time.time()
                return
            time.sleep(0.01)
        self.unexpected.append(("revocation never applied", None))

    def edits(self):
        edit = self.edit_no
        for style in ("in-place", "rename", "delete-recreate", "symlink-swap"):
            with self.lock:
                self.revoked_since = None
            for n in range(self.args.edits):
                edit += 1
                revoked = n >= self.args.edits // 2
                invalid = n % 10 == 9
                self.write(style, policy(self.up_port, revoked, edit, invalid))
                self.edits_at.append(time.time())
                if n == self.args.edits // 2:
                    self.await_revoked()
                time.sleep(self.args.gap)
            print(f"  {style}: {self.args.edits} edits done", flush=True)
        self.edit_no = edit

    # --- run ---------------------------------------------------------------------------
    def run(self):
        self.start_upstream()
        proc = self.start_gateway()
        time.sleep(0.5)
        before = (proc.rss_kib(), proc.fds())
        threads = [threading.Thread(target=self.worker, args=(s,), daemon=True)
                   for s in [VALID] * self.args.workers + [UNKNOWN, REVOCABLE]]
        background = [self.h2c, self.chaos_upstream]
        if not self.args.no_writes:
            background.append(self.management)
        threads += [threading.Thread(target=t, daemon=True) for t in background]
        for t in threads:
            t.start()
        started = time.time()
        time.sleep(self.args.baseline)
        # Under load: after the warm-up, then after each round of edits. Growth that stops after
        # the first round is warm-up (pools, allocator caches); growth every round is a leak.
        samples = [(proc.rss_kib(), proc.fds())]
        for r in range(self.args.rounds):
            if self.args.rounds > 1:
                print(f"round {r + 1} of {self.args.rounds}", flush=True)
            self.edits()
            samples.append((proc.rss_kib(), proc.fds()))
        self.stop.set()
        for t in threads:
            t.join(timeout=15)
        took = time.time() - started
        time.sleep(1)
        after = (proc.rss_kib(), proc.fds())
        stored = {}
        try:
            stored = json.loads((self.pdir / "portcullis-managed.json").read_text())["registry"]
        except (OSError, ValueError, KeyError):
            pass
        have = {r["id"] for r in stored.get("authorisations", [])}
        missing = [i for i in self.acked if i not in have]
        near = [d for t, d in self.latencies if any(0 <= t - e < 1 for e in self.edits_at[-2000:])]
        far = [d for t, d in self.latencies if not any(0 <= t - e < 1 for e in self.edits_at[-2000:])]

        def p99(xs):
            return statistics.quantiles(xs, n=100)[98] * 1000 if len(xs) >= 100 else float("nan")

        rounds = self.args.rounds
        print(f"ran {took:.0f} s: {self.sent} requests, {4 * self.args.edits * rounds} policy edits "
              f"({4 * (self.args.edits // 10) * rounds} invalid), upstream restarts every 3 s")
        print(f"unexpected statuses: {len(self.unexpected)} {self.unexpected[:10]}")
        print(f"revoked key accepted after its revocation applied: {self.revoked_accepted}")
        print(f"management writes acknowledged: {len(self.acked)}, missing from the file: {len(missing)}")
        print(f"gateway RSS {before[0]} KiB -> {after[0]} KiB, open fds {before[1]} -> {after[1]}")
        print("under load, after the warm-up and after each round: RSS "
              + " -> ".join(f"{r} KiB" for r, _ in samples) + ", open fds "
              + " -> ".join(str(f) for _, f in samples))
        print(f"p99 latency (HTTP/1.1): within 1 s after an edit {p99(near):.2f} ms "
              f"({len(near)} requests), otherwise {p99(far):.2f} ms ({len(far)} requests)")
        self.gw.send_signal(signal.SIGTERM)
        self.gw.wait(timeout=15)
        self.upstream.kill()
        ok = not self.unexpected and not self.revoked_accepted and not missing
        if self.args.keep:
            print(f"kept {self.work} (the gateway's log is {self.work / 'log'})")
        else:
            shutil.rmtree(self.work, ignore_errors=True)
        return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--edits", type=int, default=100, help="policy edits per style")
    ap.add_argument("--gap", type=float, default=0.05, help="seconds between edits")
    ap.add_argument("--no-writes", action="store_true",
                    help="no management writes (the registry then stays the same size)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="times to run the four edit styles (RSS and fds are sampled after each)")
    ap.add_argument("--workers", type=int, default=4, help="HTTP/1.1 workers with the valid key")
    ap.add_argument("--baseline", type=float, default=5, help="seconds of load before the edits")
    ap.add_argument("--keep", action="store_true", help="keep the work directory and log")
    ap.add_argument("--log", default="warn", help="the gateway's log level")
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "portcullis"))
    args = ap.parse_args()
    sys.exit(0 if Soak(args).run() else 1)


if __name__ == "__main__":
    main()
