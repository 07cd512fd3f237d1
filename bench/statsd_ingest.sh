#!/usr/bin/env bash
# bench/statsd_ingest.sh — end-to-end StatsD ingest of a running bucky3, beside the
# raw recvmmsg ceiling measured in the same run (bench_udp_ceiling).
#
#   bench/statsd_ingest.sh [--seconds S]      (env: BUCKY3, BENCH, BUCKY3_BUILD_DIR)
#
# Per workload (1 line per datagram, ~1400 B datagrams, ~1400 B with 3 tags): a fresh
# bucky3 (statsd_server -> debug_output JSON, flush_interval 1 s) pinned to core 1,
# the generator pinned to core 0; one flat-out step, then paced steps from the
# received rate down by 10% until loss < 1%. Loss = lines sent minus the counts
# that came out of debug_output (kernel drops and anything else), so nothing is
# taken on the agent's word. CPU = the statsd_server process's CPU seconds per
# million lines received.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=${BUCKY3_BUILD_DIR:-$here/../build}
bucky3=${BUCKY3:-$build/bin/bucky3}
bench=${BENCH:-$build/bin/bench_udp_ceiling}
seconds=3
loss_bound=1
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds S]" >&2; exit 2 ;;
  esac
done
for tool in "$bucky3" "$bench"; do
  [ -x "$tool" ] || { echo "$0: $tool not built" >&2; exit 2; }
done

