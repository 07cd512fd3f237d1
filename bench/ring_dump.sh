#!/bin/sh
# bench/ring_dump.sh — the cost of `bucky3-ring dump` on the data path, as docs/DUMP.md
# reports it: 1M metrics/s and unthrottled, each without and with a dump running; and
# how the consumer's futex waits ended (docs/SHM.md, "Wake-up latency").
# Usage: bench/ring_dump.sh [BUILD_DIR] [SECONDS] [bench_ring_dump flags, e.g. --consumer yield]
#        (default: build, 5)
set -eu
build=${1:-build}
seconds=${2:-5}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] && shift
"$build/bin/bench_ring_dump" --seconds "$seconds" --rate 1000000 --ring-tool "$build/bin/bucky3-ring" "$@"
