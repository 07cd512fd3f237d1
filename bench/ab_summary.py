#!/usr/bin/env python3
"""bench/ab_summary.py DIR: the results of bench/ab.sh as a Markdown table.

Per figure and side: the median of the rounds and their spread (min-max). A
difference is called within noise when the two sides' ranges overlap; with three
rounds a side that is all the data can say. Ratios to a ceiling are taken within
each run (the ceiling measured in the same process or script), then the median.
"""
import glob
import json
import os
import re
import statistics
import sys

WORKLOADS = ("1 line per datagram", "1400 B datagrams", "1400 B, 3 tags per line")


def read_run(directory):
    run = {}
    with open(os.path.join(directory, "parse.json")) as f:
        for bench in json.load(f)["benchmarks"]:
            run["parse " + bench["name"]] = bench["items_per_second"] / 1e6
    run["parse ratio counters"] = (run["parse BM_parse_aggregate_counters"]
                                   / run["parse BM_memchr_split"])
    run["parse ratio timers"] = (run["parse BM_parse_aggregate_timers"]
                                 / run["parse BM_memchr_split"])
    text = open(os.path.join(directory, "ring.txt")).read()
    parts = re.split(r"batches of (\d+) metrics", text)
    for size, body in zip(parts[1::2], parts[2::2]):
        for label, key in (("memcpy, ring-sized buf", "memcpy"),
                           ("socketpair SEQPACKET", "socketpair"),
                           ("shm ring (read all bytes)", "ring"),
                           ("shm ring + decode_batch", "ring+decode")):
            found = re.search(re.escape(label) + r"\s+[\d.]+ M batches/s\s+([\d.]+) M metrics/s",
                              body)
            if not found:
                sys.exit(f"{directory}/ring.txt: no '{label}' line for {size}-metric batches")
            run[f"ring{size} {key}"] = float(found[1])
        run[f"ring{size} ratio"] = run[f"ring{size} ring+decode"] / run[f"ring{size} memcpy"]
    text = open(os.path.join(directory, "ingest.txt")).read()
    end_to_end = text.split("== bucky3 statsd_server end to end")[1]
    for name in WORKLOADS:
        found = re.search(re.escape(name) + r"\s+\|\s+[\d,]+\s+[\d.]+%\s+\|\s*(>=|<)?\s*([\d,]+)"
                          r"\s+[\d.]+%\s+([\d.]+)\s+\|\s+([\d.]+) x", end_to_end)
        if not found:
            sys.exit(f"{directory}/ingest.txt: no result line for '{name}'")
        run[f"ingest {name} mark"] = found[1] or ""
        run[f"ingest {name} lines"] = float(found[2].replace(",", "")) / 1e6
        run[f"ingest {name} cpu"] = float(found[3])
        run[f"ingest {name} ratio"] = float(found[4])
    run["load"] = [line.split() for line in open(os.path.join(directory, "load"))]
    return run


def cell(values, digits):
    return (f"{statistics.median(values):.{digits}f} "
            f"({min(values):.{digits}f}–{max(values):.{digits}f})")


def verdict(before, after):
    change = (statistics.median(after) / statistics.median(before) - 1) * 100
    overlap = max(before) >= min(after) and max(after) >= min(before)
    return f"{change:+.1f} %, " + ("within noise" if overlap else "**outside noise**")


def main():
    out = sys.argv[1]
    runs = {"before": [], "after": []}
    for directory in sorted(glob.glob(os.path.join(out, "*-*"))):
        round_, side = os.path.basename(directory).split("-")
        runs[side].append((int(round_), read_run(directory)))
    rows = [
        ("StatsD parse + aggregate, counters, M lines/s", "parse BM_parse_aggregate_counters", 2),
        ("  × bare memchr split (same run)", "parse ratio counters", 3),
        ("StatsD parse + aggregate, timers, M lines/s", "parse BM_parse_aggregate_timers", 2),
        ("  × bare memchr split (same run)", "parse ratio timers", 3),
        ("ceiling: bare memchr split, M lines/s", "parse BM_memchr_split", 1),
        ("ring, 30-metric batches + decode_batch, M metrics/s", "ring30 ring+decode", 2),
        ("  × memcpy through a ring-sized buffer (same run)", "ring30 ratio", 3),
        ("ring, 300-metric batches + decode_batch, M metrics/s", "ring300 ring+decode", 2),
        ("  × memcpy (same run)", "ring300 ratio", 3),
        ("socketpair, 30-metric batches, M metrics/s", "ring30 socketpair", 2),
    ]
    for name in WORKLOADS:
        rows += [(f"ingest, {name}: M lines/s under 1 % loss", f"ingest {name} lines", 3),
                 ("  × raw recvmmsg ceiling (same run)", f"ingest {name} ratio", 2),
                 ("  statsd_server CPU s per M lines", f"ingest {name} cpu", 3)]
    print("| figure | before: median (min–max) | after: median (min–max) | after vs before |")
    print("|---|---:|---:|---|")
    for label, key, digits in rows:
        before = [run[key] for _, run in runs["before"]]
        after = [run[key] for _, run in runs["after"]]
        print(f"| {label} | {cell(before, digits)} | {cell(after, digits)} | "
              f"{verdict(before, after)} |")
    print()
    print("| run | started (UTC), load 1/5/15 min | ended, load | ingest marks |")
    print("|---|---|---|---|")
    order = sorted([(r, 0 if s == "before" else 1, s, run) for s in runs for r, run in runs[s]])
    for round_, _, side, run in order:
        first, last = run["load"][0], run["load"][-1]
        marks = " ".join(run[f"ingest {n} mark"] or "–" for n in WORKLOADS)
        print(f"| {round_} {side} | {first[0][11:19]}, {' '.join(first[1:])} | "
              f"{last[0][11:19]}, {' '.join(last[1:])} | {marks} |")


if __name__ == "__main__":
    main()
