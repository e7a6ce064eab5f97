#!/usr/bin/env bash
# Side-by-side load comparison on loopback (issue #13), bounded in time. The same requests go
#   (a) straight to the upstream (scripts/load/upstream: hyper, one thread, `200 {"ok":true}`),
#   (b) through nginx doing an equivalent X-API-Key check (scripts/load/front.conf, 1 worker),
#   (c) through HAProxy doing the same check (scripts/load/haproxy.cfg, nbthread 1),
#   (d) through Portcullis with an equivalent policy ("workers": 1).
# The load generator runs on LOADGEN_CPUS, proxy and upstream share SERVER_CPUS, so the proxy's
# CPU is the bottleneck. Mixes: `allow` (known keys, proxied), `401` (unknown keys), `h2`
# (one known key over h2c, h2load); optional `mixed` (9 known : 1 unknown). For each key count
# in KEYS_LIST, REPEAT rounds; each round runs every mix on every target once, in an order
# rotated per round and mix. Per run: req/s, p50, p99, proxy and upstream CPU µs per request
# (utime+stime from /proc over the measured run / requests completed). Afterwards: VmRSS and
# start-up time per proxy, optionally instructions per request (scripts/load/instructions.sh).
# Tables (medians, min–max, paired per-round ratios) come from scripts/load/report.py. Nothing
# is asserted about speed. Every process it starts is stopped on exit.
#
# Usage: scripts/load.sh   (as root, installs wrk, nginx-light, haproxy, nghttp2-client, curl,
#                           and valgrind when INSTRUCTIONS=1, with apt-get when missing)
# Knobs: DURATION=5s WARMUP=1s REPEAT=3 KEYS_LIST="10 100000" MIXES="allow 401 h2"
#        TARGETS="a b c d" THREADS=1 CONNECTIONS=64 (wrk) H2_CONNECTIONS=64 H2_STREAMS=8 (h2load)
#        MIX_KEYS=1000 (known keys cycled through by the allow mix, spread over the key set)
#        LOADGEN_CPUS=0 SERVER_CPUS=1 (taskset lists; defaults need 2+ cores, else no pinning;
#        PIN=off disables pinning)
#        ACCESS_LOG=on|off|text (on: Portcullis' JSON access log, nginx access_log buffer=32k
#        flush=100ms, HAProxy `log stdout` + option httplog, each to a file, truncated after every
#        run; text: Portcullis' text lines instead of JSON; off: none)
#        LIMITS=off|on (on: every key gets a rate limit too high to bite)
#        PEER_HEADERS=own|same (same: nginx and HAProxy also forward the fields Portcullis adds,
#        X-Real-IP, X-Forwarded-Host, Forwarded and the X-Portcullis-* identity headers, so the
#        upstream reads as many header lines behind each; own: only what their own job needs)
#        NO_BUILD=1 (skip `cargo build --release` of Portcullis) PORTCULLIS_BIN=<path>
#        INSTRUCTIONS=1 INSTRUCTION_KEYS=10 (instructions per request, see instructions.sh)
#        RESULTS=<file> (also write the markdown report there)
# Bounded: REPEAT x mixes x targets runs of WARMUP + DURATION per key count, plus start-up;
# the defaults take about 9 minutes (printed at the start).
set -euo pipefail

DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-1s}
REPEAT=${REPEAT:-3}
KEYS_LIST=${KEYS_LIST:-10 100000}
MIXES=${MIXES:-allow 401 h2}
TARGETS=${TARGETS:-a b c d}
THREADS=${THREADS:-1}
CONNECTIONS=${CONNECTIONS:-64}
H2_CONNECTIONS=${H2_CONNECTIONS:-64}
H2_STREAMS=${H2_STREAMS:-8}
MIX_KEYS=${MIX_KEYS:-1000}
ACCESS_LOG=${ACCESS_LOG:-on}
LIMITS=${LIMITS:-off}
PEER_HEADERS=${PEER_HEADERS:-own}
NO_BUILD=${NO_BUILD:-0}
INSTRUCTIONS=${INSTRUCTIONS:-0}
INSTRUCTION_KEYS=${INSTRUCTION_KEYS:-10}
RESULTS=${RESULTS:-}
PIN=${PIN:-on}
if [ "$PIN" = on ] && [ "$(nproc)" -ge 2 ]; then
    LOADGEN_CPUS=${LOADGEN_CPUS:-0}
    SERVER_CPUS=${SERVER_CPUS:-1}
