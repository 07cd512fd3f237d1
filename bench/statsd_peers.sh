#!/usr/bin/env bash
# bench/statsd_peers.sh — end-to-end StatsD ingest of the other StatsD servers, by the
# method of bench/statsd_ingest.sh (bucky3), with the same generator.
#
#   bench/statsd_peers.sh [--seconds S] [--peers "netdata collectd etsy"] [--workloads "0 1 2"]
#                                           (env: BENCH, BUCKY3_BUILD_DIR)
#
# Peers: netdata 1.37 (Debian netdata-core, its statsd plugin on UDP), collectd 5.12
# (Debian collectd-core, the statsd plugin), Etsy statsd 0.9.0 (npm statsd@0.9.0 in
# bench/peers/node_modules, run with node). Installed here when missing; benchmarks
# only. Configs: bench/peers/*.in (127.0.0.1, free ports, everything but the StatsD
# listener off).
#
# Per peer and workload (0: 1 line per datagram, 1: ~1400 B datagrams, 2: ~1400 B with
# 3 tags per line; collectd parses no tags: n/a): a fresh server pinned to core 1, the
# generator (bench_udp_ceiling --generate) on core 0, 10,000 counter keys; one
# flat-out step, then paced steps from the flat-out received rate down by 10% until
# loss < 1% (at most 8), as bench/statsd_ingest.sh does for bucky3. Loss, in lines:
#   kernel drops  the `drops` column of /proc/net/udp{,6} for the peer's port, read
#                 before and after the step (after the socket queue drained), times
#                 the lines per datagram: every peer;
#   missing       lines sent minus lines the peer counted: netdata (its statsd_events
#                 "counters" total, as collected, from its own API) and Etsy statsd
#                 (the bench.* counters summed at each flush by a counting backend,
#                 read over the management port); collectd offers no cheap count.
# loss = the larger of the two. CPU = utime+stime of the whole server process (all
# threads) over the step and its drain, per million lines received.
#
# Prints one row per peer and workload:
#   server | workload | flat-out lines/s loss | < 1% loss lines/s loss CPU s/M | measure
# and each step on stderr. Traffic goes to 127.0.0.1 only; every wait is bounded.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
peers_dir=$here/peers
build=${BUCKY3_BUILD_DIR:-$here/../build}
bench=${BENCH:-$build/bin/bench_udp_ceiling}
seconds=3
loss_bound=1
peers="netdata collectd etsy"
workloads="0 1 2"
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --peers) peers=$2; shift 2 ;;
    --workloads) workloads=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds S] [--peers \"netdata collectd etsy\"] [--workloads \"0 1 2\"]" >&2; exit 2 ;;
  esac
done
[ -x "$bench" ] || { echo "$0: $bench not built" >&2; exit 2; }
# The system python: a pyenv shim first on PATH takes seconds to start on a busy machine.
py=/usr/bin/python3
[ -x "$py" ] || py=python3

# ---- installing the peers (benchmarks only: not in scripts/install-deps.sh) ----

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "$@" >&2 ||
    { apt-get update >&2 && apt-get install -y --no-install-recommends "$@" >&2; }
}
ensure_peer() {
  case "$1" in
    netdata) [ -x /usr/sbin/netdata ] || apt_install netdata-core ;;
    collectd) [ -x /usr/sbin/collectd ] && [ -f /usr/lib/collectd/statsd.so ] || apt_install collectd-core ;;
    etsy)
      command -v node > /dev/null || { echo "$0: node is not installed" >&2; exit 2; }
      [ -f "$peers_dir/node_modules/statsd/stats.js" ] ||
        npm install --prefix "$peers_dir" --no-audit --no-fund >&2 ;;
    *) echo "$0: unknown peer $1 (netdata, collectd, etsy)" >&2; exit 2 ;;
  esac
}
for peer in $peers; do ensure_peer "$peer"; done

peer_version() {
  case "$1" in
    netdata) echo "netdata $(/usr/sbin/netdata -v 2>&1 | sed -n 's/^netdata v\{0,1\}//p' | head -1)" ;;
    collectd) echo "collectd $(/usr/sbin/collectd -h 2>&1 | sed -n 's/^collectd \([0-9]*\.[0-9]*\.[0-9]*\).*/\1/p' | head -1)" ;;
    etsy) echo "Etsy statsd $(node -p "require('$peers_dir/node_modules/statsd/package.json').version")" ;;
  esac
}

