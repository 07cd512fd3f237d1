#!/usr/bin/env bash
# bench/soak.sh — the full default pipeline (statsd_server, linux_stats,
# prometheus_exporter, as assets/bucky3.yaml has them) under a steady StatsD load,
# sampled every 10 s: RSS and CPU of every process, ring fill, lines sent, received
# and dropped. At the end: the loss, and the RSS growth of each process from the
# end of the warm-up to the end of the run, checked against a bound.
#
#   bench/soak.sh [--minutes 30] [--rate 100000] [--warmup 5] [--max-growth-percent 1]
#                 [--out DIR]        (env: BUCKY3, BENCH, BUCKY3_BUILD_DIR)
#
# Writes DIR/soak.csv (one row per sample), DIR/summary.txt and, when gnuplot is
# installed, DIR/soak.png (bench/soak-plot.sh, which also replots a CSV). Exits 0 when every process grew less than the bound and
# nothing was lost, 1 when not, 2 when a step failed (it says which and why).
# The CI runs `--minutes 2.5 --warmup 1.5 --max-growth-percent 25` (make soak-ci); docs/RELIABILITY.md
# has a 30-minute run. Traffic goes to 127.0.0.1 only.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${BUCKY3_BUILD_DIR:-$here/../build}
bucky3=${BUCKY3:-$build/bin/bucky3}
bench=${BENCH:-$build/bin/bench_udp_ceiling}
minutes=30 rate=100000 warmup=5 max_growth=1 out=
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --max-growth-percent) max_growth=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 [--minutes M] [--rate LINES_PER_S] [--warmup M] [--max-growth-percent P] [--out DIR]" >&2
       exit 2 ;;
  esac
done
fail() { echo "soak: $*" >&2; exit 2; }
for tool in "$bucky3" "$bench"; do
  [ -x "$tool" ] || fail "step 'tools': $tool is not built (cmake --build build --target bucky3 bench_udp_ceiling)"
done
py=/usr/bin/python3
[ -x "$py" ] || py=python3
out=${out:-$(mktemp -d /tmp/bucky3-soak-XXXXXX)}
mkdir -p "$out"
work=$(mktemp -d)
agent_pid= generator_pid=
cleanup() {
  [ -n "$generator_pid" ] && kill "$generator_pid" 2> /dev/null || true
  if [ -n "$agent_pid" ]; then
    kill -TERM "$agent_pid" 2> /dev/null || true
    wait "$agent_pid" 2> /dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  "$py" -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' "$1"
}
udp_port=$(free_port udp) http_port=$(free_port tcp)
[[ $udp_port =~ ^[0-9]+$ && $http_port =~ ^[0-9]+$ ]] || fail "step 'ports': no free port ($udp_port, $http_port)"

# The default config, with a private instance and free ports.
sed -e "s/127.0.0.1:8125/127.0.0.1:$udp_port/" -e "s/127.0.0.1:9103/127.0.0.1:$http_port/" \
  "$here/../assets/bucky3.yaml" > "$work/bucky3.yaml"
printf 'instance: soak%s\n' "$$" >> "$work/bucky3.yaml"
grep -q "127.0.0.1:$udp_port" "$work/bucky3.yaml" && grep -q "127.0.0.1:$http_port" "$work/bucky3.yaml" ||
  fail "step 'config': assets/bucky3.yaml no longer has 127.0.0.1:8125 and 127.0.0.1:9103"
"$bucky3" --check "$work/bucky3.yaml" > "$work/check.log" 2>&1 ||
  fail "step 'config': bucky3 --check refused it: $(cat "$work/check.log")"

"$bucky3" "$work/bucky3.yaml" > /dev/null 2> "$out/agent.log" &
agent_pid=$!

