#!/usr/bin/env bash
# bench/ab.sh — two builds side by side in one run, interleaved (A, B, A, B, ...), so a
# change in the machine's load falls on both: bench_statsd_parse, bench_ring_throughput
# and bench/statsd_ingest.sh, each with its ceiling in the same run. bench/ab_summary.py
# turns the results into a table of medians and spreads.
#
#   bench/ab.sh BEFORE_BUILD AFTER_BUILD [--rounds N] [--out DIR] [--seconds S]
#
# Both sides use this checkout's statsd_ingest.sh and AFTER_BUILD's bench_udp_ceiling
# (the load generator and raw ceiling), so only the agent differs in the ingest steps.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ $# -ge 2 ] || { echo "usage: $0 BEFORE_BUILD AFTER_BUILD [--rounds N] [--out DIR] [--seconds S]" >&2; exit 2; }
before=$1 after=$2
shift 2
rounds=3 out=ab-results seconds=3
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    *) echo "usage: $0 BEFORE_BUILD AFTER_BUILD [--rounds N] [--out DIR] [--seconds S]" >&2; exit 2 ;;
  esac
done
bench_number "--rounds" "$rounds"
bench_number "--seconds" "$seconds"
for build in "$before" "$after"; do
  bench_require_built "$build" bench_statsd_parse bench_ring_throughput bucky3
done
generator=$after/bin/bench_udp_ceiling
[ -x "$generator" ] || bench_fail "$generator is not built"
mkdir -p "$out"

# stamp FILE: the UTC time and the 1/5/15-minute load average, appended.
stamp() { echo "$(date -u +%FT%TZ) $(cut -d' ' -f1-3 /proc/loadavg)" >> "$1"; }

for round in $(seq "$rounds"); do
  for side in before after; do
    build=$before
    [ "$side" = after ] && build=$after
    dir=$out/$round-$side
    mkdir -p "$dir"
    : > "$dir/load"
    stamp "$dir/load"
    bench_step "round $round, $side: bench_statsd_parse"
    "$build/bin/bench_statsd_parse" --benchmark_filter='split|parse_agg' --benchmark_min_time=0.5 \
      --benchmark_out="$dir/parse.json" --benchmark_out_format=json > "$dir/parse.txt" 2>&1 ||
      bench_fail "see $dir/parse.txt"
    stamp "$dir/load"
    bench_step "round $round, $side: bench_ring_throughput"
    "$build/bin/bench_ring_throughput" --only throughput > "$dir/ring.txt" 2>&1 ||
      bench_fail "see $dir/ring.txt"
    stamp "$dir/load"
    bench_step "round $round, $side: statsd_ingest.sh"
    BUCKY3=$build/bin/bucky3 BENCH=$generator bash "$here/statsd_ingest.sh" --seconds "$seconds" \
      > "$dir/ingest.txt" 2>&1 || bench_fail "see $dir/ingest.txt"
    stamp "$dir/load"
    echo "round $round $side: $(tail -1 "$dir/load")"
  done
done
python3 "$here/ab_summary.py" "$out"
