#!/usr/bin/env bash
# bench/ab_instructions.sh — two builds on the same workloads under valgrind's callgrind:
# instructions executed (Ir) per StatsD line, per ring batch and per ingested line. Ir
# do not move with the machine's load, so a difference between the builds is the code.
#
#   bench/ab_instructions.sh BEFORE_BUILD AFTER_BUILD [--out DIR]
#                            [--datagrams-per-second R] [--seconds S] [--cache-sim]
#
# Per build (docs/BENCHMARKS.md, "Before and after the restructuring"):
#  parse   bench_statsd_parse parse_aggregate_{counters,timers}, one iteration
#          (100,000 lines, 10k series, 3 tags), Ir inside Aggregator::add_datagram
#  ring    bench_ring_throughput --only throughput with a 64 MiB ring that 1000
#          batches never fill: RingWriter::try_write per batch (30 and 300 metrics),
#          decode_batch per batch on the consumer
#  ingest  the agent (statsd_server -> debug_output) under callgrind, AFTER_BUILD's
#          bench_udp_ceiling sending ~1400 B datagrams (56 counter lines, 10k keys) at
#          R datagrams/s for S s, one interval (flush_interval 3600: the final flush at
#          stop); Receiver::Impl::read_udp per line received (recvmmsg, parse,
#          aggregate) and Interval::drain + ModuleRuntime::send_metrics per series
#          flushed. Fails unless every line sent came out of debug_output.
#          --cache-sim: also callgrind's simulated cache and branch predictor for the
#          agent, and per line in read_udp: L1 data misses, last-level data misses and
#          mispredicted branches (a model of a generic machine, not this CPU's counters).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
usage="usage: $0 BEFORE_BUILD AFTER_BUILD [--out DIR] [--datagrams-per-second R] [--seconds S] [--cache-sim]"
[ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }
before=$1 after=$2
shift 2
out=ab-instructions rate=1000 seconds=20 sim=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --datagrams-per-second) rate=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --cache-sim) sim=(--cache-sim=yes --branch-sim=yes); shift ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
bench_number "--datagrams-per-second" "$rate"
bench_number "--seconds" "$seconds"
command -v valgrind > /dev/null || bench_fail "valgrind is not installed"
for build in "$before" "$after"; do
  bench_require_built "$build" bench_statsd_parse bench_ring_throughput bucky3
done
generator=$after/bin/bench_udp_ceiling
[ -x "$generator" ] || bench_fail "$generator is not built"
mkdir -p "$out"
out=$(cd "$out" && pwd)

# ir [--event E] REGEX FILE...: "calls inclusive_E" (default Ir) of the functions
# matching REGEX, summed.
ir() {
  local rows
  rows=$(python3 "$here/cg_calls.py" "$@") || bench_fail "cg_calls.py $* found nothing"
  awk -F'\t' '{ c += $1; i += $2 } END { print c, i }' <<< "$rows"
}
# per NAME NUMERATOR DENOMINATOR: NUMERATOR / DENOMINATOR, both checked.
per() {
  bench_number "$1 (instructions)" "$2"
  bench_number "$1 (count)" "$3"
  [ "$3" != 0 ] || bench_fail "$1: nothing to divide by"
  python3 -c "print(f'{$2 / $3:.3f}')"
}
# callgrind OUT COMMAND...: COMMAND under callgrind, its profile in OUT.
callgrind() {
  local profile=$1
  shift
  valgrind --tool=callgrind --log-file="$profile.valgrind" --callgrind-out-file="$profile" "$@"
}

