#!/usr/bin/env bash
# bench/compare_statsd.sh — StatsD ingest of bucky3 beside the raw recvmmsg ceiling and
# the other StatsD servers, in one run, as one table.
#
#   bench/compare_statsd.sh [--seconds S] [--peers "netdata collectd etsy"]
#                                           (env: BUCKY3_BUILD_DIR, BUCKY3, BENCH)
#
# 1. bench/statsd_ingest.sh: the raw ceiling (bench_udp_ceiling) and bucky3's
#    statsd_server end to end (loss = lines sent minus the counts in its debug_output);
# 2. bench/statsd_peers.sh: netdata, collectd, Etsy statsd (loss = kernel drops on
#    their socket, plus lines missing from their own count where they have one);
# every one by the same method: generator on core 0, server on core 1, 10,000 counter
# keys, S-second steps, the highest paced rate with < 1% loss, CPU seconds of the
# server process per million lines received. The two scripts' own output comes first,
# then the table (markdown). Sends to 127.0.0.1 only; stops by itself.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
export BUCKY3_BUILD_DIR=${BUCKY3_BUILD_DIR:-$here/../build}
seconds=5
peers="netdata collectd etsy"
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --peers) peers=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds S] [--peers \"netdata collectd etsy\"]" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# statsd_ingest.sh calls python3 a few times per step; a pyenv shim first on PATH
# takes seconds to start on a busy machine, the system python3 does the same job.
if [ -x /usr/bin/python3 ]; then
  mkdir -p "$work/bin" && ln -s /usr/bin/python3 "$work/bin/python3"
  export PATH="$work/bin:$PATH"
fi

started=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== compare_statsd.sh --seconds $seconds, started $started, load average $load_before," \
  "$(nproc) cores, $(uname -r)"
echo
"$here/statsd_ingest.sh" --seconds "$seconds" | tee "$work/ingest.txt" ||
  { echo "$0: step 'bucky3 and the raw ceiling (statsd_ingest.sh)' failed: its message is above" >&2; exit 2; }
echo
"$here/statsd_peers.sh" --seconds "$seconds" --peers "$peers" | tee "$work/peers.txt" ||
  { echo "$0: step 'the other servers (statsd_peers.sh)' failed: its message is above" >&2; exit 2; }
finished=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "== StatsD ingest, lines/s with < 1% loss, and CPU s per million lines received"
echo "   ($seconds s steps, $started to $finished, load average $load_before before, $load_after after)"
echo
/usr/bin/env python3 - "$work/ingest.txt" "$work/peers.txt" <<'PY'
import re, sys

names = ["1 line per datagram", "1400 B datagrams", "1400 B, 3 tags per line"]
rows = {}  # server -> {workload: (mark, lines_per_second, cpu_per_million)}
order = []

def put(server, workload, cell):
    if server not in rows:
        rows[server] = {}
        order.append(server)
    rows[server][workload] = cell

def number(text):
    return float(text.replace(",", ""))

def parse(server, workload, line, fields, indexes):
    """(mark, *numbers at indexes), or a "failed" cell naming the line it could not read."""
    try:
        mark, fields = split_mark(fields)
        put(server, workload, (mark, *(number(fields[i]) for i in indexes)))
    except (ValueError, IndexError):
        print(f"compare_statsd.sh: cannot read the figures of {server} / {workload} in: {line.strip()}",
              file=sys.stderr)
        put(server, workload, ("failed", None, None))

def split_mark(fields):
    mark = ""
    if fields and fields[0] in (">=", "<"):
        mark = fields.pop(0)
    elif fields and re.match(r"^(>=|<)\d", fields[0]):
        mark = re.match(r"^(>=|<)", fields[0]).group(1)
        fields[0] = fields[0][len(mark):]
    return mark, fields

section = None
for line in open(sys.argv[1]):
    if line.startswith("== raw ceiling"):
        section = "ceiling"
        continue
    if line.startswith("== bucky3"):
        section = "bucky3"
        continue
    parts = line.rstrip("\n").split("|")
    if section == "ceiling" and len(parts) >= 3:
        head = parts[0].split()
        if len(head) < 3 or head[-2] != "raw":
            continue
        workload = " ".join(head[:-2])
        # lines/s, datagrams/s, loss%, rx CPU s/M
        parse("raw recvmmsg ceiling (no parsing)", workload, line, parts[2].split(), (0, 3))
    elif section == "bucky3" and len(parts) >= 4:
        workload = parts[0].strip()
        if workload not in names:
            continue
        # lines/s, loss%, CPU s/M
        parse("bucky3 statsd_server", workload, line, parts[2].split(), (0, 2))

for line in open(sys.argv[2]):
    parts = [p.strip() for p in line.rstrip("\n").split("|")]
    if len(parts) < 5 or parts[1] not in names:
        continue
    server, workload = parts[0], parts[1]
    fields = parts[3].split()
    if not fields or fields[0] in ("n/a", "failed"):
        put(server, workload, (fields[0] if fields else "n/a", None, None))
        continue
    parse(server, workload, line, fields, (0, 2))

def cell(entry):
    if entry is None:
        return "—", "—"
    mark, rate, cpu = entry
    if rate is None:
        return mark, mark
    shown = f"{mark}{rate / 1e6:.2f}M" if rate >= 1e6 else f"{mark}{rate / 1e3:.0f}k"
    return shown, f"{cpu:.3f}"

header = "| server |" + "".join(f" {n}: lines/s | CPU s/M |" for n in names)
print(header)
print("|---|" + "---:|---:|" * len(names))
for server in order:
    cells = []
    for n in names:
        cells.extend(cell(rows[server].get(n)))
    print(f"| {server} | " + " | ".join(cells) + " |")
print()
print(">= : flat out under 1% loss, the generator was the limit; < : no step under 1% loss")
print("(the best step's rate shown); CPU = the server process over the step per million")
print("lines received (the raw ceiling: its receiving thread).")
PY
