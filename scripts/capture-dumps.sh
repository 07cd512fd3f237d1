#!/usr/bin/env bash
# Captures the dumps of tests/data/dumps from a real run of the daemon, then
# regenerates every golden output of tests/data/dumps/replays.txt from them.
#   scripts/capture-dumps.sh [BUILD_DIR]      (default: build)
# Goldens only:  scripts/capture-dumps.sh BUILD_DIR --goldens-only
# Review `git diff tests/data/dumps` before committing: a changed golden is a
# changed output of a module.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
bin="$build/bin"
data="$root/tests/data/dumps"
free_port() { python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1]=="udp" else socket.SOCK_STREAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"; }

if [ "${2:-}" != "--goldens-only" ]; then
  work="$(mktemp -d)"
  trap 'kill "${agent:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
  instance="capture$$"
  udp="$(free_port udp)"
  http="$(free_port tcp)"
  sed -e "s/@INSTANCE@/$instance/" -e "s/@UDP@/$udp/" -e "s/@HTTP@/$http/" \
    "$data/capture.yaml" > "$work/bucky3.yaml"
  "$bin/bucky3" "$work/bucky3.yaml" > "$work/out" 2> "$work/err" &
  agent=$!
  for _ in $(seq 100); do grep -q "listening on UDP" "$work/err" && break; sleep 0.1; done
  grep -q "listening on UDP" "$work/err" || { cat "$work/err" >&2; exit 1; }
  # Capture four flush intervals of the StatsD mix below plus linux_stats.
  "$bin/bucky3-ring" dump --instance "$instance" --ring out --seconds 4.5 -o "$work/mix.b3dump" &
  dump=$!
  sleep 0.3
  python3 - "$udp" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
now = int(time.time())
for second in range(4):
    lines = [
        "hits:1|c", "hits:2|c|@0.5", "hits:1|c|#route:/api,code:200",
        "temp:21.5|g", "temp:+1.5|g", "queue:%d|g" % (10 + second),
        "users:alice|s", "users:bob|s", "users:alice|s",
        "req_lat:%d|ms" % (40 + second), "req_lat:250|ms", "req_lat:90|h",
        "db.query:1:2:3:4|d|#db:main",
        "pkt,dc=eu:3|c",
        "stamped:7|g|T%d" % (now - 30),
        "esc:1|c|#path:C:\\Users,note:a\\,b",
        "not a statsd line",
    ]
    s.sendto("\n".join(lines).encode(), ("127.0.0.1", port))
    time.sleep(1)
PY
  wait "$dump"
  kill "$agent"
  wait "$agent" || true
  "$bin/bucky3-ring" cat "$work/mix.b3dump" > /dev/null
  cp "$work/mix.b3dump" "$data/statsd_linux_mix.b3dump"
  echo "capture-dumps: $data/statsd_linux_mix.b3dump" >&2
fi

# replays.txt: NAME DUMP CONFIG MODULE GOLDEN (paths relative to tests/data/dumps).
while read -r name dump config module golden; do
  case "$name" in ''|'#'*) continue ;; esac
  "$bin/bucky3-ring" replay "$data/$dump" --config "$data/$config" --module "$module" \
    --speed 0 --output "$data/$golden"
  echo "capture-dumps: $name -> $data/$golden" >&2
done < "$data/replays.txt"