# ---- running one ---------------------------------------------------------------

work=$(mktemp -d)
peer_pid=
stop_peer() {
  [ -n "$peer_pid" ] || return 0
  kill -TERM "$peer_pid" 2> /dev/null || true
  local _
  for _ in $(seq 100); do
    kill -0 "$peer_pid" 2> /dev/null || break
    sleep 0.1
  done
  kill -KILL "$peer_pid" 2> /dev/null || true
  wait "$peer_pid" 2> /dev/null || true
  peer_pid=
}
cleanup() {
  stop_peer
  rm -rf "$work"
}
trap cleanup EXIT

# udp_socket PORT -> "sockets rx_queue_bytes drops" over every UDP socket bound to PORT
udp_socket() {
  local hex sockets=0 queued=0 drops=0 q d
  hex=$(printf '%04X' "$1")
  while read -r q d; do
    sockets=$((sockets + 1)) queued=$((queued + 16#$q)) drops=$((drops + d))
  done < <(awk -v hex="$hex" 'FNR > 1 { n = split($2, a, ":"); if (a[n] == hex) { split($5, q, ":"); print q[2], $NF } }' \
    /proc/net/udp /proc/net/udp6 2> /dev/null)
  echo "$sockets $queued $drops"
}

cpu_ticks() { bench_cpu_ticks "$1"; }

# The peer's own count of lines, cumulative; -1 when it has none.
netdata_counted() {  # prints "counted collected_at_seconds"
  curl -sf --max-time 2 "http://127.0.0.1:$web_port/api/v1/allmetrics?format=prometheus&source=as-collected&filter=netdata.statsd_events" |
    awk '/^netdata_netdata_statsd_events_total/ && /dimension="counters"/ { v = $(NF-1); t = $NF / 1000 }
         END { if (v == "") print 0, 0; else printf "%s %.3f\n", v, t }'
}
etsy_stats() {  # prints "flushes lines metrics_received bad_lines"
  "$py" - "$mgmt_port" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"stats\n")
data = b""
while b"END" not in data:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
s.close()
stats = dict(line.split(": ", 1) for line in data.decode().splitlines() if ": " in line)
print(*(stats.get("bench." + k, "0") for k in ("flushes", "lines", "metrics_received", "bad_lines")))
PY
}

# start_peer PEER: a fresh server on core 1, polled until its port answers.
start_peer() {
  local peer=$1 _
  port=$(bench_free_port udp)
  rm -rf "$work/peer" && mkdir -p "$work/peer"
  case "$peer" in
    netdata)
      web_port=$(bench_free_port tcp)
      mkdir -p "$work/peer/cache" "$work/peer/lib" "$work/peer/log" "$work/peer/config/health.d" "$work/peer/no-plugins"
      sed -e "s|@WORK@|$work/peer|g" -e "s|@PORT@|$port|g" -e "s|@WEB_PORT@|$web_port|g" \
        "$peers_dir/netdata.conf.in" > "$work/peer/netdata.conf"
      taskset -c 1 /usr/sbin/netdata -D -c "$work/peer/netdata.conf" > "$work/peer/out.log" 2>&1 &
      peer_pid=$!
      ;;
    collectd)
      sed -e "s|@WORK@|$work/peer|g" -e "s|@PORT@|$port|g" "$peers_dir/collectd.conf.in" > "$work/peer/collectd.conf"
      taskset -c 1 /usr/sbin/collectd -f -C "$work/peer/collectd.conf" > "$work/peer/out.log" 2>&1 &
      peer_pid=$!
      ;;
    etsy)
      mgmt_port=$(bench_free_port tcp)
      sed -e "s|@PORT@|$port|g" -e "s|@MGMT_PORT@|$mgmt_port|g" -e "s|@BACKEND@|$peers_dir/etsy-count-backend.js|g" \
        "$peers_dir/etsy-config.js.in" > "$work/peer/config.js"
      (cd "$peers_dir/node_modules/statsd" && exec taskset -c 1 node stats.js "$work/peer/config.js") > "$work/peer/out.log" 2>&1 &
      peer_pid=$!
      ;;
  esac
  # Up = its UDP socket bound, and for netdata its API / for Etsy its management port
  # answering; at most 30 s.
  local up=
  for _ in $(seq 300); do
    if ! kill -0 "$peer_pid" 2> /dev/null; then break; fi
    read -r sockets _ _ < <(udp_socket "$port")
    if [ "$sockets" -gt 0 ]; then
      case "$peer" in
        netdata) curl -sf --max-time 1 -o /dev/null "http://127.0.0.1:$web_port/api/v1/info" && up=1 ;;
        etsy) etsy_stats > /dev/null 2>&1 && up=1 ;;
        *) up=1 ;;
      esac
    fi
    [ -n "$up" ] && break
    sleep 0.1
  done
  if [ -z "$up" ]; then
    echo "$0: $peer did not come up on 127.0.0.1:$port; its output:" >&2
    tail -20 "$work/peer/out.log" >&2 || true
    [ -f "$work/peer/log/error.log" ] && tail -20 "$work/peer/log/error.log" >&2
    stop_peer
    return 1
  fi
}

