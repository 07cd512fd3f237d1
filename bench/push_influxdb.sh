#!/usr/bin/env bash
# End-to-end metrics/s into a real InfluxDB 1.6.7 over UDP and HTTP: a StatsD load
# through a running bucky3 (statsd_server -> ring -> influxdb_client), the agent's
# send rate (health metrics_out) beside the points influxd reports accepted
# (/debug/vars: udp pointsTx, httpd pointsWrittenOK).
#   bench/push_influxdb.sh [BUILD_DIR] [SECONDS] [SERIES]
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
seconds=${2:-10}
series=${3:-50000}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 1; rm -rf "$work"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http=$(port); udp=$(port); rpc=$(port); statsd=$(port)
cat > "$work/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$rpc"
[meta]
  dir = "$work/meta"
[data]
  dir = "$work/data"
  wal-dir = "$work/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:$http"
  log-enabled = false
[[udp]]
  enabled = true
  bind-address = "127.0.0.1:$udp"
  database = "udp"
  batch-size = 5000
  batch-timeout = "10ms"
  read-buffer = 4194304
CONF
/usr/bin/influxd -config "$work/influxdb.conf" > "$work/influxd.log" 2>&1 &
pids+=($!)
until curl -s -o /dev/null "127.0.0.1:$http/ping"; do sleep 0.2; done

vars() {  # udp pointsTx, httpd pointsWrittenOK
  curl -s "127.0.0.1:$http/debug/vars" | python3 -c '
import json, sys
d = json.load(sys.stdin)
udp = sum(v["values"].get("pointsTx", 0) for k, v in d.items() if k.startswith("udp:"))
httpd = sum(v["values"].get("pointsWrittenOK", 0) for k, v in d.items() if k.startswith("httpd:"))
print(udp, httpd)'
}

run() {  # protocol, remote port
  local protocol=$1 remote=$2 instance="bench_push_$$_$1"
  cat > "$work/$protocol.yaml" <<CONF
instance: $instance
flush_interval: 1
randomize_startup: false
metadata: {host: bench}
modules:
  statsd:
    type: statsd_server
    local_host: 127.0.0.1:$statsd
    max_series: 1000000
  influx:
    type: influxdb_client
    protocol: $protocol
    remote_hosts: [127.0.0.1:$remote]
    database: http
CONF
  "$build/bin/bucky3" "$work/$protocol.yaml" > "$work/$protocol.log" 2>&1 &
  local agent=$!
  sleep 1.5
  read -r udp0 http0 < <(vars)
  # StatsD load: $series distinct gauges, over and over, 1400-byte datagrams.
  python3 - "$statsd" "$series" "$seconds" <<'PY'
import socket, sys, time
port, series, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
datagrams, cur = [], b""
for i in range(series):
    line = b"bench_gauge_%d:%d|g\n" % (i, i)
    if len(cur) + len(line) > 1400:
        datagrams.append(cur); cur = b""
    cur += line
datagrams.append(cur)
end = time.time() + seconds
while time.time() < end:
    for d in datagrams:
        s.sendto(d, ("127.0.0.1", port))
PY
  sleep 3  # the last flush and its delivery
  local out
  out=$("$build/bin/bucky3-ring" status --once --json --instance "$instance" | python3 -c '
import json, sys
d = json.load(sys.stdin)
mods = d["modules"] if isinstance(d, dict) and "modules" in d else d
for m in mods:
    if m.get("name") == "influx":
        c = m.get("counters", m)
        print(c.get("metrics_out", 0), c.get("drops_other", 0), c.get("retries", 0))')
  kill "$agent"; wait "$agent" 2>/dev/null || true
  read -r udp1 http1 < <(vars)
  read -r sent drops retries <<< "$out"
  local accepted
  if [ "$protocol" = udp ]; then accepted=$((udp1 - udp0)); else accepted=$((http1 - http0)); fi
  awk -v p="$protocol" -v s="$sent" -v a="$accepted" -v t="$seconds" -v r="$retries" 'BEGIN {
    printf "influxdb %-4s: agent sent %d metrics (%.0f/s), influxd accepted %d points (%.0f/s) = %.3f of sent; retries %d\n",
      p, s, s / t, a, a / t, (s ? a / s : 0), r }'
}
run udp "$udp"
run http "$http"
