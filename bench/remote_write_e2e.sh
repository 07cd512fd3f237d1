#!/usr/bin/env bash
# bench/remote_write_e2e.sh — end-to-end remote write: StatsD counters through a live
# bucky3 (statsd_server -> remote_write_client) into a real VictoriaMetrics 1.79 and a
# real Prometheus 2.42 (--web.enable-remote-write-receiver), beside the in-process
# encode + snappy ceiling (bench_remote_write_encode) measured in the same run.
#
#   bench/remote_write_e2e.sh [--seconds S] [--max-samples N]    (env: BUCKY3_BUILD_DIR)
#
# Load: bench_udp_ceiling's generator sends its 10,000 counter keys (workload 1,
# ~1400 B datagrams) 4000 datagrams/s, so every key is in every 0.1 s flush of the
# agent: 10,000 series x {count, rate} = 20,000 samples per flush, up to 200k
# samples/s. Delivered = the receiver's own count of samples taken over remote write
# (VictoriaMetrics vm_rows_inserted_total{type="promremotewrite"}, Prometheus
# prometheus_tsdb_head_samples_appended_total), so nothing is taken on the agent's
# word. CPU = the remote_write_client process's CPU seconds per million samples.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${BUCKY3_BUILD_DIR:-$here/../build}
bucky3=$build/bin/bucky3
generator=$build/bin/bench_udp_ceiling
encode=$build/bin/bench_remote_write_encode
seconds=10
max_samples=2000
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --max-samples) max_samples=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds S] [--max-samples N]" >&2; exit 2 ;;
  esac
done
for tool in "$bucky3" "$generator" "$encode"; do
  [ -x "$tool" ] || { echo "$0: $tool not built" >&2; exit 2; }
done

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_for() {  # URL
  for _ in $(seq 600); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "$0: $1 never answered" >&2; exit 1
}
# metric_sum URL NAME_REGEX: the sum of the matching sample lines of a /metrics page.
metric_sum() {
  curl -s "$1" | python3 -c '
import re, sys
total = 0.0
for line in sys.stdin:
    if re.match(sys.argv[1], line):
        total += float(line.split()[-1])
print(int(total))' "$2"
}

echo "== max_samples_per_send $max_samples; offered load: 200k samples/s (10,000 counters x 2 values every 0.1 s)"
echo "== ceiling: encode + snappy in process (bench_remote_write_encode)"
"$encode" --benchmark_min_time=0.5 2>/dev/null | grep BM_

# run RECEIVER_NAME WRITE_URL METRICS_URL METRIC_REGEX
run() {
  local name=$1 url=$2 metrics=$3 regex=$4 statsd_port rw_pid before after ticks0 ticks1
  statsd_port=$(free_port)
  cat > "$work/bucky3.yaml" <<YAML
instance: rwbench$$
flush_interval: 0.1
randomize_startup: false
metadata: {host: bench}
modules:
  statsd:
    type: statsd_server
    local_host: 127.0.0.1:$statsd_port
  rw:
    type: remote_write_client
    remote_urls: ["$url"]
    max_samples_per_send: $max_samples
YAML
  "$bucky3" "$work/bucky3.yaml" 2> "$work/agent.log" &
  local agent=$!
  pids+=("$agent")
  for _ in $(seq 200); do grep -q "listening on UDP" "$work/agent.log" && break; sleep 0.05; done
  rw_pid=$(sed -n 's/.*started rw (remote_write_client) as pid \([0-9]*\).*/\1/p' "$work/agent.log" | head -1)
  # One second of load first, so the series exist before the measured window.
  "$generator" --generate "$statsd_port" --workload 1 --datagrams-per-second 4000 --seconds 1 > /dev/null
  before=$(metric_sum "$metrics" "$regex")
  ticks0=$(awk '{print $14 + $15}' "/proc/$rw_pid/stat")
  local start end
  start=$(date +%s.%N)
  "$generator" --generate "$statsd_port" --workload 1 --datagrams-per-second 4000 --seconds "$seconds" > /dev/null
  # Until the receiver's count stops moving: the agent has sent what it read.
  local previous=-1
  after=$(metric_sum "$metrics" "$regex")
  while [ "$after" != "$previous" ]; do previous=$after; sleep 0.5; after=$(metric_sum "$metrics" "$regex"); done
  end=$(date +%s.%N)
  ticks1=$(awk '{print $14 + $15}' "/proc/$rw_pid/stat")
  # What the agent counted on the way (ring drops, refused requests), from its log.
  grep -E "warning|error" "$work/agent.log" | sort | uniq -c | sort -rn | head -3 || true
  "$build/bin/bucky3-ring" status --instance "rwbench$$" --once --json 2> /dev/null | python3 -c '
import json, sys
doc = json.load(sys.stdin)
for m in doc.get("modules", []):
    c = m.get("counters", {})
    print("  ", m.get("name"), " ".join(f"{k}={v}" for k, v in sorted(c.items()) if v and k.startswith(("drops", "metrics", "retries", "batches"))))
' || true
  kill -TERM "$agent"; wait "$agent" || true
  python3 - "$name" "$before" "$after" "$start" "$end" "$ticks0" "$ticks1" "$(getconf CLK_TCK)" "$seconds" <<'PY'
import sys
name, before, after, start, end, t0, t1, hz, load = sys.argv[1:]
samples = int(after) - int(before)
cpu = (int(t1) - int(t0)) / int(hz)
wall = float(end) - float(start)
print(f"{name}: {samples} samples; over the {load} s of load {samples / float(load) / 1e3:.0f}k samples/s, "
      f"until delivered ({wall:.1f} s) {samples / wall / 1e3:.0f}k samples/s; "
      f"remote_write_client CPU {cpu:.2f} s = {cpu / max(samples, 1) * 1e6:.2f} CPU s per million samples")
PY
}

vm_port=$(free_port)
mkdir -p "$work/vm"
victoria-metrics -storageDataPath="$work/vm" -httpListenAddr=127.0.0.1:$vm_port -loggerLevel=ERROR > "$work/vm.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$vm_port/health"
echo "== VictoriaMetrics 1.79"
run victoria-metrics "http://127.0.0.1:$vm_port/api/v1/write" "http://127.0.0.1:$vm_port/metrics" \
  '^vm_rows_inserted_total\{type="promremotewrite"\}'

prom_port=$(free_port)
echo "global: {scrape_interval: 15s}" > "$work/prometheus.yml"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address=127.0.0.1:$prom_port --web.enable-remote-write-receiver --log.level=error > "$work/prom.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$prom_port/-/ready"
echo "== Prometheus 2.42"
run prometheus "http://127.0.0.1:$prom_port/api/v1/write" "http://127.0.0.1:$prom_port/metrics" \
  '^prometheus_tsdb_head_samples_appended_total'
