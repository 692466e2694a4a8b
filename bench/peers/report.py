#!/usr/bin/env python3
"""Turns the raw lines that bench/peers/run.sh collected into the markdown table of medians.

Input (one file, written by run.sh):
    META <key> <text>                         machine and versions, printed as the header
    <runtime> <round> RESULT <bench> <metric> <value>
    <runtime> <round> SIZE <bench> <k=v> ...  the work each runtime says it did
    <runtime> <round> INFO workers <n>
    <runtime> <round> FAIL <bench> <why>      a run that crashed or timed out

runtime is bedlam, otp or caf. Each cell is the median over the rounds with the lowest and
highest value; the ratios divide bedlam's median by the peer's (for bytes and nanoseconds, lower
is better, so there a ratio under 1 favours bedlam).
"""

import statistics
import sys
from collections import defaultdict

RUNTIMES = ("bedlam", "otp", "caf")
# Benchmarks in the order of the issue, with the metrics each one reports.
ORDER = (
    ("spawn", ("processes_per_s",)),
    ("idle_memory", ("bytes_per_process",)),
    ("ping_pong", ("round_trips_per_s",)),
    ("ring", ("hops_per_s",)),
    ("fan_in", ("msgs_per_s",)),
    ("restart_one_for_one", ("restarts_per_s",)),
    ("restart_one_for_all", ("group_restarts_per_s", "child_restarts_per_s")),
    ("sup_tree", ("start_children_per_s", "stop_children_per_s")),
    ("server_call", ("calls_per_s", "ns_per_call")),
)
LOWER_IS_BETTER = {"bytes_per_process", "ns_per_call"}


def human(value, metric):
    """2034567 -> '2.03 M/s'; 342.8 bytes -> '343 B'."""
    if metric == "bytes_per_process":
        return f"{value:,.0f} B"
    if metric.startswith("ns_"):
        return f"{value:,.0f} ns"
    suffix = "/s" if metric.endswith("_per_s") else ""
    for scale, unit in ((1e6, " M"), (1e3, " k")):
        if value >= scale:
            return f"{value / scale:.3g}{unit}{suffix}"
    return f"{value:.3g}{suffix}"


def cell(values, metric):
    if not values:
        return None
    median = statistics.median(values)
    low, high = min(values), max(values)
    text = f"**{human(median, metric)}**"
    if len(values) > 1:
        text += f" ({human(low, metric)}–{human(high, metric)})"
    return median, text


def main(path):
    meta = []
    results = defaultdict(list)  # (runtime, bench, metric) -> values
    sizes = defaultdict(set)  # bench -> {(runtime, "k=v ...")}
    workers = defaultdict(set)  # runtime -> {n}
    failures = defaultdict(list)  # (runtime, bench) -> [why]
    ran = defaultdict(int)  # (runtime, bench) -> runs
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "META":
                meta.append((parts[1], " ".join(parts[2:])))
                continue
            runtime, _round, kind = parts[0], parts[1], parts[2]
            if kind == "RESULT":
                results[(runtime, parts[3], parts[4])].append(float(parts[5]))
            elif kind == "SIZE":
                sizes[parts[3]].add((runtime, " ".join(parts[4:])))
                ran[(runtime, parts[3])] += 1
            elif kind == "INFO" and parts[3] == "workers":
                workers[runtime].add(parts[4])
            elif kind == "FAIL":
                failures[(runtime, parts[3])].append(" ".join(parts[4:]))

    out = []
    out.append("## bedlam vs Erlang/OTP vs CAF")
    out.append("")
    for key, text in meta:
        out.append(f"- {key}: {text}")
    for runtime in RUNTIMES:
        if workers[runtime]:
            out.append(f"- {runtime} scheduler threads: {', '.join(sorted(workers[runtime]))}")
    out.append("")
    out.append("| benchmark | metric | bedlam median (min–max) | OTP median (min–max) "
               "| CAF median (min–max) | bedlam/OTP | bedlam/CAF |")
    out.append("|---|---|---|---|---|---|---|")
    for bench, metrics in ORDER:
        if not any(ran[(r, bench)] or failures[(r, bench)] for r in RUNTIMES):
            continue
        for metric in metrics:
            label = metric + (" (lower is better)" if metric in LOWER_IS_BETTER else "")
            cells = {}
            texts = []
            for runtime in RUNTIMES:
                c = cell(results[(runtime, bench, metric)], metric)
                fails = failures[(runtime, bench)]
                if c is None:
                    text = "failed: " + "; ".join(sorted(set(fails))) if fails else "—"
                else:
                    cells[runtime] = c[0]
                    text = c[1]
                    if fails:
                        text += f" ({len(fails)} run(s) failed: {'; '.join(sorted(set(fails)))})"
                texts.append(text)
            ratios = []
            for peer in ("otp", "caf"):
                if "bedlam" in cells and peer in cells and cells[peer] > 0:
                    ratios.append(f"{cells['bedlam'] / cells[peer]:.2f}×")
                else:
                    ratios.append("—")
            out.append(f"| {bench} | {label} | " + " | ".join(texts + ratios) + " |")
    out.append("")
    out.append("Work per run (each runtime prints what it did; they must agree):")
    out.append("")
    for bench, _ in ORDER:
        if not sizes[bench]:
            continue
        distinct = {size for _, size in sizes[bench]}
        if len(distinct) == 1:
            out.append(f"- {bench}: {distinct.pop()}")
        else:
            detail = "; ".join(f"{r}: {s}" for r, s in sorted(sizes[bench]))
            out.append(f"- {bench}: **MISMATCH** {detail}")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: report.py RESULTS_FILE")
    sys.exit(main(sys.argv[1]))
