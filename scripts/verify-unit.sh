#!/usr/bin/env bash
# Checks assets/bucky3.service with systemd-analyze verify. The unit names
# /usr/bin/bucky3 and user bucky3, which a build machine lacks, so the check runs
# on a copy that points at the built binary and an existing user.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
binary="$(realpath "${1:-$root/build/bin/bucky3}")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
sed -e "s#/usr/bin/bucky3#$binary#g" -e "s#^User=bucky3#User=daemon#" -e "s#^Group=bucky3#Group=daemon#" \
  "$root/assets/bucky3.service" > "$work/bucky3.service"
out="$(systemd-analyze verify "$work/bucky3.service" 2>&1)" || { echo "$out" >&2; exit 1; }
# verify exits 0 on some warnings; treat any line about our unit as a failure.
if echo "$out" | grep -q "bucky3.service"; then echo "$out" >&2; exit 1; fi
echo "verify-unit: assets/bucky3.service ok" >&2