# Module pids from the process tree: children of the supervisor titled "bucky3: <name>".
module_pid() {
  local child
  for child in $(cat "/proc/$agent_pid/task/$agent_pid/children" 2> /dev/null); do
    if [ "$(tr '\0' '\n' < "/proc/$child/cmdline" 2> /dev/null | head -1)" = "bucky3: $1" ]; then
      echo "$child"
      return 0
    fi
  done
  return 1
}
modules="statsd_server linux_stats prometheus_exporter"
for _ in $(seq 150); do
  up=1
  for m in $modules; do module_pid "$m" > /dev/null || up=; done
  [ -n "$up" ] && curl -sf --max-time 1 -o /dev/null "http://127.0.0.1:$http_port/-/ready" && break
  kill -0 "$agent_pid" 2> /dev/null || fail "step 'start': bucky3 exited: $(tail -5 "$out/agent.log")"
  sleep 0.1
done
[ -n "$up" ] || fail "step 'start': modules or the exporter not up after 15 s: $(tail -5 "$out/agent.log")"

rss_kib() { awk '/^VmRSS:/ { print $2; found = 1 } END { if (!found) print "" }' "/proc/$1/status" 2> /dev/null; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2> /dev/null; }
hz=$(getconf CLK_TCK)

# sample T SENT: one CSV row from /proc and the exporter's page.
sample() {
  local t=$1 sent=$2 row m pid rss ticks
  curl -sf --max-time 5 -o "$work/page.txt" "http://127.0.0.1:$http_port/metrics" ||
    fail "step 'sample at ${t}s': the exporter did not answer"
  row=$("$py" - "$t" "$sent" "$work/page.txt" <<'PY'
import sys
t, sent = sys.argv[1], sys.argv[2]
page = open(sys.argv[3]).read()
def value(family, **labels):
    total, found = 0.0, False
    for line in page.splitlines():
        if not line.startswith(family + "{"):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1]); found = True
    return total if found else None
lines_in = value("bucky3_module_metrics_in_total", module="statsd_server")
kernel = value("bucky3_module_drops_total", module="statsd_server", cause="kernel")
ring_full = value("bucky3_module_drops_total", module="statsd_server", cause="ring_full")
used = value("bucky3_ring_used_bytes", source="statsd_server")
capacity = value("bucky3_ring_capacity_bytes", source="statsd_server")
for name, v in (("metrics_in", lines_in), ("drops kernel", kernel), ("ring used", used), ("ring capacity", capacity)):
    if v is None:
        sys.exit(f"no {name} for statsd_server on the exporter page")
print(f"{t},{sent},{int(lines_in)},{int(kernel)},{int(ring_full or 0)},{100 * used / capacity:.3f}")
PY
) || fail "step 'sample at ${t}s': $row"
  for m in supervisor $modules; do
    if [ "$m" = supervisor ]; then pid=$agent_pid; else pid=$(module_pid "$m") || pid=; fi
    [ -n "$pid" ] || fail "step 'sample at ${t}s': no process for $m (restarted or gone): $(tail -3 "$out/agent.log")"
    rss=$(rss_kib "$pid") ticks=$(cpu_ticks "$pid")
    [[ $rss =~ ^[0-9]+$ && $ticks =~ ^[0-9]+$ ]] || fail "step 'sample at ${t}s': cannot read /proc/$pid of $m"
    row+=",$pid,$rss,$("$py" -c "print($ticks / $hz)")"
  done
  echo "$row" >> "$out/soak.csv"
}

header="t_s,lines_sent,lines_in,drops_kernel,drops_ring_full,ring_fill_percent"
for m in supervisor $modules; do header+=",${m}_pid,${m}_rss_kib,${m}_cpu_s"; done
echo "$header" > "$out/soak.csv"
datagrams_per_second=$("$py" -c "print($rate / 56.38)")  # workload 1: 56.38 lines per ~1400 B datagram
echo "soak: ${minutes} min at $rate lines/s ($datagrams_per_second datagrams/s) into 127.0.0.1:$udp_port," \
  "samples in $out/soak.csv" >&2