work=$(mktemp -d)
agent_pid=
cleanup() {
  if [ -n "$agent_pid" ]; then kill -TERM "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# run_step WORKLOAD DATAGRAMS_PER_SECOND (0: flat out)
# prints: lines_sent lines_received seconds datagrams_sent cpu_seconds
run_step() {
  local workload=$1 rate=$2 port statsd_pid
  port=$(bench_free_port udp)
  bench_statsd_debug_config "$work/bucky3.yaml" "ingest$$" "$port" 1
  bench_step "start bucky3 for workload $workload"
  taskset -c 1 "$bucky3" "$work/bucky3.yaml" > "$work/out.jsonl" 2> "$work/err.log" &
  agent_pid=$!
  # Poll until the UDP socket is bound (its log line), never a fixed sleep.
  local listening=
  for _ in $(seq 200); do
    grep -q "listening on UDP" "$work/err.log" && { listening=1; break; }
    kill -0 "$agent_pid" 2> /dev/null || bench_fail "bucky3 exited: $(tail -3 "$work/err.log")"
    sleep 0.05
  done
  [ -n "$listening" ] || bench_fail "statsd_server not listening after 10 s: $(tail -3 "$work/err.log")"
  # The module's pid from the process tree (the supervisor's child titled
  # "bucky3: statsd_server"), not from the log.
  statsd_pid=$(bench_wait_module_pid "$agent_pid" statsd_server)
  bench_step "generate workload $workload at ${rate:-0} datagrams/s"
  "$bench" --generate "$port" --workload "$workload" --datagrams-per-second "$rate" \
    --seconds "$seconds" > "$work/generated.txt" || bench_fail "bench_udp_ceiling --generate failed"
  read -r datagrams lines elapsed < "$work/generated.txt" || true
  bench_number "datagrams sent" "${datagrams:-}"
  bench_number "lines sent" "${lines:-}"
  bench_number "seconds sent" "${elapsed:-}"
  # Let the agent empty its socket queue: what is still queued at SIGTERM is lost.
  bench_step "drain statsd_server (pid $statsd_pid)"
  local previous=-1 now
  for _ in $(seq 40); do
    now=$(bench_cpu_ticks "$statsd_pid") || exit 2
    [ "$now" = "$previous" ] && break
    previous=$now
    sleep 0.25
  done
  local ticks
  ticks=$(bench_cpu_ticks "$statsd_pid") || exit 2
  kill -TERM "$agent_pid"
  wait "$agent_pid" || true
  agent_pid=
  bench_step "count the lines debug_output printed"
  local received
  received=$(python3 -c '
import json, sys
total = 0.0
for line in open(sys.argv[1]):
    metric = json.loads(line)
    if metric["bucket"] == "stats_counters":
        total += metric["values"]["count"]
print(int(total))' "$work/out.jsonl") || bench_fail "debug_output wrote something that is not JSON Lines"
  bench_number "lines received" "$received"
  echo "$lines $received $elapsed $datagrams $(python3 -c "print($ticks / $(getconf CLK_TCK))")"
}

echo "== raw ceiling (bench_udp_ceiling --seconds $seconds)"
"$bench" --seconds "$seconds" | tee "$work/ceiling.txt"
mapfile -t ceilings < <(python3 -c '
import sys
for line in open(sys.argv[1]):
    if " raw " in line and "|" in line:
        fields = [f for f in line.split("|")[2].split() if f not in (">=", "<")]
        print(fields[0].replace(",", ""))' "$work/ceiling.txt")

# After run_step (in a subshell, whose failure message is already on stderr):
# every figure is a number, and there is something to divide by.
check_step() {
  bench_step "workload $workload, after a step"
  for value in "${sent:-}" "${received:-}" "${elapsed:-}" "${datagrams:-}" "${cpu:-}"; do
    bench_number "a figure of the step (sent received seconds datagrams cpu: '${sent:-} ${received:-} ${elapsed:-} ${datagrams:-} ${cpu:-}')" "$value"
  done
  [ "$sent" -gt 0 ] && [ "$datagrams" -gt 0 ] || bench_fail "the generator sent nothing"
  python3 -c "import sys; sys.exit(0 if $elapsed > 0 else 1)" || bench_fail "the step lasted 0 s"
}

names=("1 line per datagram" "1400 B datagrams" "1400 B, 3 tags per line")
echo
echo "== bucky3 statsd_server end to end (core 1), generator on core 0, $seconds s steps"
printf '%-24s | %16s %7s | %15s %7s %12s | %s\n' workload "flat-out lines/s" loss \
  "< 1% loss lines/s" loss "CPU s/M lines" "x raw ceiling"
for workload in 0 1 2; do
  read -r sent received elapsed datagrams cpu < <(run_step "$workload" 0) || true
  check_step
  flat_rate=$(python3 -c "print($received / $elapsed)")
  flat_loss=$(python3 -c "print(100 * (1 - $received / $sent))")
  best_rate=$flat_rate best_loss=$flat_loss best_cpu=$cpu best_received=$received mark=">="
  pace=$(python3 -c "print($received / ($sent / $datagrams) / $elapsed)")
  attempt=0
  while python3 -c "import sys; sys.exit(0 if $best_loss >= $loss_bound else 1)" && [ $attempt -lt 8 ]; do
    read -r sent received elapsed datagrams cpu < <(run_step "$workload" "$pace") || true
    check_step
    best_rate=$(python3 -c "print($received / $elapsed)")
    best_loss=$(python3 -c "print(100 * (1 - $received / $sent))")
    best_cpu=$cpu best_received=$received mark=""
    pace=$(python3 -c "print($pace * 0.9)")
    attempt=$((attempt + 1))
  done
  python3 - "$workload" "${names[$workload]}" "$flat_rate" "$flat_loss" "$mark" "$best_rate" \
    "$best_loss" "$best_cpu" "$best_received" "${ceilings[$workload]:-0}" <<'PY'
import sys
_, _, name, flat, flat_loss, mark, best, loss, cpu, received, ceiling = sys.argv
flat, flat_loss, best, loss, cpu, received, ceiling = map(
    float, (flat, flat_loss, best, loss, cpu, received, ceiling))
if loss >= 1:
    mark = "<"  # no step met the loss bound
ratio = f"{best / ceiling:.2f} x" if ceiling > 0 else "n/a"
# The whole process's CPU over the step (startup and drain included).
per_million = cpu / (received / 1e6) if received > 0 else 0
print(f"{name:<24} | {flat:16,.0f} {flat_loss:6.2f}% | {mark:>2}{best:13,.0f} {loss:6.2f}% "
      f"{per_million:12.3f} | {ratio}")
PY
done
