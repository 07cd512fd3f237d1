#!/usr/bin/env bash
# Starts a bucky3 daemon, feeds it StatsD over UDP, runs bucky3-inspector under
# Xvfb with --select and --screenshot, and checks that the chart plotted points
# (the inspector prints "plotted N series, M points"). CI runs it through ctest
# (inspector_screenshot); docs/inspector.png is made with it too:
#   tests/inspector_screenshot.sh build docs/inspector.png 90
# Usage: inspector_screenshot.sh BUILD_DIR OUT.png [SECONDS_OF_TRAFFIC]
set -euo pipefail
build=$(cd "$1" && pwd)
out=$2
seconds=${3:-8}
work=$(mktemp -d "${TMPDIR:-/tmp}/bucky3-inspector-shot.XXXXXX")
agent_pid=""
feeder_pid=""
cleanup() {
  [ -n "$feeder_pid" ] && kill "$feeder_pid" 2>/dev/null || true
  if [ -n "$agent_pid" ]; then
    kill -TERM "$agent_pid" 2>/dev/null || true
    wait "$agent_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {  # $1: tcp or udp
  python3 -c "import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1]=='udp' else socket.SOCK_STREAM); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])" "$1"
}
instance="shot$$"
udp=$(free_port udp)
http=$(free_port tcp)
cat > "$work/bucky3.yaml" <<YAML
instance: $instance
flush_interval: 1
randomize_startup: false
metadata: {host: web-1}
modules:
  statsd:
    type: statsd_server
    local_host: 127.0.0.1:$udp
  linux:
    type: linux_stats
  prometheus:
    type: prometheus_exporter
    local_host: 127.0.0.1:$http
YAML
"$build/bin/bucky3" "$work/bucky3.yaml" 2> "$work/agent.err" &
agent_pid=$!
for _ in $(seq 100); do
  grep -q "listening on UDP" "$work/agent.err" && break
  sleep 0.1
done
grep -q "listening on UDP" "$work/agent.err" || { cat "$work/agent.err" >&2; exit 1; }

# A small web service's traffic: requests, latencies per endpoint, a queue
# gauge, and one line that is not StatsD (it shows in the health view).
cat > "$work/feed.py" <<'PY'
import math, random, socket, sys, time
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
start = time.time()
while True:
    t = time.time() - start
    lines = []
    for i, ep in enumerate(("/api/users", "/api/orders", "/login")):
        lines.append("http.requests:%d|c|#endpoint:%s,env:prod" % (random.randint(5, 15), ep))
        base = (35, 60, 20)[i]
        lines.append("http.latency:%.1f|ms|#endpoint:%s" % (base + 12 * math.sin(t / 7 + i) + random.random() * 4, ep))
    lines.append("queue.depth:%d|g|#queue:jobs" % int(50 + 40 * math.sin(t / 9)))
    lines.append("this is not statsd")
    s.sendto("\n".join(lines).encode(), ("127.0.0.1", port))
    time.sleep(0.05)
PY
python3 "$work/feed.py" "$udp" &
feeder_pid=$!

export XDG_RUNTIME_DIR="$work"
result=$(xvfb-run -a -s "-screen 0 1400x900x24" "$build/bin/bucky3-inspector" --instance "$instance" \
  --select 'stats_timers{endpoint=*,host=web-1,name=http.latency,percentile=90}.mean' \
  --quit-after "$seconds" --screenshot "$out" 2> "$work/inspector.err") || {
  cat "$work/inspector.err" >&2
  exit 1
}
echo "$result"
series=$(sed -n 's/.*plotted \([0-9]*\) series, \([0-9]*\) points.*/\1/p' <<< "$result")
points=$(sed -n 's/.*plotted \([0-9]*\) series, \([0-9]*\) points.*/\2/p' <<< "$result")
# Three endpoints, one point per flush each (flush_interval 1 s).
if [ "${series:-0}" -ne 3 ] || [ "${points:-0}" -lt $((3 * (seconds / 2))) ]; then
  echo "inspector_screenshot: expected 3 series with points, got: $result" >&2
  cat "$work/inspector.err" >&2
  exit 1
fi
[ "$(head -c 4 "$out" | tail -c 3)" = "PNG" ] || { echo "inspector_screenshot: $out is not a PNG" >&2; exit 1; }
echo "inspector_screenshot: ok, $out"
