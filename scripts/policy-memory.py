#!/usr/bin/env python3
"""Memory and reload cost of a large policy (issue #13), on a release binary.

Generates a policy of N keys in a fresh temporary directory (key `k<i>`, the SHA-256 of
`secret-<i>`, one of 25 permission sets, one route to the built-in echo upstream), starts
`portcullis serve` on it, and reports:
  - time until /readyz answers 200, VmRSS 2 s later, and VmHWM (peak) so far;
  - one reload on its own (a description added to k0): time until applied, and the peak during
    it (VmHWM reset through /proc/PID/clear_refs) against VmRSS before it;
  - with --edits E: E one-key edits (a description added to k0, the file replaced atomically),
    each timed until /status shows the next generation; VmRSS every 10 edits; VmRSS 3 s after
    the last edit, and the peak.
Nothing is asserted. Usage:

    python3 scripts/policy-memory.py --keys 100000 --edits 100 [--bin PATH]
"""
import argparse
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

MODULES = ["indicator", "level", "documents", "rows", "reports"]
ACTIONS = ["list", "info", "update", "delete", "export"]


def policy(n):
    keys = {
        f"k{i}": {
            "sha256": hashlib.sha256(f"secret-{i}".encode()).hexdigest(),
            "permissions": {MODULES[i % 5]: [ACTIONS[(i // 5) % 5]]},
        }
        for i in range(n)
    }
    return {
        "mode": "limited-access",
        "upstreams": {"app": {"url": "builtin:echo"}},
        "routes": [{"id": "api", "methods": ["GET", "POST"], "path": "/api/",
                    "module": {"query": "module"}, "action": {"query": "action"},
                    "upstream": "app"}],
        "keys": keys,
    }


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def proc_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def mib(kib):
    return f"{kib / 1024:.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keys", type=int, default=100000)
    ap.add_argument("--edits", type=int, default=0)
    ap.add_argument("--bin", help="the binary to measure (default: build target/release/portcullis)")
    args = ap.parse_args()
    if args.bin is None:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        subprocess.run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=root, check=True)
        args.bin = os.path.join(root, "target", "release", "portcullis")
    work = tempfile.mkdtemp(prefix="portcullis-memory.")
    pdir = os.path.join(work, "policy")
    os.mkdir(pdir)
    path = os.path.join(pdir, "policy.json")
    t = time.time()
    text = json.dumps(policy(args.keys))
    with open(path, "w") as f:
        f.write(text)
    print(f"{args.keys} keys: {len(text) / 1e6:.1f} MB of JSON, generated in {time.time() - t:.1f} s")
    admin = free_port()
    settings = os.path.join(work, "portcullis.json")
    with open(settings, "w") as f:
        json.dump({"listeners": [{"address": f"127.0.0.1:{free_port()}"}],
                   "admin": {"address": f"127.0.0.1:{admin}"},
                   "policy": pdir, "log": {"level": "warn"}, "reload": {"debounce_ms": 20}}, f)

    def generation():
        with urllib.request.urlopen(f"http://127.0.0.1:{admin}/status", timeout=30) as r:
            return json.load(r)["generation"]

    t0 = time.time()
    p = subprocess.Popen([args.bin, "serve", "--config", settings])
    try:
        while True:
            if p.poll() is not None:
                sys.exit(f"portcullis exited with {p.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{admin}/readyz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            time.sleep(0.01)
        ready = time.time() - t0
        time.sleep(2)
        print(f"ready after {ready:.2f} s; VmRSS {mib(proc_kib(p.pid, 'VmRSS'))} MiB, "
              f"peak so far {mib(proc_kib(p.pid, 'VmHWM'))} MiB")
        # One reload on its own: VmHWM reset (clear_refs 5), one edit, then the new peak.
        steady = proc_kib(p.pid, "VmRSS")
        with open(f"/proc/{p.pid}/clear_refs", "w") as f:
            f.write("5")
        before = generation()
        with open(path + ".tmp", "w") as f:
            f.write(text.replace('"k0": {"sha256"', '"k0": {"description": "one", "sha256"', 1))
        t = time.time()
        os.replace(path + ".tmp", path)
        while generation() < before + 1:
            if time.time() > t + 60:
                sys.exit("the edit was not applied within 60 s")
            time.sleep(0.005)
        applied = time.time() - t
        time.sleep(2)
        hwm = proc_kib(p.pid, "VmHWM")
        print(f"one reload: applied after {applied * 1000:.0f} ms; peak {mib(hwm)} MiB "
              f"({hwm / steady:.2f}x the {mib(steady)} MiB before it)")
        if not args.edits:
            return
        start = generation()
        times, curve = [], []
        for i in range(args.edits):
            new = text.replace('"k0": {"sha256"', f'"k0": {{"description": "edit {i}", "sha256"', 1)
            with open(path + ".tmp", "w") as f:
                f.write(new)
            t = time.time()
            os.replace(path + ".tmp", path)
            deadline = t + 60
            while generation() < start + i + 1:
                if time.time() > deadline:
                    sys.exit(f"edit {i} was not applied within 60 s")
                time.sleep(0.005)
            times.append(time.time() - t)
            if i % 10 == 9:
                curve.append(mib(proc_kib(p.pid, "VmRSS")))
        time.sleep(3)
        times.sort()
        print(f"{args.edits} one-key edits: applied after p50 {times[len(times) // 2] * 1000:.0f} ms, "
              f"max {times[-1] * 1000:.0f} ms")
        print(f"VmRSS every 10 edits (MiB): {' '.join(curve)}; 3 s after the last "
              f"{mib(proc_kib(p.pid, 'VmRSS'))}; peak {mib(proc_kib(p.pid, 'VmHWM'))}")
    finally:
        p.terminate()
        p.wait()
        for name in os.listdir(pdir):
            os.remove(os.path.join(pdir, name))
        os.rmdir(pdir)
        os.remove(settings)
        os.rmdir(work)


if __name__ == "__main__":
    main()
