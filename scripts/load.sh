#!/usr/bin/env bash
# Load comparison on loopback, bounded in time: the same requests sent
#   (a) straight to an upstream (nginx serving a fixed small response),
#   (b) through nginx doing an equivalent API-key check (map $http_x_api_key → allow/deny,
#       proxy_pass to the upstream over keepalive connections),
#   (c) through Portcullis (target/release/portcullis serve) with an equivalent policy.
# For each mix (allowed-only, denied-only, 90/10 mixed) it reports requests/s and latency
# p50/p99 from wrk, and the ratios c/b and c/a measured in this run. Nothing is asserted about
# speed. Every process it starts is stopped on exit.
#
# Usage: scripts/load.sh            (installs wrk and nginx with apt-get when missing and root)
# Knobs: DURATION=10s WARMUP=2s THREADS=2 CONNECTIONS=64 KEYS=1000 ACCESS_LOG=on|off|text
#        (on: Portcullis' JSON access log and nginx's access_log, each to a file; text: Portcullis'
#        text lines instead of JSON; off: neither)
#        LIMITS=off|on (on: every key gets a rate limit too high to bite, so the limiter step runs
#        on every request without refusing any; compare two runs for its cost)
#        REPEAT=1 (rounds; (b) and (c) alternate who goes first, medians are reported)
#        RESULTS=<file> (also write the markdown tables there)
# Bounded: (1 + 3 mixes x 2 targets) x REPEAT runs of WARMUP + DURATION, about 90 s by default.
set -euo pipefail

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
KEYS=${KEYS:-1000}
ACCESS_LOG=${ACCESS_LOG:-on}
LIMITS=${LIMITS:-off}
REPEAT=${REPEAT:-1}
RESULTS=${RESULTS:-}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HELPERS="$ROOT/scripts/load"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-load.XXXXXX")
PIDS=()

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'load.sh: %s\n' "$*" >&2; exit 1; }

ensure_tools() {
    local missing=()
    command -v wrk >/dev/null || missing+=(wrk)
    command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
    command -v curl >/dev/null || missing+=(curl)
    [ ${#missing[@]} -eq 0 ] && return
    [ "$(id -u)" -eq 0 ] || die "missing ${missing[*]}; install them (apt-get install ${missing[*]}) or run as root"
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Set variable $1 to a free loopback port above 20000 that this run has not taken yet.
TAKEN=" "
free_port() {
    local p
    for _ in $(seq 200); do
        p=$((20001 + RANDOM % 40000))
        case "$TAKEN" in *" $p "*) continue ;; esac
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            TAKEN="$TAKEN$p "
            printf -v "$1" '%s' "$p"
            return
        fi
    done
    die "no free port found above 20000"
}

# Wait until 127.0.0.1:$1 answers HTTP (any status), at most 15 s.
wait_http() {
    for _ in $(seq 150); do
        curl -s -o /dev/null "http://127.0.0.1:$1/" && return
        sleep 0.1
    done
    die "nothing answers on 127.0.0.1:$1 (logs in $WORK)"
}

# Start nginx with config $1 in prefix $2 (foreground process, tracked for cleanup).
start_nginx() {
    local conf=$1 prefix=$2 nginx_bin
    nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
    mkdir -p "$prefix/tmp"
    "$nginx_bin" -p "$prefix" -e "$prefix/error.log" -c "$conf" &
    PIDS+=($!)
}

# Generate $KEYS secrets, their digests, the Portcullis policy and the nginx map.
generate_keys() {
    local i secret digest first=1 limit=""
    [ "$LIMITS" = on ] && limit=', "rate_limit": { "requests": 1000000000, "per_s": 1 }'
    : >"$WORK/allowed.txt"
    {
        echo '{'
        echo '  "mode": "limited-access",'
        echo "  \"upstreams\": { \"app\": { \"url\": \"http://127.0.0.1:$UPSTREAM_PORT\" } },"
        echo '  "routes": [{ "id": "items", "methods": ["GET"], "path": "/api/items/{id}",'
        echo '              "module": "items", "action": "read", "upstream": "app" }],'
        echo '  "keys": {'
    } >"$WORK/policy/policy.json"
    : >"$WORK/nginx-keys.map"
    for i in $(seq -w 1 "$KEYS"); do
        secret="pcs_$(printf 'load-%s-%s' "$i" "$$" | sha256sum | cut -c1-64)"
        digest=$(printf '%s' "$secret" | sha256sum | cut -c1-64)
        [ $first -eq 1 ] || echo ',' >>"$WORK/policy/policy.json"
        first=0
        printf '    "k%s": { "sha256": "%s", "permissions": { "items": ["read"] }%s }' \
            "$i" "$digest" "$limit" >>"$WORK/policy/policy.json"
        printf '        "%s" 1;\n' "$secret" >>"$WORK/nginx-keys.map"
        echo "$secret" >>"$WORK/allowed.txt"
    done
    printf '\n  }\n}\n' >>"$WORK/policy/policy.json"
}

write_configs() {
    local access_portcullis=json access_nginx="access_log $WORK/front/access.log;"
    case "$ACCESS_LOG" in
        off) access_portcullis=off; access_nginx="access_log off;" ;;
        text) access_portcullis=text ;;
    esac
    sed -e "s|@PORT@|$UPSTREAM_PORT|g" -e "s|@WORK@|$WORK/upstream|g" \
        "$HELPERS/upstream.conf" >"$WORK/upstream/nginx.conf"
    sed -e "s|@PORT@|$NGINX_PORT|g" -e "s|@UPSTREAM@|$UPSTREAM_PORT|g" \
        -e "s|@WORK@|$WORK/front|g" -e "s|@KEYS@|$WORK/nginx-keys.map|g" \
        -e "s|@ACCESS_LOG@|$access_nginx|g" \
        "$HELPERS/front.conf" >"$WORK/front/nginx.conf"
    cat >"$WORK/portcullis.json" <<EOF
{
  "listeners": [{ "address": "127.0.0.1:$PORTCULLIS_PORT" }],
  "policy": "policy",
  "log": {
    "format": "text", "level": "info",
    "access": { "format": "$access_portcullis", "destination": "file", "path": "$WORK/portcullis-access.log" }
  }
}
EOF
}