chunks=$("$py" -c "print(int($minutes * 6))")
sent=0 began=$(date +%s.%N)
for chunk in $(seq "$chunks"); do
  "$bench" --generate "$udp_port" --workload 1 --datagrams-per-second "$datagrams_per_second" --seconds 10 \
    > "$work/chunk.txt" &
  generator_pid=$!
  sample "$("$py" -c "print(round($(date +%s.%N) - $began, 1))")" "$sent"
  wait "$generator_pid" || fail "step 'generate, chunk $chunk': bench_udp_ceiling failed"
  generator_pid=
  read -r _ lines _ < "$work/chunk.txt" || true
  [[ ${lines:-} =~ ^[0-9]+$ ]] || fail "step 'generate, chunk $chunk': unreadable output '$(cat "$work/chunk.txt")'"
  sent=$((sent + lines))
  kill -0 "$agent_pid" 2> /dev/null || fail "step 'generate, chunk $chunk': bucky3 exited"
  [ $((chunk % 6)) -eq 0 ] && echo "soak: $((chunk / 6)) min, $sent lines sent" >&2
done
# One flush interval (10 s) and its random start later, everything sent is counted.
sleep 12
sample "$("$py" -c "print(round($(date +%s.%N) - $began, 1))")" "$sent"

"$py" - "$out/soak.csv" "$warmup" "$max_growth" "$rate" > "$out/summary.txt" <<'PY' || status=$?
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
warmup_s, bound, rate = float(sys.argv[2]) * 60, float(sys.argv[3]), float(sys.argv[4])
last = rows[-1]
sent, got = int(last["lines_sent"]), int(last["lines_in"])
lost = sent - got
ok = lost <= 0
print(f"rate {rate:.0f} lines/s for {float(rows[-2]['t_s']) / 60:.1f} min: sent {sent:,}, received {got:,}, "
      f"lost {max(lost, 0):,} ({100 * max(lost, 0) / sent if sent else 0:.4f} %), kernel drops {int(last['drops_kernel']):,}, "
      f"ring-full drops {int(last['drops_ring_full']):,}, max ring fill {max(float(r['ring_fill_percent']) for r in rows):.2f} %")
after = [r for r in rows[:-1] if float(r["t_s"]) >= warmup_s]
if len(after) < 2:
    print(f"fewer than 2 samples after the {warmup_s:.0f} s warm-up: no growth figure")
    sys.exit(1)
for m in ("supervisor", "statsd_server", "linux_stats", "prometheus_exporter"):
    start = int(after[0][f"{m}_rss_kib"])
    peak = max(int(r[f"{m}_rss_kib"]) for r in after)
    end = int(after[-1][f"{m}_rss_kib"])
    growth = 100 * (peak - start) / start
    cpu = (float(after[-1][f"{m}_cpu_s"]) - float(after[0][f"{m}_cpu_s"])) / (float(after[-1]["t_s"]) - float(after[0]["t_s"]))
    verdict = "ok" if growth < bound else "OVER"
    ok = ok and growth < bound
    print(f"{m:<20} RSS {start / 1024:6.1f} MiB at {float(after[0]['t_s']) / 60:4.1f} min, peak {peak / 1024:6.1f}, "
          f"end {end / 1024:6.1f}: +{growth:.2f} % (bound {bound} %) {verdict}; CPU {100 * cpu:.1f} %")
sys.exit(0 if ok else 1)
PY
status=${status:-0}
cat "$out/summary.txt"
if command -v gnuplot > /dev/null; then
  bash "$here/soak-plot.sh" "$out/soak.csv" "$out/soak.png" --warmup "$warmup" \
    --title "bucky3 soak: $rate StatsD lines/s, default pipeline, RSS per process (left), ring fill (right)" ||
    echo "soak: plotting failed; the CSV is there" >&2
fi
exit "$status"
