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

# utime+stime (fields 14 and 15 of /proc/<pid>/stat, all threads) summed over the given pids, in
# clock ticks. Text after the last ")" starts at field 3.
cpu_ticks() {
    local total=0 pid rest fields
    for pid in "$@"; do
        rest=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
        read -r -a fields <<<"${rest##*) }"
        total=$((total + fields[11] + fields[12]))
    done
    echo "$total"
}

# stime alone (field 15), summed like cpu_ticks: the kernel's share (the socket calls).
sys_ticks() {
    local total=0 pid rest fields
    for pid in "$@"; do
        rest=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
        read -r -a fields <<<"${rest##*) }"
        total=$((total + fields[12]))
    done
    echo "$total"
}

# Context switches of the given pids, all threads: "<voluntary> <involuntary>" (a voluntary one:
# the thread waited, in epoll_wait or a futex; an involuntary one: the scheduler preempted it,
# on a core shared with the upstream mostly to run the upstream its own send just woke).
switches() {
    local vol=0 inv=0 pid f k v
    for pid in "$@"; do
        for f in /proc/"$pid"/task/*/status; do
            while read -r k v; do
                case "$k" in
                    voluntary_ctxt_switches:) vol=$((vol + v)) ;;
                    nonvoluntary_ctxt_switches:) inv=$((inv + v)) ;;
                esac
            done 2>/dev/null <"$f" || true
        done
    done
    echo "$vol $inv"
}

# Per 100 requests, with two decimals: $1 events over $2 requests.
per_hundred() {
    awk -v n="$1" -v r="$2" 'BEGIN { if (r > 0) printf "%.2f", 100 * n / r; else print "-" }'
}

# The pids whose CPU counts for target $1: nginx master and its workers, otherwise one process.
target_pids() {
    case "$1" in
        b) echo "$NGINX_PID" "$(pgrep -P "$NGINX_PID" | tr '\n' ' ')" ;;
        c) echo "$HAPROXY_PID" ;;
        d) echo "$PORTCULLIS_PID" ;;
    esac
}

# "VmRSS Pss" in KiB, each summed over the given pids. RSS counts pages that nginx's master and
# worker share (the key map, copied on write) once per process; Pss divides them among them.
memory_kib() {
    local rss=0 pss=0 pid v
    for pid in "$@"; do
        v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
        rss=$((rss + ${v:-0}))
        v=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || true)
        pss=$((pss + ${v:-0}))
    done
    echo "$rss $pss"
}

# µs per request from a tick delta and a request count, two decimals; "-" without requests.
us_per_request() {
    local ticks=$1 requests=$2 x
    [ "$requests" -gt 0 ] || { echo -; return; }
    x=$((ticks * 100000000 / CLK_TCK / requests))
    printf '%d.%02d' $((x / 100)) $((x % 100))
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

# One load run: wrk (h1 mixes) or h2load (h2) against port $1 for $2 seconds (wrk duration
# syntax), requests from mix $3. Prints "rps p50_us p99_us requests non2xx errors".
load_run() {
    local port=$1 duration=$2 mix=$3 out
    if [ "$mix" = h2 ]; then
        out=$(${LOADGEN_PIN[@]+"${LOADGEN_PIN[@]}"} h2load -t1 -c "$H2_CONNECTIONS" -m "$H2_STREAMS" \
            -D "$duration" -H "x-api-key: $H2_KEY" --log-file "$KWORK/h2.log" \
            "http://127.0.0.1:$port/api/items/42" 2>&1) || die "h2load failed: $out"
        local rps done_ ok errored timeout pct
        rps=$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")
        read -r done_ errored timeout < <(sed -n \
            's/^requests: .* \([0-9]*\) done, .* \([0-9]*\) errored, \([0-9]*\) timeout.*/\1 \2 \3/p' <<<"$out")
        ok=$(sed -n 's/^status codes: \([0-9]*\) 2xx.*/\1/p' <<<"$out")
        if [ -z "$rps" ] || [ -z "$done_" ] || [ -z "$ok" ]; then die "h2load printed no result: $out"; fi
        pct=$(python3 "$HELPERS/report.py" percentiles "$KWORK/h2.log")
        rm -f "$KWORK/h2.log"
        echo "$rps $pct $done_ $((done_ - ok)) $((errored + timeout))"
    else
        out=$(REQUESTS_FILE="$KWORK/mix-$mix.txt" ${LOADGEN_PIN[@]+"${LOADGEN_PIN[@]}"} \
            wrk -t"$THREADS" -c"$CONNECTIONS" -d"$duration" --timeout 5s \
            -s "$HELPERS/requests.lua" "http://127.0.0.1:$port") || die "wrk failed: $out"
        awk '/^RESULT/ { print $2, $3, $4, $5, $6, $7; found = 1 } END { if (!found) exit 1 }' \
            <<<"$out" || die "wrk printed no result: $out"
    fi
}