# Run wrk against port $1 with requests file $2 (after a warm-up run); print
# "rps p50_us p99_us requests non2xx errors".
measure() {
    local port=$1 reqs=$2 out
    REQUESTS_FILE="$reqs" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" --timeout 5s \
        -s "$HELPERS/requests.lua" "http://127.0.0.1:$port" >/dev/null
    out=$(REQUESTS_FILE="$reqs" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 5s \
        -s "$HELPERS/requests.lua" "http://127.0.0.1:$port")
    echo "$out" | awk '/^RESULT/ { print $2, $3, $4, $5, $6, $7; found = 1 }
        END { if (!found) exit 1 }' || die "wrk printed no result: $out"
}

# Request files, one X-API-Key value per line (the Lua script cycles through them): 100 known
# keys, 100 unknown ones, and the two mixed 9:1.
write_mixes() {
    head -n 100 "$WORK/allowed.txt" >"$WORK/mix-allowed.txt"
    for i in $(seq 100); do
        echo "pcs_unknown_$(printf '%s-%s' "$i" "$$" | sha256sum | cut -c1-60)"
    done >"$WORK/mix-denied.txt"
    # Nine allowed keys, then one unknown, a hundred times.
    awk 'NR == FNR { a[n++] = $0; next } { for (i = 0; i < 9; i++) print a[(9 * k + i) % n]; print; k++ }' \
        "$WORK/mix-allowed.txt" "$WORK/mix-denied.txt" >"$WORK/mix-mixed.txt"
}

