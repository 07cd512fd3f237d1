#!/usr/bin/env bash
# scripts/fuzz-long.sh — long libFuzzer runs, every target (or the ones named),
# each for SECONDS, growing its corpus in fuzz/corpus/<name>/found/ (merged, so only
# inputs that add coverage are kept; the hand-written seeds stay at the top of
# fuzz/corpus/<name>/, where tests may check they are valid inputs), with a report
# of executions and findings. libFuzzer reads a corpus directory recursively.
#
#   scripts/fuzz-long.sh [--seconds 600] [--bin build-fuzz/bin] [--no-merge] [NAME...]
#
# Build first with `make fuzz`. Findings (crash-*, leak-*, timeout-*, oom-*) land in
# fuzz/findings/<name>/ and the script exits 1; reproduce one with
# build-fuzz/bin/fuzz_<name> fuzz/findings/<name>/<file>. fuzz/ci-skip is honoured
# only by `make fuzz-smoke`: a long run tries every target.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=600 bin=$root/build-fuzz/bin merge=1 names=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --no-merge) merge=; shift ;;
    -*) echo "usage: $0 [--seconds S] [--bin DIR] [--no-merge] [NAME...]" >&2; exit 2 ;;
    *) names+=("$1"); shift ;;
  esac
done
if [ ${#names[@]} -eq 0 ]; then
  for f in "$bin"/fuzz_*; do [ -x "$f" ] && names+=("$(basename "$f" | sed 's/^fuzz_//')"); done
fi
[ ${#names[@]} -gt 0 ] || { echo "fuzz-long: no fuzz_* in $bin (make fuzz)" >&2; exit 2; }
report=$(mktemp)
failed=0
printf '%-24s %12s %10s %8s %8s %s\n' target executions exec/s corpus skipped findings > "$report"
for name in "${names[@]}"; do
  fuzzer=$bin/fuzz_$name corpus=$root/fuzz/corpus/$name findings=$root/fuzz/findings/$name
  [ -x "$fuzzer" ] || { echo "fuzz-long: $fuzzer not built" >&2; exit 2; }
  mkdir -p "$corpus" "$findings"
  work=$(mktemp -d)
  echo "fuzz-long: $name for ${seconds}s" >&2
  status=0
  "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$findings/" "$work" "$corpus" > "$work.log" 2>&1 || status=$?
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work.log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work.log" | tail -1)
  # Inputs a harness skipped because it failed itself (e.g. http_request's connect()).
  skipped=$(grep -c 'harness could not' "$work.log" || true)
  if [ -n "$merge" ]; then
    # Keep the seeds and add, under found/, only what brings new coverage.
    mkdir -p "$corpus/found"
    "$fuzzer" -merge=1 "$corpus/found" "$work" > /dev/null 2>&1 || true
  fi
  found=$(find "$findings" -type f | wc -l)
  [ "$found" -eq 0 ] && rmdir "$findings" 2> /dev/null || true
  if [ "$status" -ne 0 ] || [ "$found" -gt 0 ]; then
    failed=1
    tail -30 "$work.log" >&2
  fi
  printf '%-24s %12s %10s %8s %8s %s\n' "$name" "${executions:-?}" "${rate:-?}" "$(find "$corpus" -type f | wc -l)" "$skipped" \
    "$([ "$found" -gt 0 ] && echo "$found in fuzz/findings/$name" || echo none)" >> "$report"
  rm -rf "$work" "$work.log"
done
cat "$report"
rm -f "$report"
exit "$failed"