# Truncate the access logs (their writers append, so this is safe while they run).
truncate_logs() {
    local f
    for f in "$KWORK"/*access.log; do [ -e "$f" ] && : >"$f"; done
    return 0
}

# Warm up, then measure target $1 on mix $2 in round $3; append one line to runs.tsv.
measure() {
    local target=$1 mix=$2 round=$3 port pids=() p0 u0 s0 p1 u1 s1 result
    port=$(target_port "$target" "$mix")
    if [ "$mix" = h2 ] && [ "${H2_OK[$target]}" != 1 ]; then
        echo "$KEYS $round $mix $target - - - - - - - - - - - - -" >>"$WORK/runs.tsv"
        return
    fi
    load_run "$port" "$WARMUP" "$mix" >/dev/null
    read -r -a pids <<<"$(target_pids "$target")"
    p0=$(cpu_ticks ${pids[@]+"${pids[@]}"}) u0=$(cpu_ticks "$UPSTREAM_PID")
    s0=$(sys_ticks ${pids[@]+"${pids[@]}"})
    local cs0 cs1 ucs0 ucs1
    read -r -a cs0 <<<"$(switches ${pids[@]+"${pids[@]}"})"
    read -r -a ucs0 <<<"$(switches "$UPSTREAM_PID")"
    result=$(load_run "$port" "$DURATION" "$mix")
    p1=$(cpu_ticks ${pids[@]+"${pids[@]}"}) u1=$(cpu_ticks "$UPSTREAM_PID")
    s1=$(sys_ticks ${pids[@]+"${pids[@]}"})
    read -r -a cs1 <<<"$(switches ${pids[@]+"${pids[@]}"})"
    read -r -a ucs1 <<<"$(switches "$UPSTREAM_PID")"
    truncate_logs
    local rps p50 p99 requests non2xx errors unexpected cpu_proxy=- cpu_up sys_proxy=- vol=- inv=-
    read -r rps p50 p99 requests non2xx errors <<<"$result"
    # (a) answers 200 to every key, so only the proxies have expected statuses.
    case "$target:$mix" in
        a:*) unexpected=$non2xx ;;
        *:401) unexpected=$((requests - non2xx)) ;;
        *:mixed) unexpected=- ;;
        *) unexpected=$non2xx ;;
    esac
    if [ ${#pids[@]} -gt 0 ]; then
        cpu_proxy=$(us_per_request $((p1 - p0)) "$requests")
        sys_proxy=$(us_per_request $((s1 - s0)) "$requests")
        vol=$(per_hundred $((cs1[0] - cs0[0])) "$requests")
        inv=$(per_hundred $((cs1[1] - cs0[1])) "$requests")
    fi
    cpu_up=$(us_per_request $((u1 - u0)) "$requests")
    local up_vol up_inv
    up_vol=$(per_hundred $((ucs1[0] - ucs0[0])) "$requests")
    up_inv=$(per_hundred $((ucs1[1] - ucs0[1])) "$requests")
    echo "$KEYS $round $mix $target $rps $p50 $p99 $requests $unexpected $errors $cpu_proxy $cpu_up $sys_proxy $vol $inv $up_vol $up_inv" \
        >>"$WORK/runs.tsv"
    local line='%s keys, round %s, %-5s %-15s %9.0f req/s  p50 %6s µs  p99 %6s µs'
    line+='  proxy %6s µs/req  upstream %s µs/req'
    # shellcheck disable=SC2059 # the format is the constant above
    log "$(printf "$line" "$KEYS" "$round" "$mix" "$(target_name "$target")" "$rps" "$p50" "$p99" \
        "$cpu_proxy" "$cpu_up")"
}

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

start_upstream() {
    free_port UPSTREAM_PORT
    ${SERVER_PIN[@]+"${SERVER_PIN[@]}"} "$UPSTREAM_BIN" "$UPSTREAM_PORT" 2>"$WORK/upstream.log" &
    UPSTREAM_PID=$!
    PIDS+=("$UPSTREAM_PID")
    wait_accept "$UPSTREAM_PORT" "$UPSTREAM_PID" 10 "$(now_us)" >/dev/null
}

# Configs for key count $KEYS in $KWORK (fresh ports each time).
write_configs() {
    local access_nginx="access_log $KWORK/nginx-access.log combined buffer=32k flush=100ms;"
    local access_portcullis=json haproxy_log="log stdout format raw local0"
    case "$ACCESS_LOG" in
        off) access_portcullis=off access_nginx="access_log off;" haproxy_log="" ;;
        text) access_portcullis=text ;;
    esac
    free_port NGINX_PORT
    free_port NGINX_H2_PORT
    free_port HAPROXY_PORT
    free_port PORTCULLIS_PORT
    mkdir -p "$KWORK/nginx/tmp"
    sed -e "s|@PORT@|$NGINX_PORT|g" -e "s|@H2PORT@|$NGINX_H2_PORT|g" \
        -e "s|@UPSTREAM@|$UPSTREAM_PORT|g" -e "s|@WORK@|$KWORK/nginx|g" \
        -e "s|@KEYS@|$KWORK/nginx-keys.map|g" -e "s|@ACCESS_LOG@|$access_nginx|g" \
        "$HELPERS/front.conf" >"$KWORK/nginx/nginx.conf"
    sed -e "s|@PORT@|$HAPROXY_PORT|g" -e "s|@UPSTREAM@|$UPSTREAM_PORT|g" \
        -e "s|@KEYS@|$KWORK/haproxy-keys.map|g" -e "s|@LOG@|$haproxy_log|g" \
        "$HELPERS/haproxy.cfg" >"$KWORK/haproxy.cfg"
    cat >"$KWORK/portcullis.json" <<EOF
{
  "listeners": [{ "address": "127.0.0.1:$PORTCULLIS_PORT" }],
  "workers": 1,
  "policy": "policy",
  "log": {
    "format": "text", "level": "info",
    "access": { "format": "$access_portcullis", "destination": "file", "path": "$KWORK/portcullis-access.log" }
  }
}
EOF
}

# Start target $1 pinned to SERVER_CPUS, timing how long until it accepts and answers 200.
start_target() {
    local target=$1 t0 accept ready pid port
    t0=$(now_us)
    case "$target" in
        b)
            ${SERVER_PIN[@]+"${SERVER_PIN[@]}"} "$(command -v nginx || echo /usr/sbin/nginx)" \
                -p "$KWORK/nginx" -e "$KWORK/nginx/error.log" -c "$KWORK/nginx/nginx.conf" &
            NGINX_PID=$! pid=$! port=$NGINX_PORT ;;
        c)
            ${SERVER_PIN[@]+"${SERVER_PIN[@]}"} "$(command -v haproxy || echo /usr/sbin/haproxy)" \
                -db -f "$KWORK/haproxy.cfg" >>"$KWORK/haproxy-access.log" 2>"$KWORK/haproxy.log" &
            HAPROXY_PID=$! pid=$! port=$HAPROXY_PORT ;;
        d)
            ${SERVER_PIN[@]+"${SERVER_PIN[@]}"} "$PORTCULLIS_BIN" serve --config "$KWORK/portcullis.json" \
                2>"$KWORK/portcullis.log" &
            PORTCULLIS_PID=$! pid=$! port=$PORTCULLIS_PORT ;;
    esac
    PIDS+=("$pid")
    accept=$(wait_accept "$port" "$pid" 120 "$t0")
    ready=$(wait_ready "$port" "$t0")
    echo "$KEYS $target $accept $ready" >>"$KWORK/startup.tsv"
    log "$(target_name "$target"): accepts after $accept ms, first 200 after $ready ms"
}

# Every target answers a known key with 200 and (proxies) an unknown one with 401, over HTTP/1.1
# and h2c; a target without h2c is left out of the h2 mix (reported as "-").
check_targets() {
    local t port got
    declare -gA H2_OK=()
    for t in $TARGETS; do
        port=$(target_port "$t" allow)
        got=$(status_of "$port" "$ALLOWED_KEY" h1)
        [ "$got" = 200 ] || die "$(target_name "$t") answered $got to a known key, expected 200 (logs in $WORK)"
        if [ "$t" != a ]; then
            got=$(status_of "$port" "$DENIED_KEY" h1)
            [ "$got" = 401 ] || die "$(target_name "$t") answered $got to an unknown key, expected 401 (logs in $WORK)"
        fi
        port=$(target_port "$t" h2)
        H2_OK[$t]=0
        if [ "$(status_of "$port" "$H2_KEY" h2)" = 200 ] &&
            { [ "$t" = a ] || [ "$(status_of "$port" "$DENIED_KEY" h2)" = 401 ]; }; then
            H2_OK[$t]=1
        else
            case " $MIXES " in *" h2 "*) log "$(target_name "$t") does not serve h2c as expected: left out of the h2 mix" ;; esac
        fi
    done
}

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
        echo "$REPEAT round(s) of $DURATION after a $WARMUP warm-up run per target, mix and key count; targets in rotated order; access logs $ACCESS_LOG; rate limits $LIMITS"
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
