#!/usr/bin/env bash
# What one reload of a large policy costs (issue #13), on a release binary: EDITS times, a
# one-key edit (a description added to k0, the file replaced) then `POST /reload`, which answers
# once the edit is applied. Reported:
#   idle:      Portcullis' CPU per reload (user + system, all threads, /proc/PID/stat) and the
#              time until applied, with no traffic;
#   saturated: the time until applied while wrk (1 thread, 32 connections, CPU 0) keeps the one
#              worker's core (CPU 1, which the reload shares) busy: how late an edit, a revoked
#              key with it, takes effect on an overloaded core.
# The policy is scripts/policy-memory.py's (KEYS keys, the built-in echo upstream). Nothing is
# asserted.
#
# Usage: scripts/load/reload-cost.sh [PORTCULLIS_BIN]   (default: target/release/portcullis)
# Knobs: KEYS=100000 EDITS=10
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-$ROOT/target/release/portcullis}
KEYS=${KEYS:-100000} EDITS=${EDITS:-10}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "no binary at $BIN (cargo build --release)" >&2; exit 1; }
W=$(mktemp -d /tmp/portcullis-reload-cost.XXXXXX)
P="" LOAD=""
trap '[ -z "$LOAD" ] || kill "$LOAD" 2>/dev/null; [ -z "$P" ] || kill "$P" 2>/dev/null; rm -rf "$W"' EXIT
. "$ROOT/scripts/load/reload-common.sh"
reload_policy
# Reloads only on request: no watcher debounce, no periodic check.
reload_start '{"debounce_ms": 3600000, "check_interval_ms": 0}' '{"level": "warn"}'
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# EDITS edits, each applied through POST /reload; prints the milliseconds each took.
edits() {
    local i t0 out=""
    for i in $(seq "$EDITS"); do
        reload_edit
        t0=$(now_ms)
        taskset -c 0 curl -sf -o /dev/null -X POST "http://127.0.0.1:$ADMIN/reload"
        out="$out $(( $(now_ms) - t0 ))"
        sleep 0.5
    done
    echo "$out"
}
echo "$KEYS keys, one worker on CPU 1, $EDITS edits each"
before=$(cpu)
applied=$(edits idle)
echo "idle:      CPU $(( ($(cpu) - before) * 1000 / $(getconf CLK_TCK) / EDITS )) ms per reload; applied after (ms):$applied"
taskset -c 0 wrk -t1 -c32 -d3600s -s "$W/key.lua" "$URL" >/dev/null &
LOAD=$!
sleep 2
echo "saturated: applied after (ms):$(edits saturated)"
