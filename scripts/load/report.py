#!/usr/bin/env python3
"""Statistics and markdown tables for scripts/load.sh (stdlib only).

  report.py percentiles LOG_FILE      h2load --log-file (tab-separated: start µs, status, µs):
                                      prints "p50_us p99_us"
  report.py tables WORK_DIR           prints the markdown report from the files load.sh wrote:
    runs.tsv          keys round mix target rps p50 p99 requests unexpected errors cpu_proxy cpu_up
                      sys_proxy [vol_proxy inv_proxy vol_up inv_up] (one line per measured run;
                      cpu_* in µs per request, "-" when not measured; sys_proxy: the kernel's part
                      of cpu_proxy; vol/inv: voluntary and involuntary context switches of the
                      proxy and of the upstream per 100 requests)
    memory.tsv        keys target rss_kib pss_kib accept_ms ready_ms
    instructions.tsv  keys mix target method instructions_per_request [portable_sha256]
                      (the last: the part callgrind counted in sha2's portable SHA-256, which runs
                      natively on SHA-NI instead; "-" or absent when not counted)
    conditions.txt    one line each, printed as a list

Medians are over rounds; "min–max" is the spread over rounds. Ratios are paired: for each round
the Portcullis figure is divided by the same round's nginx (or HAProxy) figure, and the median of
those per-round ratios is reported, so a slow round that hits both does not skew the ratio.
"""

import os
import statistics
import sys

TARGETS = {"a": "(a) direct", "b": "(b) nginx", "c": "(c) HAProxy", "d": "(d) Portcullis"}
MIX_NAMES = {"allow": "allow", "401": "401", "h2": "h2 allow", "mixed": "mixed 9:1"}


def num(text):
    return None if text in ("-", "") else float(text)


def fmt(value, kind):
    if value is None:
        return "-"
    if kind == "int":
        return f"{value:,.0f}"
    if kind == "cpu":
        return f"{value:.1f}" if value >= 10 else f"{value:.2f}"
    if kind == "ratio":
        return f"{value:.2f}"
    return str(value)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def spread(values, kind):
    values = [v for v in values if v is not None]
    if len(values) < 2:
        return ""
    return f"{fmt(min(values), kind)}–{fmt(max(values), kind)}"


def percentiles(path):
    latencies = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3:
                latencies.append(int(parts[2]))
    if not latencies:
        print("- -")
        return
    latencies.sort()

    def pick(q):
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))]

    print(pick(0.50), pick(0.99))


def read_rows(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.split() for line in f if line.strip()]


def ordered(values, order):
    return sorted(set(values), key=lambda v: (order.index(v) if v in order else len(order), v))


