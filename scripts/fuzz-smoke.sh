#!/usr/bin/env bash
# Runs each libFuzzer binary in $1 for $2 seconds, seeded from fuzz/corpus/<name>/.
# Fails on the first crash, leak or timeout a fuzzer reports.
set -euo pipefail
bin_dir="$1"
seconds="${2:-20}"
root="$(cd "$(dirname "$0")/.." && pwd)"
shopt -s nullglob
found=0
skip_list="$root/fuzz/ci-skip"
for fuzzer in "$bin_dir"/fuzz_*; do
  name="$(basename "$fuzzer")"; name="${name#fuzz_}"
  if [ -f "$skip_list" ] && grep -q "^$name " "$skip_list"; then
    echo "fuzz-smoke: $name skipped: $(grep "^$name " "$skip_list" | cut -d' ' -f2-)" >&2
    continue
  fi
  found=$((found + 1))
  work="$(mktemp -d)"
  seeds=()
  if [ -d "$root/fuzz/corpus/$name" ]; then seeds+=("$root/fuzz/corpus/$name"); fi
  echo "fuzz-smoke: $name for ${seconds}s" >&2
  "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$work/" "$work" "${seeds[@]}" 2>"$work/log" || {
      tail -50 "$work/log" >&2
      echo "fuzz-smoke: $name FAILED" >&2
      exit 1
    }
  grep -E "stat::number_of_executed_units" "$work/log" >&2 || true
  rm -rf "$work"
done
echo "fuzz-smoke: $found fuzzers passed" >&2