# peer_step PEER WORKLOAD DATAGRAMS_PER_SECOND (0: flat out), the peer running; prints
#   lines_sent lines_received seconds datagrams_sent cpu_seconds drop_lines missing_lines
# (missing_lines -1: the peer has no count of its own).
peer_step() {
  local peer=$1 workload=$2 rate=$3 _ drops0 drops1 queued ticks0 ticks1 counted0=-1 counted1=-1
  read -r _ _ drops0 < <(udp_socket "$port")
  case "$peer" in
    netdata) read -r counted0 _ < <(netdata_counted) ;;
    etsy) read -r _ counted0 _ _ < <(etsy_stats) ;;
  esac
  bench_step "$peer workload $workload: CPU before the step"
  ticks0=$(cpu_ticks "$peer_pid")
  local datagrams lines elapsed
  bench_step "$peer workload $workload: generate at ${rate} datagrams/s"
  read -r datagrams lines elapsed < <("$bench" --generate "$port" --workload "$workload" \
    --datagrams-per-second "$rate" --seconds "$seconds") || true
  bench_number "datagrams sent" "${datagrams:-}"
  bench_number "lines sent" "${lines:-}"
  bench_number "seconds sent" "${elapsed:-}"
  [ "$datagrams" -gt 0 ] || bench_fail "the generator sent nothing"
  # Let the peer empty its socket queue (at most 10 s), then read its drops and CPU.
  for _ in $(seq 100); do
    read -r _ queued _ < <(udp_socket "$port")
    [ "$queued" -eq 0 ] && break
    sleep 0.1
  done
  read -r _ _ drops1 < <(udp_socket "$port")
  bench_step "$peer workload $workload: CPU after the step"
  ticks1=$(cpu_ticks "$peer_pid")
  local drained_at
  drained_at=$(date +%s.%N)
  case "$peer" in
    netdata)
      # Its statsd chart is collected once a second: wait for a collection after the drain.
      local at
      for _ in $(seq 50); do
        read -r counted1 at < <(netdata_counted)
        "$py" -c "import sys; sys.exit(0 if $at > $drained_at + 0.2 else 1)" && break
        sleep 0.1
      done ;;
    etsy)
      # Flushed once a second: wait for two flushes after the drain.
      local flushes0 flushes
      read -r flushes0 _ _ _ < <(etsy_stats)
      for _ in $(seq 50); do
        read -r flushes counted1 _ _ < <(etsy_stats)
        [ "$flushes" -ge $((flushes0 + 2)) ] && break
        sleep 0.1
      done ;;
  esac
  bench_step "$peer workload $workload: the peer's own counts"
  for value in "$counted0" "$counted1" "$drops0" "$drops1"; do
    [[ $value =~ ^-?[0-9]+([.][0-9]+)?([eE][-+]?[0-9]+)?$ ]] ||
      bench_fail "a count read from $peer is '$value', not a number (counted $counted0 -> $counted1, drops $drops0 -> $drops1)"
  done
  "$py" - "$lines" "$datagrams" "$elapsed" "$((drops1 - drops0))" "$((ticks1 - ticks0))" \
    "$(getconf CLK_TCK)" "$counted0" "$counted1" <<'PY'
import sys
lines, datagrams, elapsed, drops, ticks, hz, counted0, counted1 = map(float, sys.argv[1:])
drop_lines = drops * lines / datagrams if datagrams else 0
missing = -1 if counted0 < 0 else max(0, lines - (counted1 - counted0))
received = lines - max(drop_lines, missing)
print(int(lines), int(received), elapsed, int(datagrams), ticks / hz, int(drop_lines), int(missing))
PY
}