else
    LOADGEN_CPUS="" SERVER_CPUS=""
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HELPERS="$ROOT/scripts/load"
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
PORTCULLIS_BIN=${PORTCULLIS_BIN:-$TARGET_DIR/release/portcullis}
UPSTREAM_BIN=$TARGET_DIR/release/load-upstream
WORK=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-load.XXXXXX")
CLK_TCK=$(getconf CLK_TCK)
PIDS=()
LOADGEN_PIN=() SERVER_PIN=()
[ -z "$LOADGEN_CPUS" ] || LOADGEN_PIN=(taskset -c "$LOADGEN_CPUS")
[ -z "$SERVER_CPUS" ] || SERVER_PIN=(taskset -c "$SERVER_CPUS")

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        reap "$pid"
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'load.sh: %s\n' "$*" >&2; exit 1; }

# Wait up to 5 s for a process that was sent TERM, then KILL it.
reap() {
    local pid=$1
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Stop one process started here (TERM, then KILL after 5 s) and forget it.
stop_pid() {
    local pid=$1 keep=() p
    kill -TERM "$pid" 2>/dev/null || true
    reap "$pid"
    for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
    PIDS=(${keep[@]+"${keep[@]}"})
}

ensure_tools() {
    local missing=()
    command -v wrk >/dev/null || missing+=(wrk)
    command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
    command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
    command -v h2load >/dev/null || missing+=(nghttp2-client)
    command -v curl >/dev/null || missing+=(curl)
    command -v taskset >/dev/null || missing+=(util-linux)
    [ "$INSTRUCTIONS" != 1 ] || command -v valgrind >/dev/null || missing+=(valgrind)
    [ ${#missing[@]} -eq 0 ] && return
    [ "$(id -u)" -eq 0 ] || die "missing ${missing[*]}; install them (apt-get install ${missing[*]}) or run as root"
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# "5s" / "2m" / "5" -> whole seconds (for the time estimate and h2load).
seconds() {
    case "$1" in
        *ms) echo 1 ;;
        *s) echo "${1%s}" ;;
        *m) echo $((${1%m} * 60)) ;;
        *) echo "$1" ;;
    esac
}

# Set variable $1 to a free loopback port above 20000 that this run has not taken yet, below
# the kernel's ephemeral range (a client socket there, e.g. one of wrk's, would block the bind).
TAKEN=" "
read -r EPHEMERAL_LOW _ </proc/sys/net/ipv4/ip_local_port_range
free_port() {
    local p span=$((EPHEMERAL_LOW > 21000 ? EPHEMERAL_LOW - 20001 : 40000))
    for _ in $(seq 200); do
        p=$((20001 + RANDOM % span))
        case "$TAKEN" in *" $p "*) continue ;; esac
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            TAKEN="$TAKEN$p "
            printf -v "$1" '%s' "$p"
            return
        fi
    done
    die "no free port found above 20000"
}

now_us() { echo "${EPOCHREALTIME/./}"; }
ms_since() { local d=$(($(now_us) - $1)); printf '%d.%d' $((d / 1000)) $((d % 1000 / 100)); }

# Poll 127.0.0.1:$1 every 10 ms until it accepts a connection (process $2 must stay alive, at
# most $3 s); print the milliseconds since $4 (µs timestamp).
wait_accept() {
    local port=$1 pid=$2 limit=$3 t0=$4 i
    for ((i = 0; i < limit * 100; i++)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            ms_since "$t0"
            return
        fi
        kill -0 "$pid" 2>/dev/null || die "process $pid exited before 127.0.0.1:$port accepted (logs in $WORK)"
        sleep 0.01
    done
    die "nothing accepts on 127.0.0.1:$port after ${limit}s (logs in $WORK)"
}

# Poll every 10 ms until a known key gets 200 on port $1; print the milliseconds since $2.
wait_ready() {
    local port=$1 t0=$2 i
    for ((i = 0; i < 6000; i++)); do
        [ "$(status_of "$port" "$ALLOWED_KEY" h1)" = 200 ] && { ms_since "$t0"; return; }
        sleep 0.01
    done
    die "127.0.0.1:$port never answered 200 (logs in $WORK)"
}

# HTTP status for one GET /api/items/42 with X-API-Key $2 on port $1, over h1 or h2c ($3).
status_of() {
    local flags=()
    [ "$3" = h2 ] && flags=(--http2-prior-knowledge)
    curl -s -o /dev/null -w '%{http_code}' ${flags[@]+"${flags[@]}"} -H "X-API-Key: $2" \
        "http://127.0.0.1:$1/api/items/42" || true
}

# What a process spent (CPU, kernel time, context switches, memory), read from /proc.
# shellcheck source=scripts/load/proc.sh
. "$HELPERS/proc.sh"

# The pids whose CPU counts for target $1: nginx master and its workers, otherwise one process.
target_pids() {
    case "$1" in
        b) echo "$NGINX_PID" "$(pgrep -P "$NGINX_PID" | tr '\n' ' ')" ;;
        c) echo "$HAPROXY_PID" ;;
        d) echo "$PORTCULLIS_PID" ;;
    esac
}

