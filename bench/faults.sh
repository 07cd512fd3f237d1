#!/usr/bin/env bash
# bench/faults.sh — the long fault-injection run: tests/test_faults.cpp with
# ROUNDS rounds of kill -9 (each module of the pipeline killed every 80 s while
# StatsD counters stream in, every datagram accounted for at the destination)
# and a flood of FLOOD_SECONDS into a destination that runs 10 % of the time
# (memory flat), besides the supervisor kill and the full ring.
#
#   bench/faults.sh [--rounds 5] [--flood-seconds 300]     (env: BUCKY3_BUILD_DIR)
#
# Build first: cmake --build build --target bucky3 test_faults. About
# rounds x 80 s + flood-seconds + 30 s. Prints the test's figures (QINFO lines).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${BUCKY3_BUILD_DIR:-$here/../build}
rounds=5 flood=300
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --flood-seconds) flood=$2; shift 2 ;;
    *) echo "usage: $0 [--rounds N] [--flood-seconds S]" >&2; exit 2 ;;
  esac
done
[[ $rounds =~ ^[0-9]+$ && $flood =~ ^[0-9]+$ ]] || { echo "$0: --rounds and --flood-seconds take integers" >&2; exit 2; }
for tool in "$build/bin/bucky3" "$build/bin/test_faults"; do
  [ -x "$tool" ] || { echo "$0: $tool is not built" >&2; exit 2; }
done
export BUCKY3_FAULT_ROUNDS=$rounds BUCKY3_FLOOD_SECONDS=$flood
export BUCKY3_SOURCE_DIR=$here/.. BUCKY3_BUILD_DIR=$build QT_QPA_PLATFORM=offscreen
# QtTest's default 5-minute limit per test function is too short for a long run.
export QTEST_FUNCTION_TIMEOUT=$(( (rounds * 80 + flood + 300) * 1000 ))
echo "faults: $rounds rounds of kills, a ${flood} s flood" >&2
"$build/bin/test_faults" -v1 2>&1 | grep -E "^(QINFO|FAIL|PASS|Totals)|Loc:"
exit "${PIPESTATUS[0]}"