# measure SIDE BUILD: appends "SIDE figure value" rows to $out/rows.
measure() {
  local side=$1 build=$2 dir=$out/$1 kind calls total iterations
  rm -rf "$dir"
  mkdir -p "$dir/ring" "$dir/ingest"
  for kind in counters timers; do
    bench_step "$side: bench_statsd_parse parse_aggregate_$kind under callgrind"
    callgrind "$dir/parse-$kind.cg" --toggle-collect='bucky3::statsd::Aggregator::add_datagram*' \
      "$build/bin/bench_statsd_parse" --benchmark_filter="parse_aggregate_$kind\$" \
      --benchmark_min_time=0.001 --benchmark_out="$dir/parse-$kind.json" \
      --benchmark_out_format=json > "$dir/parse-$kind.txt" 2>&1 || bench_fail "see $dir/parse-$kind.txt"
    iterations=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["benchmarks"][0]["iterations"])' \
      "$dir/parse-$kind.json") || bench_fail "no iteration count in $dir/parse-$kind.json"
    bench_number "iterations" "$iterations"
    read -r calls total < <(ir 'Aggregator::add_datagram' "$dir/parse-$kind.cg")
    # 100,000 lines an iteration (bench/statsd_parse.cpp).
    echo "$side parse_${kind}_Ir_per_line $(per "parse $kind" "$total" $((iterations * 100000)))" >> "$out/rows"
    echo "$side parse_${kind}_datagrams $calls" >> "$out/rows"
  done

  bench_step "$side: bench_ring_throughput under callgrind"
  local pid files=() f ring30_total
  (cd "$dir/ring" && exec valgrind --tool=callgrind --log-file=valgrind.%p \
    --callgrind-out-file="$dir/ring/cg.%p" "$build/bin/bench_ring_throughput" --only throughput \
    --bytes 3300000 --ring 67108864) > "$dir/ring.txt" 2>&1 &
  pid=$!
  wait "$pid" || bench_fail "see $dir/ring.txt"
  # Producers are the children that wrote; in fork order: 30 metrics (2 runs), 300 (2 runs).
  for f in $(cd "$dir/ring" && printf '%s\n' cg.* | cut -d. -f2 | sort -n); do
    python3 "$here/cg_calls.py" 'RingWriter::try_write' "$dir/ring/cg.$f" > /dev/null 2>&1 &&
      files+=("$dir/ring/cg.$f")
  done
  [ "${#files[@]}" = 4 ] || bench_fail "expected 4 producer profiles in $dir/ring, found ${#files[@]}"
  read -r calls total < <(ir 'RingWriter::try_write' "${files[0]}" "${files[1]}")
  [ "$calls" = 2000 ] || bench_fail "30-metric producers wrote $calls batches, not 2000"
  ring30_total=$total
  echo "$side ring30_write_Ir_per_batch $(per "ring 30" "$total" "$calls")" >> "$out/rows"
  read -r calls total < <(ir 'RingWriter::try_write' "${files[2]}" "${files[3]}")
  [ "$calls" = 2000 ] || bench_fail "300-metric producers wrote $calls batches, not 2000"
  echo "$side ring300_write_Ir_per_batch $(per "ring 300" "$total" "$calls")" >> "$out/rows"
  python3 -c "import sys; sys.exit(0 if $total > ${ring30_total:-0} else 1)" ||
    bench_fail "the 300-metric producers wrote fewer instructions than the 30-metric ones (pid order?)"
  read -r calls total < <(ir '^bucky3::shm::decode_batch\(' "$dir/ring/cg.$pid")
  echo "$side ring_decode_Ir_per_batch $(per "decode" "$total" "$calls")" >> "$out/rows"

  bench_step "$side: agent under callgrind"
  local port agent sent_datagrams sent_lines queued received series
  port=$(bench_free_port udp)
  bench_statsd_debug_config "$dir/ingest/bucky3.yaml" "abinstr$$" "$port" 3600
  (cd "$dir/ingest" && exec valgrind --tool=callgrind "${sim[@]}" --log-file=valgrind.%p \
    --callgrind-out-file="$dir/ingest/cg.%p" "$build/bin/bucky3" bucky3.yaml) \
    > "$dir/ingest/out.jsonl" 2> "$dir/ingest/err.log" &
  agent=$!
  for _ in $(seq 1200); do
    grep -q "listening on UDP" "$dir/ingest/err.log" && break
    kill -0 "$agent" 2> /dev/null || bench_fail "bucky3 exited: see $dir/ingest/err.log"
    sleep 0.1
  done
  grep -q "listening on UDP" "$dir/ingest/err.log" || bench_fail "statsd_server not listening after 120 s"
  bench_step "$side: generate ${rate} datagrams/s for ${seconds} s"
  "$generator" --generate "$port" --workload 1 --datagrams-per-second "$rate" --seconds "$seconds" \
    > "$dir/ingest/generated.txt" || bench_fail "bench_udp_ceiling --generate failed"
  read -r sent_datagrams sent_lines _ < "$dir/ingest/generated.txt" || true
  bench_number "datagrams sent" "${sent_datagrams:-}"
  bench_number "lines sent" "${sent_lines:-}"
  bench_step "$side: wait for statsd_server's socket queue to empty"
  for _ in $(seq 1200); do
    queued=$(awk -v hex="$(printf '%04X' "$port")" 'FNR > 1 { n = split($2, a, ":");
      if (a[n] == hex) { split($5, q, ":"); print q[2] } }' /proc/net/udp)
    [[ ${queued:-} =~ ^[0-9A-Fa-f]+$ ]] || bench_fail "no rx_queue for port $port in /proc/net/udp"
    queued=$((16#$queued))
    [ "$queued" = 0 ] && break
    sleep 0.1
  done
  [ "$queued" = 0 ] || bench_fail "statsd_server's socket still holds $queued bytes after 120 s"
  kill -TERM "$agent"
  wait "$agent" || bench_fail "bucky3 exited with $?: see $dir/ingest/err.log"
  bench_step "$side: count what debug_output printed"
  read -r received series < <(python3 -c '
import json, sys
total, series = 0.0, 0
for line in open(sys.argv[1]):
    metric = json.loads(line)
    if metric["bucket"] == "stats_counters":
        total += metric["values"]["count"]
        series += 1
print(int(total), series)' "$dir/ingest/out.jsonl") || bench_fail "$dir/ingest/out.jsonl is not JSON Lines"
  bench_number "lines received" "${received:-}"
  [ "$received" = "$sent_lines" ] ||
    bench_fail "sent $sent_lines lines, debug_output counted $received: lower --datagrams-per-second"
  files=()
  for f in "$dir"/ingest/cg.*; do
    python3 "$here/cg_calls.py" 'Receiver::Impl::read_udp' "$f" > /dev/null 2>&1 && files+=("$f")
  done
  [ "${#files[@]}" = 1 ] || bench_fail "expected one statsd_server profile, found ${#files[@]}"
  read -r calls total < <(ir 'Receiver::Impl::read_udp\(' "${files[0]}")
  echo "$side ingest_receive_Ir_per_line $(per "receive" "$total" "$received")" >> "$out/rows"
  read -r calls total < <(ir 'Aggregator::Interval::drain\(|ModuleRuntime::send_metrics\(' "${files[0]}")
  echo "$side ingest_flush_Ir_per_series $(per "flush" "$total" "$series")" >> "$out/rows"
  echo "$side ingest_lines $received" >> "$out/rows"
  if [ "${#sim[@]}" -gt 0 ]; then
    local event misses
    for event in D1 DL B; do
      misses=0
      for f in $([ "$event" = B ] && echo "Bcm Bim" || echo "${event}mr ${event}mw"); do
        read -r calls total < <(ir --event "$f" 'Receiver::Impl::read_udp\(' "${files[0]}")
        bench_number "$f" "${total:-}"
        misses=$((misses + total))
      done
      echo "$side ingest_receive_${event}_misses_per_line $(per "$event" "$misses" "$received")" >> "$out/rows"
    done
  fi
}

: > "$out/rows"
measure before "$before"
measure after "$after"
python3 - "$out/rows" << 'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    side, figure, value = line.split()
    rows.setdefault(figure, {})[side] = float(value)
def show(x):
    return f"{x:,.1f}" if abs(x) >= 100 else f"{x:.3f}"
print(f"{'figure':<36} {'before':>12} {'after':>12} {'after vs before':>16}")
for figure, v in rows.items():
    change = (v["after"] / v["before"] - 1) * 100 if v["before"] else float("nan")
    print(f"{figure:<36} {show(v['before']):>12} {show(v['after']):>12} {change:>+15.2f}%")
PY
