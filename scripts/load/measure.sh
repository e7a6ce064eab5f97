# shellcheck shell=bash
# Sourced by scripts/load.sh: one load run (wrk for HTTP/1.1, h2load for h2c) and one measured
# run of a target on a mix (warm-up, then req/s, p50, p99, and the CPU and context switches of
# the proxy and the upstream from /proc), appended as one line to runs.tsv.

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
        # At the -D deadline h2load can count a stream's 2xx without counting it done: one
        # more 2xx than requests done is not an unexpected status.
        echo "$rps $pct $done_ $((done_ > ok ? done_ - ok : 0)) $((errored + timeout))"
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
    local target=$1 mix=$2 round=$3 port pids=() p0 p1 u0 u1 result
    port=$(target_port "$target" "$mix")
    if [ "$mix" = h2 ] && [ "${H2_OK[$target]}" != 1 ]; then
        echo "$KEYS $round $mix $target - - - - - - - - - - - - -" >>"$WORK/runs.tsv"
        return
    fi
    load_run "$port" "$WARMUP" "$mix" >/dev/null
    read -r -a pids <<<"$(target_pids "$target")"
    # "<cpu> <kernel> <voluntary> <involuntary>" of the proxy (p) and the upstream (u).
    read -r -a p0 <<<"$(spent ${pids[@]+"${pids[@]}"})"
    read -r -a u0 <<<"$(spent "$UPSTREAM_PID")"
    result=$(load_run "$port" "$DURATION" "$mix")
    read -r -a p1 <<<"$(spent ${pids[@]+"${pids[@]}"})"
    read -r -a u1 <<<"$(spent "$UPSTREAM_PID")"
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
        cpu_proxy=$(us_per_request $((p1[0] - p0[0])) "$requests")
        sys_proxy=$(us_per_request $((p1[1] - p0[1])) "$requests")
        vol=$(per_hundred $((p1[2] - p0[2])) "$requests")
        inv=$(per_hundred $((p1[3] - p0[3])) "$requests")
    fi
    cpu_up=$(us_per_request $((u1[0] - u0[0])) "$requests")
    local up_vol up_inv
    up_vol=$(per_hundred $((u1[2] - u0[2])) "$requests")
    up_inv=$(per_hundred $((u1[3] - u0[3])) "$requests")
    echo "$KEYS $round $mix $target $rps $p50 $p99 $requests $unexpected $errors $cpu_proxy $cpu_up $sys_proxy $vol $inv $up_vol $up_inv" \
        >>"$WORK/runs.tsv"
    local line='%s keys, round %s, %-5s %-15s %9.0f req/s  p50 %6s µs  p99 %6s µs'
    line+='  proxy %6s µs/req  upstream %s µs/req'
    # shellcheck disable=SC2059 # the format is the constant above
    log "$(printf "$line" "$KEYS" "$round" "$mix" "$(target_name "$target")" "$rps" "$p50" "$p99" \
        "$cpu_proxy" "$cpu_up")"
}