# After peer_step (in a subshell, whose failure message is already on stderr):
# every figure is a number. missing is -1 for a peer without its own count.
check_step() {
  bench_step "$peer workload $workload, after a step"
  local value
  for value in "${sent:-}" "${received:-}" "${elapsed:-}" "${datagrams:-}" "${cpu:-}" "${drop_lines:-}"; do
    bench_number "a figure of the step ('${sent:-} ${received:-} ${elapsed:-} ${datagrams:-} ${cpu:-} ${drop_lines:-}')" "$value"
  done
  [[ ${missing:-} =~ ^-?[0-9]+$ ]] || bench_fail "missing lines is '${missing:-}', not a number"
  [ "$sent" -gt 0 ] || bench_fail "the generator sent nothing"
}

names=("1 line per datagram" "1400 B datagrams" "1400 B, 3 tags per line")
measure_of() {
  case "$1" in
    netdata) echo "kernel drops + missing from its statsd_events counter (API)" ;;
    etsy) echo "kernel drops + missing from its flushed counters (mgmt port)" ;;
    collectd) echo "kernel drops only" ;;
  esac
}

echo "== StatsD peers end to end (core 1), generator on core 0, $seconds s steps"
printf '%-24s | %-24s | %16s %7s | %15s %7s %12s | %s\n' server workload "flat-out lines/s" loss \
  "< 1% loss lines/s" loss "CPU s/M lines" "loss measure"
for peer in $peers; do
  version=$(peer_version "$peer")
  for workload in $workloads; do
    if [ "$peer" = collectd ] && [ "$workload" = 2 ]; then
      printf '%-24s | %-24s | %16s %7s | %15s %7s %12s | %s\n' "$version" "${names[$workload]}" n/a "" \
        n/a "" n/a "collectd's statsd plugin parses no tags"
      continue
    fi
    if ! start_peer "$peer"; then
      printf '%-24s | %-24s | %16s %7s | %15s %7s %12s | %s\n' "$version" "${names[$workload]}" failed "" \
        failed "" "" "did not start"
      continue
    fi
    read -r sent received elapsed datagrams cpu drop_lines missing < <(peer_step "$peer" "$workload" 0) || true
    check_step
    echo "  $peer w$workload flat out: sent $sent received $received in $elapsed s, drops $drop_lines lines, missing $missing, cpu $cpu s" >&2
    flat_rate=$("$py" -c "print($received / $elapsed)")
    flat_loss=$("$py" -c "print(100 * (1 - $received / $sent) if $sent else 100)")
    best_rate=$flat_rate best_loss=$flat_loss best_cpu=$cpu best_received=$received mark=">="
    pace=$("$py" -c "print($received / ($sent / $datagrams) / $elapsed)")
    attempt=0
    while "$py" -c "import sys; sys.exit(0 if $best_loss >= $loss_bound else 1)" && [ $attempt -lt 8 ]; do
      read -r sent received elapsed datagrams cpu drop_lines missing < <(peer_step "$peer" "$workload" "$pace") || true
      check_step
      echo "  $peer w$workload at $pace datagrams/s: sent $sent received $received in $elapsed s, drops $drop_lines lines, missing $missing, cpu $cpu s" >&2
      best_rate=$("$py" -c "print($received / $elapsed)")
      best_loss=$("$py" -c "print(100 * (1 - $received / $sent) if $sent else 100)")
      best_cpu=$cpu best_received=$received mark=""
      pace=$("$py" -c "print($pace * 0.9)")
      attempt=$((attempt + 1))
    done
    stop_peer
    "$py" - "$version" "${names[$workload]}" "$flat_rate" "$flat_loss" "$mark" "$best_rate" \
      "$best_loss" "$best_cpu" "$best_received" "$(measure_of "$peer")" <<'PY'
import sys
_, server, name, flat, flat_loss, mark, best, loss, cpu, received, measure = sys.argv
flat, flat_loss, best, loss, cpu, received = map(float, (flat, flat_loss, best, loss, cpu, received))
if loss >= 1:
    mark = "<"  # no step met the loss bound
per_million = cpu / (received / 1e6) if received > 0 else 0
print(f"{server:<24} | {name:<24} | {flat:16,.0f} {flat_loss:6.2f}% | {mark:>2}{best:13,.0f} {loss:6.2f}% "
      f"{per_million:12.3f} | {measure}")
PY
  done
done
