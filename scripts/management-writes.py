#!/usr/bin/env python3
"""Management writes per second with a large policy: how fast the management APIs can write.

Builds nothing: run `cargo build --release --locked` first (or pass --bin). It writes a policy
directory with KEYS API keys (a `keys.json` beside the management example's policy), starts the
gateway on free loopback ports, waits until it is ready, then times WRITES Trivore record
creates and WRITES contract.fit API-key creates, each from 1 and from 4 client threads, and
reports writes per second (each write is acknowledged only once it is durable: temp file, fsync,
rename, fsync of the directory). Then it checks that every acknowledged write is in the file.

    python3 scripts/management-writes.py --keys 100000 --writes 300
"""

import argparse
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import urllib.request
import base64

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config" / "examples" / "management" / "policy" / "policy.json"
CLIENT, SECRET = "1248769513590337", "client-secret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url, method="GET", body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("content-type", "application/json")
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, json.loads(r.read() or b"null")


def timed(label, n, threads, write):
    """Run `write(i)` n times from `threads` threads; print and return writes per second."""
    ids, lock = [], threading.Lock()

    def worker(part):
        for i in part:
            got = write(i)
            with lock:
                ids.append(got)

    parts = [range(t, n, threads) for t in range(threads)]
    start = time.perf_counter()
    ts = [threading.Thread(target=worker, args=(p,)) for p in parts]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    took = time.perf_counter() - start
    rate = n / took
    print(f"{label:<40} {threads} thread(s): {n} writes in {took:6.2f} s = {rate:7.1f} writes/s")
    return ids


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--writes", type=int, default=300)
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "portcullis"))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pc-mgmt-"))
    try:
        pdir = work / "policy"
        pdir.mkdir()
        shutil.copy(EXAMPLE, pdir / "policy.json")
        keys = {
            f"k{i}": {
                "sha256": hashlib.sha256(f"load-key-{i}".encode()).hexdigest(),
                "permissions": {"inbox": ["view"]},
            }
            for i in range(args.keys)
        }
        (pdir / "keys.json").write_text(json.dumps({"keys": keys}))
        port, admin = free_port(), free_port()
        (work / "portcullis.json").write_text(json.dumps({
            "listeners": [{"address": f"127.0.0.1:{port}"}],
            "admin": {"address": f"127.0.0.1:{admin}"},
            "policy": "policy",
            "log": {"level": "warn"},
        }))
        start = time.perf_counter()
        proc = subprocess.Popen([args.bin, "serve", "--config", str(work / "portcullis.json")],
                                stdout=subprocess.DEVNULL, stderr=open(work / "log", "w"))
        base = f"http://127.0.0.1:{port}"
        while True:
            try:
                if call(f"http://127.0.0.1:{admin}/readyz")[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None:
                sys.exit(f"the gateway exited: {(work / 'log').read_text()}")
            time.sleep(0.05)
        print(f"{args.keys} keys in the policy; ready after {time.perf_counter() - start:.2f} s")
        basic = {"authorization": "Basic " + base64.b64encode(f"{CLIENT}:{SECRET}".encode()).decode()}

        def record(i):
            status, r = call(f"{base}/api/rest/v1/authorisation", "POST", {
                "type": "file_for_permit",
                "subject": {"type": "User", "value": f"user-{i}"},
                "object": {"type": "Permit", "value": f"P-{i}"},
            }, basic)
            assert status == 201, status
            return r["id"]

        _, login = call(f"{base}/admin/auth", "POST",
                        {"username": "admin@example.org", "password": "admin-password"})
        bearer = {"authorization": "Bearer " + login["authentication_token"]}
        _, role = call(f"{base}/admin/roles", "POST",
                       {"name": "reader", "permissions": ["inbox_reader"]}, bearer)
        _, user = call(f"{base}/admin/users", "POST", {
            "username": "shared-link", "active": True, "password": "unused",
            "roles": [{"role": role["id"]}]}, bearer)

        def key(i):
            status, r = call(f"{base}/admin/auth/api-key", "POST", {
                "user": user["id"], "roles": [{"role": role["id"], "inbox": f"inbox-{i}"}]}, bearer)
            assert status == 201, status
            return r["id"]

        acked = []
        for threads in (1, 4):
            acked += timed("contract.fit API key create", args.writes, threads, key)
            acked += timed("Trivore record create", args.writes, threads, record)
        stored = json.loads((pdir / "portcullis-managed.json").read_text())["registry"]
        have = {r["id"] for r in stored["authorisations"]} | {k["id"] for k in stored["api_keys"]}
        missing = [i for i in acked if i not in have]
        print(f"acknowledged {len(acked)} writes; missing from the file: {len(missing)}")
        proc.terminate()
        proc.wait(timeout=10)
        sys.exit(1 if missing else 0)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
