#!/usr/bin/env bash
# bucky3-inspector's own CPU and RSS at a 1 s refresh with 10,000 live series.
# A daemon (statsd_server -> prometheus_exporter, flush_interval 1 s) receives
# 10,000 distinct gauges every second; the inspector attaches under Xvfb, once
# on the health view and once on the metric browser (10,000 rows in the tree,
# 5 series plotted). Beside it, in the same run: `bucky3-ring top` following
# the same ring (the headless observer) and the statsd_server module that
# parses and aggregates the same traffic. CPU is % of one core over the
# measured span (after a warm-up), from /proc/<pid>/stat.
# Usage: bench/inspector_cpu.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
seconds=${2:-40}
warmup=15
work=$(mktemp -d "${TMPDIR:-/tmp}/bucky3-inspector-bench.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c "import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1]=='udp' else socket.SOCK_STREAM); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])" "$1"
}
ticks() {  # utime + stime of $1, in clock ticks
  awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)

instance="bench$$"
udp=$(free_port udp)
http=$(free_port tcp)
cat > "$work/bucky3.yaml" <<YAML
instance: $instance
flush_interval: 1
randomize_startup: false
modules:
  statsd:
    type: statsd_server
    local_host: 127.0.0.1:$udp
  prometheus:
    type: prometheus_exporter
    local_host: 127.0.0.1:$http
YAML
"$build/bin/bucky3" "$work/bucky3.yaml" 2> "$work/agent.err" &
pids+=($!)
for _ in $(seq 100); do grep -q "listening on UDP" "$work/agent.err" && break; sleep 0.1; done
statsd_pid=$(sed -n 's/.*started statsd (statsd_server) as pid \([0-9]*\).*/\1/p' "$work/agent.err" | tail -1)

cat > "$work/feed.py" <<'PY'
import socket, sys, time
port, series = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
tick = 0
while True:
    start = time.time()
    datagram = []
    size = 0
    for i in range(series):
        line = "bench.g%05d:%d|g|#shard:%d" % (i, (i + tick) % 100, i % 16)
        if size + len(line) + 1 > 1400:
            s.sendto("\n".join(datagram).encode(), ("127.0.0.1", port))
            datagram, size = [], 0
        datagram.append(line)
        size += len(line) + 1
    s.sendto("\n".join(datagram).encode(), ("127.0.0.1", port))
    tick += 1
    time.sleep(max(0.0, 1.0 - (time.time() - start)))
PY
python3 "$work/feed.py" "$udp" 10000 &
pids+=($!)

display=":$((200 + $$ % 500))"
Xvfb "$display" -screen 0 1400x900x24 -nolisten tcp 2> "$work/xvfb.err" &
pids+=($!)
sleep 1
export XDG_RUNTIME_DIR="$work"

measure() {  # $1: label, $2: pid of the process to measure
  local label=$1 pid=$2
  sleep "$warmup"
  local t0 t1
  t0=$(ticks "$pid")
  sleep "$seconds"
  t1=$(ticks "$pid")
  printf '%-52s %6.1f %% of a core   RSS %6d KiB (peak %d KiB)\n' "$label" \
    "$(awk -v d="$((t1 - t0))" -v hz="$hz" -v s="$seconds" 'BEGIN { print d * 100 / hz / s }')" \
    "$(rss_kib "$pid")" "$(hwm_kib "$pid")"
}

echo "bucky3-inspector, 10,000 series, --refresh 1000, ${seconds} s after ${warmup} s of warm-up:"
echo "  (the metrics view plots 10 series, stats_gauges{name=bench.g0000?,*})"
for view in health metrics; do
  select=()
  [ "$view" = metrics ] && select=(--select 'stats_gauges{name=bench.g0000?,*}')
  DISPLAY=$display "$build/bin/bucky3-inspector" --instance "$instance" --refresh 1000 --view "$view" \
    "${select[@]}" > "$work/inspector.$view.out" 2>&1 &
  inspector_pid=$!
  pids+=("$inspector_pid")
  # The statsd module, measured over the same span as the first inspector run.
  module_measure=""
  if [ "$view" = health ]; then
    measure "  statsd_server module (parses the 10,000 lines/s)" "$statsd_pid" &
    module_measure=$!
  fi
  measure "  bucky3-inspector, $view view" "$inspector_pid"
  [ -n "$module_measure" ] && wait "$module_measure"
  kill -TERM "$inspector_pid"
  wait "$inspector_pid" 2>/dev/null || true
done
"$build/bin/bucky3-ring" top --instance "$instance" --ring prometheus --interval 1 > /dev/null 2>&1 &
top_pid=$!
pids+=("$top_pid")
measure "  bucky3-ring top (headless observer, same ring)" "$top_pid"
series=$(curl -s "http://127.0.0.1:$http/metrics" | grep -c '^stats_gauges{' || true)
echo "series in the agent (prometheus_exporter): $series"
