#!/usr/bin/env bash
# Installs the Debian packages and npm modules the build and the tests need.
# Idempotent: skips apt-get when every package is already installed.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libboost1.81-dev libboost-json1.81-dev
  qt6-base-dev qt6-charts-dev libqt6opengl6-dev
  libyaml-cpp-dev libzstd-dev zlib1g-dev
  libsnappy-dev libprotobuf-dev protobuf-compiler openssl python3
  clang-14 clang-format libclang-rt-14-dev libbenchmark-dev
  prometheus prometheus-node-exporter
  libssl-dev influxdb graphite-carbon python3-whisper victoria-metrics
  python3-statsd netcat-openbsd curl procps iproute2 systemd xvfb xauth fonts-dejavu-core tmux util-linux
  dpkg-dev file lintian strace adduser
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# StatsD client libraries for the end-to-end tests (Node 20 and npm are preinstalled).
NODE_DIR="$(cd "$(dirname "$0")/.." && pwd)/tests/node"
if [ -f "$NODE_DIR/package.json" ] && [ ! -d "$NODE_DIR/node_modules/hot-shots" ]; then
  (cd "$NODE_DIR" && npm install --no-audit --no-fund --silent >/dev/null)
fi
