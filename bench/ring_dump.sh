#!/bin/sh
# bench/ring_dump.sh — the cost of `bucky3-ring dump` on the data path, as docs/DUMP.md
# reports it: 1M metrics/s and unthrottled, each without and with a dump running.
# Usage: bench/ring_dump.sh [BUILD_DIR] [SECONDS]   (default: build, 5)
set -eu
build=${1:-build}
"$build/bin/bench_ring_dump" --seconds "${2:-5}" --rate 1000000 --ring-tool "$build/bin/bucky3-ring"
