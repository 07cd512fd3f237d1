#!/bin/sh
# bench/ring_throughput.sh — the shm ring benchmark as docs/SHM.md reports it.
# Usage: bench/ring_throughput.sh [BUILD_DIR]   (default: build)
# Latency runs under SCHED_FIFO (root): on a busy machine the scheduler, not the
# ring, decides latency otherwise. Run on an otherwise quiet machine.
set -eu
build=${1:-build}
bin="$build/bin/bench_ring_throughput"
"$bin" --only throughput
for gap in 20 50 200; do
  if command -v chrt >/dev/null && [ "$(id -u)" = 0 ]; then
    chrt -f 1 "$bin" --only latency --gap-us "$gap"
  else
    "$bin" --only latency --gap-us "$gap"
  fi
done
