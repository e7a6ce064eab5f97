# shellcheck shell=bash
# Sourced by scripts/load.sh: what a process spent, read from /proc (CPU ticks, the kernel's
# part, context switches, resident memory), and per-request figures from them. Uses CLK_TCK.

# What the given pids have spent so far, all threads, summed: "<cpu> <kernel> <voluntary>
# <involuntary>". cpu: utime+stime (fields 14 and 15 of /proc/<pid>/stat; the text after the
# last ")" starts at field 3) in clock ticks; kernel: stime alone, the socket calls' share.
# voluntary and involuntary context switches (/proc/<pid>/task/*/status): a voluntary one, the
# thread waited (epoll_wait, a futex); an involuntary one, the scheduler preempted it, on a core
# shared with the upstream mostly to run the upstream its own send just woke.
spent() {
    local cpu=0 sys=0 vol=0 inv=0 pid rest fields f k v
    for pid in "$@"; do
        rest=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
        read -r -a fields <<<"${rest##*) }"
        cpu=$((cpu + fields[11] + fields[12])) sys=$((sys + fields[12]))
        for f in /proc/"$pid"/task/*/status; do
            while read -r k v; do
                case "$k" in
                    voluntary_ctxt_switches:) vol=$((vol + v)) ;;
                    nonvoluntary_ctxt_switches:) inv=$((inv + v)) ;;
                esac
            done 2>/dev/null <"$f" || true
        done
    done
    echo "$cpu $sys $vol $inv"
}

# Per 100 requests, with two decimals: $1 events over $2 requests.
per_hundred() {
    awk -v n="$1" -v r="$2" 'BEGIN { if (r > 0) printf "%.2f", 100 * n / r; else print "-" }'
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
