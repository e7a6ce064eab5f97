#!/usr/bin/env bash
# Instructions per request of one proxy, for scripts/load.sh (INSTRUCTIONS=1); appends
# "<keys> <mix> <target> <method> <instructions per request> <portable SHA-256 per request>" to
# OUT_TSV for the mixes allow
# (a known key, proxied) and 401 (an unknown key). Requests: `h2load --h1 -n N -c 4`, one key.
#
# Method, whichever works here:
#   perf      `perf stat -e instructions` counts, when the CPU's counters are visible (often not in
#             a VM: `perf stat -e instructions true` then says <not supported>). COMMAND runs
#             once; after a warm-up, the process' instructions are counted while it serves N1
#             and then N2 requests: (I(N2) - I(N1)) / (N2 - N1).
#   callgrind COMMAND runs under `valgrind --tool=callgrind` (all threads, serialized), serves N
#             requests and is stopped with SIGTERM, so callgrind writes its totals; once with
#             N1 and once with N2 requests: (Ir(N2) - Ir(N1)) / (N2 - N1), so start-up, policy
#             load and shutdown cancel out. The proxy must stay in one process (nginx with
#             `master_process off`, haproxy -db, Portcullis with "workers": 1).
#             valgrind does not offer the CPU's SHA extensions (SHA-NI) to the program, so
#             under callgrind the sha2 crate hashes each key in portable code (about 3,500
#             instructions a 64-byte block, where SHA-NI takes about 200): the last column
#             is what `sha2::sha256::compress256` (the portable path) took per request, so
#             the report can show the count without it. "-" with perf, which runs natively.
#
# Usage: instructions.sh OUT_TSV KEYS TARGET PORT ALLOWED_KEY DENIED_KEY SCRATCH_DIR -- COMMAND...
# Knobs: INSTR_N1=2000 INSTR_N2=22000 INSTR_CONNECTIONS=4 INSTR_METHOD=auto|perf|callgrind
#        SERVER_CPUS / LOADGEN_CPUS (taskset lists for COMMAND and h2load; empty: no pinning)
set -euo pipefail

if [ $# -lt 9 ] || [ "$8" != -- ]; then
    sed -n '2,20s/^# \{0,1\}//p' "$0" >&2
    exit 2
fi
OUT=$1 KEYS=$2 TARGET=$3 PORT=$4 ALLOWED_KEY=$5 DENIED_KEY=$6 SCRATCH=$7
shift 8
N1=${INSTR_N1:-2000}
N2=${INSTR_N2:-22000}
CONNS=${INSTR_CONNECTIONS:-4}
METHOD=${INSTR_METHOD:-auto}
SERVER_PIN=() LOADGEN_PIN=()
[ -z "${SERVER_CPUS:-}" ] || SERVER_PIN=(taskset -c "$SERVER_CPUS")
[ -z "${LOADGEN_CPUS:-}" ] || LOADGEN_PIN=(taskset -c "$LOADGEN_CPUS")
mkdir -p "$SCRATCH"
PID=""

stop() {
    [ -n "$PID" ] || return 0
    kill -TERM "$PID" 2>/dev/null || true
    # callgrind writes its output after the program exits; give it time.
    for _ in $(seq 1200); do
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=""
}
trap stop EXIT
trap 'exit 130' INT TERM

die() { printf 'instructions.sh: %s\n' "$*" >&2; exit 1; }

if [ "$METHOD" = auto ]; then
    METHOD=callgrind
    if command -v perf >/dev/null &&
        perf stat -x, -e instructions true 2>&1 | grep -q '^[0-9][0-9]*,.*instructions'; then
        METHOD=perf
    fi
fi

# Start the proxy ($1: callgrind output file, or empty for a plain start) and wait until it
# answers a known key with 200 (at most 10 min: 100,000 keys load slowly under callgrind).
start() {
    if [ -n "$1" ]; then
        ${SERVER_PIN[@]+"${SERVER_PIN[@]}"} valgrind --tool=callgrind --callgrind-out-file="$1" \
            -- "${COMMAND[@]}" >"$SCRATCH/stdout.log" 2>"$SCRATCH/stderr.log" &
    else
        ${SERVER_PIN[@]+"${SERVER_PIN[@]}"} "${COMMAND[@]}" >"$SCRATCH/stdout.log" 2>"$SCRATCH/stderr.log" &
    fi
    PID=$!
    for _ in $(seq 6000); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $ALLOWED_KEY" \
            "http://127.0.0.1:$PORT/api/items/42" || true)" = 200 ] && return
        kill -0 "$PID" 2>/dev/null || die "$TARGET exited during start-up (see $SCRATCH/stderr.log)"
        sleep 0.1
    done
    die "$TARGET did not answer 200 within 10 min"
}

# Send $1 requests with key $2, expecting status class $3 (2xx or 4xx) for all of them.
send() {
    local out
    out=$(${LOADGEN_PIN[@]+"${LOADGEN_PIN[@]}"} h2load --h1 -n "$1" -c "$CONNS" -H "x-api-key: $2" \
        "http://127.0.0.1:$PORT/api/items/42" 2>&1) || die "h2load failed: $out"
    case "$3" in
        2xx) grep -q "^status codes: $1 2xx" <<<"$out" ;;
        4xx) grep -q "^status codes: 0 2xx, 0 3xx, $1 4xx" <<<"$out" ;;
    esac || die "$TARGET: not all of $1 requests got $3: $(grep '^status codes' <<<"$out")"
}

# Instructions of the running proxy while it serves $1 requests with key $2 (perf, attached to
# every thread of the process; it idles in epoll_wait before and after).
perf_count() {
    local file="$SCRATCH/perf.csv" perf_pid
    perf stat -x, -e instructions -p "$PID" -o "$file" &
    perf_pid=$!
    sleep 0.5
    send "$1" "$2" "$3"
    kill -INT "$perf_pid"
    wait "$perf_pid" || true
    awk -F, '$3 ~ /^instructions/ { print $1 }' "$file"
}

COMMAND=("$@")
for mix in allow 401; do
    if [ "$mix" = allow ]; then key=$ALLOWED_KEY class=2xx; else key=$DENIED_KEY class=4xx; fi
    if [ "$METHOD" = perf ]; then
        start ""
        send "$N1" "$key" "$class"
        i1=$(perf_count "$N1" "$key" "$class")
        i2=$(perf_count "$N2" "$key" "$class")
        stop
    else
        for n in "$N1" "$N2"; do
            out="$SCRATCH/callgrind.$mix.$n"
            start "$out"
            send "$n" "$key" "$class"
            stop
            total=$(sed -n 's/^\(totals\|summary\): *\([0-9]*\).*/\2/p' "$out" | head -n1)
            [ -n "$total" ] || die "no totals in $out (see $SCRATCH/stderr.log)"
            sha=$(callgrind_annotate --threshold=100 --auto=no "$out" 2>/dev/null |
                awk '/sha2::sha256::compress256/ { gsub(",", "", $1); s += $1 } END { print s + 0 }')
            if [ "$n" = "$N1" ]; then i1=$total s1=$sha; else i2=$total s2=$sha; fi
            rm -f "$out"
        done
    fi
    per=$(((i2 - i1) / (N2 - N1)))
    sha=-
    [ "$METHOD" = perf ] || sha=$(((s2 - s1) / (N2 - N1)))
    printf '==> %s keys, %s, %s: %s instructions/request (%s; portable SHA-256 %s)\n' \
        "$KEYS" "$mix" "$TARGET" "$per" "$METHOD" "$sha" >&2
    echo "$KEYS $mix $TARGET $METHOD $per $sha" >>"$OUT"
done
