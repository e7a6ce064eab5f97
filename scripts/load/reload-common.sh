# Shared by reload-p99.sh and reload-cost.sh (sourced, not run): one Portcullis on a large
# policy, pinned to CPU 1, with its load and its edits on CPU 0. Expects ROOT, BIN, KEYS and W
# (an empty temporary directory); sets PORT, ADMIN, P (Portcullis' pid) and URL.

# scripts/policy-memory.py's policy of KEYS keys as $W/base.json and $W/policy/policy.json, and
# two free ports.
reload_policy() {
    mkdir -p "$W/policy"
    read -r PORT ADMIN < <(python3 - "$ROOT/scripts/policy-memory.py" "$KEYS" "$W/base.json" <<'PY'
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("pm", sys.argv[1])
pm = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pm)
with open(sys.argv[3], "w") as f:
    json.dump(pm.policy(int(sys.argv[2])), f)
print(pm.free_port(), pm.free_port())
PY
)
    cp "$W/base.json" "$W/policy/policy.json"
    reload_variants
    # Key k0 (secret-0) holds indicator: list in policy-memory.py's policy.
    URL="http://127.0.0.1:$PORT/api/?module=indicator&action=list"
    echo 'wrk.headers["X-API-Key"] = "secret-0"' >"$W/key.lua"
}

# Start Portcullis on CPU 1 with one worker, the given `reload` and `log` settings (JSON), and
# wait until it is ready.
reload_start() {
    cat >"$W/portcullis.json" <<J
{"listeners": [{"address": "127.0.0.1:$PORT"}], "admin": {"address": "127.0.0.1:$ADMIN"},
 "workers": 1, "policy": "$W/policy", "reload": $1, "log": $2}
J
    taskset -c 1 "$BIN" serve --config "$W/portcullis.json" 2>"$W/err.log" &
    P=$!
    until curl -sf -o /dev/null "http://127.0.0.1:$ADMIN/readyz"; do
        kill -0 "$P" 2>/dev/null || { cat "$W/err.log" >&2; exit 1; }
        sleep 0.05
    done
}

# Replace the policy with one whose key k0 has a description of its own: the edits alternate
# between two such files written once (reload_variants), each put in place by a hard link and
# a rename. Writing 13 MB of policy each time cost the load generator's core enough to double
# wrk's p99 with no reload at all (session 13: 1.10 -> 2.11 ms with the edits written to a file
# Portcullis does not read).
reload_variants() {
    local v
    for v in a b; do
        sed "s/\"k0\": {\"sha256\"/\"k0\": {\"description\": \"edit $v\", \"sha256\"/" \
            "$W/base.json" >"$W/edit-$v.json"
    done
}
# Put in place whichever of the two is not in place now.
reload_edit() {
    local next=a
    [ "$W/policy/policy.json" -ef "$W/edit-a.json" ] && next=b
    ln -f "$W/edit-$next.json" "$W/policy/.next.json"
    mv "$W/policy/.next.json" "$W/policy/policy.json"
}

# Portcullis' CPU time so far, in clock ticks (user + system, all threads).
cpu() { awk '{print $14 + $15}' "/proc/$P/stat"; }