def run_tables(work, keys, runs, mixes):
    out = [f"### {int(keys):,} keys", ""]
    out.append("| mix | target | req/s | req/s min–max | p50 µs | p99 µs | p99 min–max "
               "| proxy CPU µs/req | min–max | of which kernel | upstream CPU µs/req | unexpected status "
               "| socket errors |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    by = {}
    for r in runs:
        by.setdefault((r[2], r[3]), []).append(r)
    for mix in mixes:
        for target in TARGETS:
            rows = by.get((mix, target))
            if not rows:
                continue
            col = lambda i: [num(r[i]) for r in rows]  # noqa: E731
            unexpected = sum(int(r[8]) for r in rows if r[8] != "-")
            errors = sum(int(r[9]) for r in rows if r[9] != "-")
            if all(v is None for v in col(4)):
                out.append(f"| {MIX_NAMES.get(mix, mix)} | {TARGETS[target]} | - | | - | - | | - | | - | - | - | - |")
                continue
            out.append(
                f"| {MIX_NAMES.get(mix, mix)} | {TARGETS[target]} "
                f"| {fmt(median(col(4)), 'int')} | {spread(col(4), 'int')} "
                f"| {fmt(median(col(5)), 'int')} | {fmt(median(col(6)), 'int')} | {spread(col(6), 'int')} "
                f"| {fmt(median(col(10)), 'cpu')} | {spread(col(10), 'cpu')} "
                f"| {fmt(median(col(12) if len(rows[0]) > 12 else []), 'cpu')} "
                f"| {fmt(median(col(11)), 'cpu')} | {unexpected:,} | {errors:,} |")
    out.append("")
    out.append("Paired ratios (median over rounds of each round's ratio; min–max in brackets; "
               "req/s: higher is better for Portcullis, p99 and CPU: lower is better):")
    out.append("")
    out.append("| mix | req/s d/b | req/s d/c | p99 d/b | p99 d/c | CPU µs/req d/b | CPU µs/req d/c "
               "| user CPU d/b | kernel CPU d/b |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    by_round = {(r[1], r[2], r[3]): r for r in runs}
    rounds = sorted({r[1] for r in runs}, key=int)

    def kernel(r):
        return num(r[12]) if len(r) > 12 else None

    def user(r):
        total, sys_part = num(r[10]), kernel(r)
        return None if total is None or sys_part is None else total - sys_part

    metrics = [(lambda r, i=i: num(r[i]), ("b", "c")) for i in (4, 6, 10)]
    metrics += [(user, ("b",)), (kernel, ("b",))]
    for mix in mixes:
        cells = []
        for value, peers in metrics:
            for peer in peers:
                ratios = []
                for rnd in rounds:
                    mine, theirs = by_round.get((rnd, mix, "d")), by_round.get((rnd, mix, peer))
                    if not mine or not theirs:
                        continue
                    a, b = value(mine), value(theirs)
                    if a is not None and b:
                        ratios.append(a / b)
                cell = fmt(median(ratios), "ratio")
                if len(ratios) > 1:
                    cell += f" ({spread(ratios, 'ratio')})"
                cells.append(cell)
        # Columns per metric then peer: req/s b c, p99 b c, cpu b c, user cpu b, kernel cpu b.
        out.append(f"| {MIX_NAMES.get(mix, mix)} | " + " | ".join(cells) + " |")
    out.append("")
    if any(len(r) > 16 for r in runs):
        out += switch_table(by, mixes)
    return out


def switch_table(by, mixes):
    """Context switches per 100 requests (medians over rounds), proxy and upstream."""
    out = ["Context switches per 100 requests (median over rounds): voluntary (the thread waited) "
           "and involuntary (the scheduler preempted it; on a core shared with the upstream, "
           "mostly to run the upstream its own send woke):", "",
           "| mix | target | proxy voluntary | proxy involuntary | upstream voluntary "
           "| upstream involuntary | proxy CPU µs/req | upstream CPU µs/req |",
           "|---|---|---:|---:|---:|---:|---:|---:|"]
    for mix in mixes:
        for target in TARGETS:
            rows = [r for r in by.get((mix, target), []) if len(r) > 16]
            if not rows:
                continue
            col = lambda i: [num(r[i]) for r in rows]  # noqa: E731
            cells = [fmt(median(col(i)), "cpu") for i in (13, 14, 15, 16, 10, 11)]
            out.append(f"| {MIX_NAMES.get(mix, mix)} | {TARGETS[target]} | " + " | ".join(cells) + " |")
    out.append("")
    return out


def tables(work):
    out = ["## Load comparison", ""]
    conditions = os.path.join(work, "conditions.txt")
    if os.path.exists(conditions):
        with open(conditions) as f:
            out += [f"- {line.rstrip()}" for line in f if line.strip()]
        out.append("")
    runs = read_rows(os.path.join(work, "runs.tsv"))
    mixes = ordered([r[2] for r in runs], list(MIX_NAMES))
    for keys in sorted({r[0] for r in runs}, key=int):
        out += run_tables(work, keys, [r for r in runs if r[0] == keys], mixes)

    memory = read_rows(os.path.join(work, "memory.tsv"))
    if memory:
        out += ["### Memory and start-up", "",
                "After the last run of each key count: VmRSS and Pss (proportional set size: "
                "pages shared between processes divided among them), summed over nginx's master "
                "and worker. Start-up: from spawning the process until the port accepts a "
                "connection, and until a known key gets its first 200 (polled every 10 ms).", "",
                "| keys | target | VmRSS MiB | Pss MiB | accepts after ms | first 200 after ms |",
                "|---:|---|---:|---:|---:|---:|"]
        for keys, target, rss, pss, accept, ready in memory:
            mib = lambda kib: fmt(num(kib) / 1024, "cpu") if num(kib) is not None else "-"  # noqa: E731
            out.append(f"| {int(keys):,} | {TARGETS.get(target, target)} | {mib(rss)} | {mib(pss)} "
                       f"| {accept} | {ready} |")
        out.append("")

    instructions = read_rows(os.path.join(work, "instructions.tsv"))
    if instructions:
        method = sorted({r[3] for r in instructions})
        out += ["### Instructions per request", "",
                f"Counted with {', '.join(method)}: instructions of the whole proxy process for "
                "N2 requests minus those for N1 requests, divided by N2 − N1 (start-up and "
                "shutdown cancel out). Under valgrind the CPU's SHA extensions are hidden, so "
                "Portcullis hashes each key in portable code (about 3,500 instructions a 64-byte "
                "block; natively SHA-NI takes about 200): \"without SHA\" leaves that part out.",
                "",
                "| keys | mix | (b) nginx | (c) HAProxy | (d) Portcullis | d/b | d/c "
                "| of d: portable SHA-256 | d without SHA | d without SHA / b |",
                "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        table = {(r[0], r[1], r[2]): num(r[4]) for r in instructions}
        sha = {(r[0], r[1], r[2]): num(r[5]) for r in instructions if len(r) > 5}
        for keys, mix in sorted({(r[0], r[1]) for r in instructions},
                                key=lambda km: (int(km[0]), list(MIX_NAMES).index(km[1])
                                                if km[1] in MIX_NAMES else 99)):
            b, c, d = (table.get((keys, mix, t)) for t in "bcd")
            s_d = sha.get((keys, mix, "d"))
            bare = d - s_d if d is not None and s_d is not None else None
            ratio = lambda x, y: fmt(x / y, "ratio") if x and y else "-"  # noqa: E731
            out.append(f"| {int(keys):,} | {MIX_NAMES.get(mix, mix)} | {fmt(b, 'int')} "
                       f"| {fmt(c, 'int')} | {fmt(d, 'int')} | {ratio(d, b)} | {ratio(d, c)} "
                       f"| {fmt(s_d, 'int')} | {fmt(bare, 'int')} | {ratio(bare, b)} |")
        out.append("")
    print("\n".join(out))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "percentiles":
        percentiles(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "tables":
        tables(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