target_name() {
    case "$1" in
        a) echo "(a) direct" ;;
        b) echo "(b) nginx" ;;
        c) echo "(c) HAProxy" ;;
        d) echo "(d) Portcullis" ;;
    esac
}

# Port target $1 listens on for mix $2.
target_port() {
    case "$1" in
        a) echo "$UPSTREAM_PORT" ;;
        b) if [ "$2" = h2 ]; then echo "$NGINX_H2_PORT"; else echo "$NGINX_PORT"; fi ;;
        c) echo "$HAPROXY_PORT" ;;
        d) echo "$PORTCULLIS_PORT" ;;
    esac
}

# One measured run (warm-up, run, what the proxy and the upstream spent), one line of runs.tsv.
# shellcheck source=scripts/load/measure.sh
. "$HELPERS/measure.sh"

build() {
    if [ "$NO_BUILD" != 1 ]; then
        log "building $PORTCULLIS_BIN"
        (cd "$ROOT" && cargo build --release --quiet)
    fi
    log "building $UPSTREAM_BIN"
    cargo build --release --locked --quiet --manifest-path "$HELPERS/upstream/Cargo.toml" \
        --target-dir "$TARGET_DIR"
    [ -x "$PORTCULLIS_BIN" ] || die "no Portcullis binary at $PORTCULLIS_BIN"
}

# Starting the upstream and the targets with equivalent configurations, and checking them.
# shellcheck source=scripts/load/targets.sh
. "$HELPERS/targets.sh"

# One key count: keys, configs, start the proxies, rounds, memory, stop them.
run_key_count() {
    KEYS=$1
    KWORK="$WORK/k$KEYS"
    mkdir -p "$KWORK"
    local genflags=()
    [ "$LIMITS" = on ] && genflags+=(--limits)
    log "$KEYS keys: generating keys, policy and maps"
    python3 "$HELPERS/genkeys.py" "$KWORK" "$KEYS" "$UPSTREAM_PORT" --mix-keys "$MIX_KEYS" \
        ${genflags[@]+"${genflags[@]}"}
    ALLOWED_KEY=$(head -n1 "$KWORK/mix-allow.txt")
    DENIED_KEY=$(head -n1 "$KWORK/mix-401.txt")
    H2_KEY=$ALLOWED_KEY
    write_configs
    NGINX_PID="" HAPROXY_PID="" PORTCULLIS_PID=""
    local t
    for t in $TARGETS; do [ "$t" = a ] || start_target "$t"; done
    check_targets

    local targets mixes n round mi j
    read -r -a targets <<<"$TARGETS"
    read -r -a mixes <<<"$MIXES"
    n=${#targets[@]}
    for round in $(seq "$REPEAT"); do
        for mi in "${!mixes[@]}"; do
            for ((j = 0; j < n; j++)); do
                measure "${targets[$(((round - 1 + mi + j) % n))]}" "${mixes[$mi]}" "$round"
            done
        done
    done

    local target memory pids
    while read -r _ target accept ready; do
        read -r -a pids <<<"$(target_pids "$target")"
        memory=$(memory_kib "${pids[@]}")
        echo "$KEYS $target $memory $accept $ready" >>"$WORK/memory.tsv"
    done <"$KWORK/startup.tsv"
    for t in $TARGETS; do
        case "$t" in b) stop_pid "$NGINX_PID" ;; c) stop_pid "$HAPROXY_PID" ;; d) stop_pid "$PORTCULLIS_PID" ;; esac
    done

    case " $INSTRUCTION_KEYS " in
        *" $KEYS "*) [ "$INSTRUCTIONS" != 1 ] || instructions ;;
    esac
    rm -rf "$KWORK"
}

