#!/usr/bin/env bash
# bench/run_all.sh BIN_DIR — every in-process benchmark once, each printing its
# numbers beside its ceiling measured in the same run. The end-to-end StatsD
# comparison with other servers takes several minutes and installs the peers:
# run it on its own with bench/compare_statsd.sh (docs/BENCHMARKS.md).
set -euo pipefail
bin="${1:-build/bin}"
here="$(cd "$(dirname "$0")" && pwd)"
run() {
  echo "== $*" >&2
  "$@"
}
run "$bin/bench_statsd_parse" --benchmark_min_time=0.2
run "$bin/bench_filters" --benchmark_min_time=0.2
run "$bin/bench_linux_collect"
run "$bin/bench_docker_collect" 20
run "$bin/bench_prometheus_scrape" --benchmark_min_time=0.2
run sh "$here/ring_throughput.sh" "$(dirname "$bin")"
run sh "$here/ring_dump.sh" "$(dirname "$bin")"
echo "== for StatsD ingest against the raw ceiling and other servers: BUCKY3_BUILD_DIR=$(dirname "$bin") bench/compare_statsd.sh" >&2
