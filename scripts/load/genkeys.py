#!/usr/bin/env python3
"""Key material for scripts/load.sh: N API keys and the same allow-list in each proxy's format.

Writes into OUT_DIR:
  policy/policy.json   Portcullis policy: one route GET /api/items/{id} -> items/read on upstream
                       "app", and N keys stored as SHA-256 digests with permission items:read
  nginx-keys.map       `"<secret>" 1;` lines for nginx's `map $http_x_api_key`
  haproxy-keys.map     `<secret> 1` lines for HAProxy's `map_str()`
  mix-allow.txt        MIX_KEYS known secrets spread evenly over the N keys (one per line)
  mix-401.txt          100 unknown secrets
  mix-mixed.txt        nine known, one unknown, repeated
Secrets are deterministic (`pcs_` + SHA-256 of "load-<i>-<seed>"), so runs are comparable.

Usage: genkeys.py OUT_DIR KEYS UPSTREAM_PORT [--mix-keys 1000] [--limits] [--seed load]
"""

import argparse
import hashlib
import json
import os


def secret(i, seed):
    return "pcs_" + hashlib.sha256(f"load-{i}-{seed}".encode()).hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("keys", type=int)
    parser.add_argument("upstream_port", type=int)
    parser.add_argument("--mix-keys", type=int, default=1000)
    parser.add_argument("--limits", action="store_true",
                        help="give every key a rate limit too high to bite")
    parser.add_argument("--seed", default="load")
    args = parser.parse_args()

    secrets = [secret(i, args.seed) for i in range(1, args.keys + 1)]
    width = len(str(args.keys))
    grant = {"permissions": {"items": ["read"]}}
    if args.limits:
        grant["rate_limit"] = {"requests": 1_000_000_000, "per_s": 1}
    keys = {}
    for i, s in enumerate(secrets, 1):
        keys[f"k{i:0{width}d}"] = {"sha256": hashlib.sha256(s.encode()).hexdigest(), **grant}
    head = {
        "mode": "limited-access",
        "upstreams": {"app": {"url": f"http://127.0.0.1:{args.upstream_port}"}},
        "routes": [{"id": "items", "methods": ["GET"], "path": "/api/items/{id}",
                    "module": "items", "action": "read", "upstream": "app"}],
    }
    os.makedirs(os.path.join(args.out_dir, "policy"), exist_ok=True)
    with open(os.path.join(args.out_dir, "policy", "policy.json"), "w") as f:
        # One key per line, so the file stays readable at 100,000 keys.
        f.write(json.dumps(head)[:-1] + ',\n "keys": {\n')
        f.write(",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in keys.items()))
        f.write("\n }\n}\n")

    def write_lines(name, lines):
        with open(os.path.join(args.out_dir, name), "w") as f:
            f.writelines(line + "\n" for line in lines)

    write_lines("nginx-keys.map", (f'"{s}" 1;' for s in secrets))
    write_lines("haproxy-keys.map", (f"{s} 1" for s in secrets))
    used = min(args.mix_keys, args.keys)
    allow = [secrets[i * args.keys // used] for i in range(used)]
    unknown = ["pcs_unknown_" + hashlib.sha256(f"unknown-{i}-{args.seed}".encode()).hexdigest()[:60]
               for i in range(100)]
    write_lines("mix-allow.txt", allow)
    write_lines("mix-401.txt", unknown)
    mixed = []
    for k, u in enumerate(unknown):
        mixed += [allow[(9 * k + i) % len(allow)] for i in range(9)] + [u]
    write_lines("mix-mixed.txt", mixed)


if __name__ == "__main__":
    main()