# Check one request per target returns the status a mix expects, before measuring.
check_status() {
    local port=$1 secret=$2 want=$3 got
    got=$(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $secret" \
        "http://127.0.0.1:$port/api/items/42")
    [ "$got" = "$want" ] || die "127.0.0.1:$port answered $got, expected $want (logs in $WORK)"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

start_servers() {
    start_nginx "$WORK/upstream/nginx.conf" "$WORK/upstream"
    start_nginx "$WORK/front/nginx.conf" "$WORK/front"
    "${CARGO_TARGET_DIR:-$ROOT/target}/release/portcullis" serve --config "$WORK/portcullis.json" \
        2>"$WORK/portcullis.log" &
    PIDS+=($!)
    for p in "$UPSTREAM_PORT" "$NGINX_PORT" "$PORTCULLIS_PORT"; do wait_http "$p"; done
    local allowed denied
    allowed=$(head -n1 "$WORK/mix-allowed.txt")
    denied=$(head -n1 "$WORK/mix-denied.txt")
    check_status "$UPSTREAM_PORT" "$allowed" 200
    check_status "$NGINX_PORT" "$allowed" 200
    check_status "$NGINX_PORT" "$denied" 401
    check_status "$PORTCULLIS_PORT" "$allowed" 200
    check_status "$PORTCULLIS_PORT" "$denied" 401
}

# Measure (a) once per round, then (b) and (c) for every mix, alternating which goes first so
# that load from other processes falls on both alike. Results go to $WORK/res-<target>-<mix>.
run_rounds() {
    local round mix first second
    for round in $(seq "$REPEAT"); do
        log "round $round/$REPEAT: (a) upstream directly"
        measure "$UPSTREAM_PORT" "$WORK/mix-allowed.txt" >>"$WORK/res-a-any"
        for mix in allowed denied mixed; do
            first=b second=c
            [ $((round % 2)) -eq 1 ] || { first=c second=b; }
            for t in $first $second; do
                log "round $round/$REPEAT: mix $mix, ($t) $([ "$t" = b ] && echo nginx || echo portcullis)"
                measure "$([ "$t" = b ] && echo "$NGINX_PORT" || echo "$PORTCULLIS_PORT")" \
                    "$WORK/mix-$mix.txt" >>"$WORK/res-$t-$mix"
            done
        done
    done
}

# "rps p50 p99 requests non2xx errors" over the rounds in file $1: medians of the first three,
# sums of the rest.
aggregate() {
    awk '{ for (i = 1; i <= 3; i++) v[i, NR] = $i; for (i = 4; i <= 6; i++) s[i] += $i }
        END {
            for (i = 1; i <= 3; i++) {
                for (a = 1; a <= NR; a++) x[a] = v[i, a]
                for (a = 1; a <= NR; a++) for (b = a + 1; b <= NR; b++)
                    if (x[b] < x[a]) { t = x[a]; x[a] = x[b]; x[b] = t }
                m[i] = x[int((NR + 1) / 2)]
            }
            print m[1], m[2], m[3], s[4], s[5], s[6]
        }' "$1"
}

report() {
    local table="| mix | target | req/s | p50 µs | p99 µs | requests | non-2xx | socket errors |"
    table+=$'\n'"|---|---|---:|---:|---:|---:|---:|---:|"
    local ratios="| mix | req/s c/b | req/s c/a | p50 c/b | p50 c/a | p99 c/b | p99 c/a |"
    ratios+=$'\n'"|---|---:|---:|---:|---:|---:|---:|"
    read -r a_rps a_p50 a_p99 a_n a_bad a_err <<<"$(aggregate "$WORK/res-a-any")"
    table+=$'\n'"| any | (a) upstream | $a_rps | $a_p50 | $a_p99 | $a_n | $a_bad | $a_err |"
    for mix in allowed denied mixed; do
        read -r b_rps b_p50 b_p99 b_n b_bad b_err <<<"$(aggregate "$WORK/res-b-$mix")"
        read -r c_rps c_p50 c_p99 c_n c_bad c_err <<<"$(aggregate "$WORK/res-c-$mix")"
        table+=$'\n'"| $mix | (b) nginx | $b_rps | $b_p50 | $b_p99 | $b_n | $b_bad | $b_err |"
        table+=$'\n'"| $mix | (c) portcullis | $c_rps | $c_p50 | $c_p99 | $c_n | $c_bad | $c_err |"
        ratios+=$'\n'"| $mix | $(ratio "$c_rps" "$b_rps") | $(ratio "$c_rps" "$a_rps") | $(ratio "$c_p50" "$b_p50") | $(ratio "$c_p50" "$a_p50") | $(ratio "$c_p99" "$b_p99") | $(ratio "$c_p99" "$a_p99") |"
    done
    printf '%s\n\n%s\n\n' "$table" "$ratios"
    printf '%s round(s) of %s (after %s warm-up) per target and mix; req/s and latencies are medians over rounds, counts are sums. ' \
        "$REPEAT" "$DURATION" "$WARMUP"
    printf '%s wrk threads, %s connections, %s keys, access logs %s, %s cores, load average before %s, after %s.\n' \
        "$THREADS" "$CONNECTIONS" "$KEYS" "$ACCESS_LOG" "$(nproc)" "$LOAD_BEFORE" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

main() {
    ensure_tools
    log "building ${CARGO_TARGET_DIR:-target}/release/portcullis"
    (cd "$ROOT" && cargo build --release --quiet)
    mkdir -p "$WORK/policy" "$WORK/upstream" "$WORK/front"
    free_port UPSTREAM_PORT
    free_port NGINX_PORT
    free_port PORTCULLIS_PORT
    log "ports: upstream $UPSTREAM_PORT, nginx $NGINX_PORT, portcullis $PORTCULLIS_PORT"
    generate_keys
    write_configs
    write_mixes
    start_servers
    LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
    log "$DURATION per run, $THREADS wrk threads, $CONNECTIONS connections, $REPEAT round(s)"
    run_rounds
    local out
    out=$(report)
    echo "$out"
    [ -z "$RESULTS" ] || echo "$out" >"$RESULTS"
}

main "$@"