# Instructions per request for each proxy at this key count (scripts/load/instructions.sh).
instructions() {
    local t port cmd
    for t in $TARGETS; do
        case "$t" in
            b)
                { echo "master_process off;"; cat "$KWORK/nginx/nginx.conf"; } >"$KWORK/nginx/callgrind.conf"
                port=$NGINX_PORT
                cmd=("$(command -v nginx || echo /usr/sbin/nginx)" -p "$KWORK/nginx" -e "$KWORK/nginx/error.log"
                    -c "$KWORK/nginx/callgrind.conf") ;;
            c) port=$HAPROXY_PORT cmd=("$(command -v haproxy || echo /usr/sbin/haproxy)" -db -f "$KWORK/haproxy.cfg") ;;
            d) port=$PORTCULLIS_PORT cmd=("$PORTCULLIS_BIN" serve --config "$KWORK/portcullis.json") ;;
            *) continue ;;
        esac
        log "$KEYS keys: instructions per request, $(target_name "$t")"
        SERVER_CPUS="$SERVER_CPUS" LOADGEN_CPUS="$LOADGEN_CPUS" \
            "$HELPERS/instructions.sh" "$WORK/instructions.tsv" "$KEYS" "$t" "$port" \
            "$ALLOWED_KEY" "$DENIED_KEY" "$KWORK/instructions-$t" -- "${cmd[@]}"
    done
}

versions() {
    echo "nginx $("$(command -v nginx || echo /usr/sbin/nginx)" -v 2>&1 | sed 's/.*nginx\///'), HAProxy $(haproxy -v | sed -n '1s/HAProxy version \([^ ]*\).*/\1/p'), $(wrk -v 2>&1 | sed -n '1s/^\(wrk [^ ]*\).*/\1/p'), $(h2load --version | head -n1), Portcullis $("$PORTCULLIS_BIN" --version | sed 's/^portcullis //')"
}

main() {
    ensure_tools
    local n_targets n_mixes n_keys per_run total instr=0 k
    n_targets=$(wc -w <<<"$TARGETS") n_mixes=$(wc -w <<<"$MIXES") n_keys=$(wc -w <<<"$KEYS_LIST")
    per_run=$(($(seconds "$WARMUP") + $(seconds "$DURATION") + 1))
    total=$((n_keys * (REPEAT * n_mixes * n_targets * per_run + 10)))
    if [ "$INSTRUCTIONS" = 1 ]; then
        # Measured: about 40 s for three proxies at 10 keys, 150 s at 100,000 (callgrind).
        for k in $INSTRUCTION_KEYS; do
            case " $KEYS_LIST " in *" $k "*) instr=$((instr + 40 + k / 1000)) ;; esac
        done
    fi
    log "expected time: about $(((total + instr + 59) / 60)) min ($n_keys key count(s) x $REPEAT round(s) x $n_mixes mix(es) x $n_targets target(s) x ${per_run}s$([ "$instr" = 0 ] || echo ", plus ~$(((instr + 59) / 60)) min of instruction counts"); builds not included)"
    build
    local started=$SECONDS load_before
    load_before=$(cut -d' ' -f1-3 /proc/loadavg)
    start_upstream
    log "upstream $UPSTREAM_BIN on $UPSTREAM_PORT; load generator on CPU(s) ${LOADGEN_CPUS:-any}, servers on ${SERVER_CPUS:-any}"
    for k in $KEYS_LIST; do run_key_count "$k"; done
    {
        echo "$(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)); load generator pinned to CPU ${LOADGEN_CPUS:-(none)}, proxy and upstream to CPU ${SERVER_CPUS:-(none)}"
        echo "mixes $MIXES; wrk -t$THREADS -c$CONNECTIONS cycling through up to $MIX_KEYS known keys (allow) or 100 unknown ones (401); h2load -t1 -c$H2_CONNECTIONS -m$H2_STREAMS with one known key (h2)"
        echo "$REPEAT round(s) of $DURATION after a $WARMUP warm-up run per target, mix and key count; targets in rotated order; access logs $ACCESS_LOG; rate limits $LIMITS; peers' forwarded fields: $PEER_HEADERS"
        echo "CPU µs/req: utime+stime from /proc/<pid>/stat (nginx: master + worker) over the measured run / requests completed (CLK_TCK $CLK_TCK)"
        echo "load average before $load_before, after $(cut -d' ' -f1-3 /proc/loadavg); took $(((SECONDS - started + 30) / 60)) min"
        echo "versions: $(versions)"
    } >"$WORK/conditions.txt"
    local out
    out=$(python3 "$HELPERS/report.py" tables "$WORK")
    echo "$out"
    [ -z "$RESULTS" ] || echo "$out" >"$RESULTS"
}

main "$@"
