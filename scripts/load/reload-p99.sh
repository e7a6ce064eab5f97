#!/usr/bin/env bash
# Traffic while the policy reloads every second (issue #13): p99 and req/s of allowed requests
# through one Portcullis worker, DURATION seconds without reloads, then DURATION seconds with the
# policy file replaced every second, ROUNDS times. The policy is scripts/policy-memory.py's
# (KEYS keys, the built-in echo upstream). wrk (1 thread, 32 connections) runs on CPU 0,
# Portcullis on CPU 1, so requests and reloads share one core. Nothing is asserted. Besides
# wrk's figures, each run reports Portcullis' CPU share and how long per second its worker thread
# waited, runnable, for the core (from /proc/PID/task/*/schedstat): the time a reload took from
# traffic, which the machine's other noise does not blur as it blurs p99.
#
# With PAUSE_MS=N each connection waits N ms after every response (wrk's `delay`), so the core
# is not saturated: the load a proxy meets in production, with room left for reloads. Without
# it (PAUSE_MS=0) wrk runs closed-loop at full speed and reloads must take their CPU from traffic.
#
# Usage: scripts/load/reload-p99.sh [PORTCULLIS_BIN]   (default: target/release/portcullis)
# Knobs: KEYS=100000 DURATION=10 ROUNDS=2 PAUSE_MS=0
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-$ROOT/target/release/portcullis}
KEYS=${KEYS:-100000} DURATION=${DURATION:-10} ROUNDS=${ROUNDS:-2} PAUSE_MS=${PAUSE_MS:-0}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "no binary at $BIN (cargo build --release)" >&2; exit 1; }
W=$(mktemp -d /tmp/portcullis-reload-p99.XXXXXX)
P=""
trap '[ -z "$P" ] || kill "$P" 2>/dev/null; rm -rf "$W"' EXIT
. "$ROOT/scripts/load/reload-common.sh"
reload_policy
reload_start '{"debounce_ms": 20}' \
    '{"level": "warn", "access": {"format": "json", "destination": "file", "path": "'"$W"'/access.log"}}'
[ "$PAUSE_MS" = 0 ] || echo "function delay() return $PAUSE_MS end" >>"$W/key.lua"
# Nanoseconds the worker thread has spent runnable but waiting for its core (schedstat's second
# field): what a reload on the same core takes from traffic, free of the machine's other noise.
waited() {
    local t comm run wait sum=0
    for t in /proc/"$P"/task/*; do
        read -r comm <"$t/comm" 2>/dev/null || continue
        [ "$comm" = portcullis-work ] || continue
        read -r run wait _ <"$t/schedstat" && sum=$((sum + wait))
    done
    echo "$sum"
}
measure() {
    local before out wait
    before=$(cpu)
    wait=$(waited)
    out=$(taskset -c 0 wrk -t1 -c32 -d"${DURATION}s" --latency -s "$W/key.lua" "$URL" |
        awk '/ 50%/{p50=$2} / 99%/{p99=$2} /Requests\/sec/{rps=$2} /Non-2xx/{bad=$4}
             END{printf "p50 %s  p99 %s  req/s %s  non-2xx %s", p50, p99, rps, bad+0}')
    echo "$out  cpu $(( ($(cpu) - before) * 100 / $(getconf CLK_TCK) / DURATION ))%  worker waited $(( ($(waited) - wait) / 1000000 / DURATION )) ms/s"
}
generation() {
    curl -s "http://127.0.0.1:$ADMIN/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])'
}
taskset -c 0 wrk -t1 -c32 -d2s -s "$W/key.lua" "$URL" >/dev/null
echo "$KEYS keys, one worker on CPU 1, wrk on CPU 0, ${DURATION}s per run, pause ${PAUSE_MS} ms"
for round in $(seq "$ROUNDS"); do
    echo "round $round, no reloads:            $(measure)"
    before=$(generation)
    (
        for i in $(seq "$DURATION"); do
            reload_edit
            sleep 1
        done
    ) &
    edits=$!
    line=$(measure)
    wait "$edits"
    sleep 1
    echo "round $round, a reload every second: $line  (generations applied: $(($(generation) - before)))"
done
