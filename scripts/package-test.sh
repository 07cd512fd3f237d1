#!/usr/bin/env bash
# The Debian packages end to end, as an operator gets them (issue #16):
#   contents and control fields -> lintian -> apt-get install ./*.deb -> user, files,
#   nothing started -> bucky3 --check -> systemd-analyze verify + security ->
#   the installed agent run as user bucky3 with the unit's capability on the packaged
#   config: a StatsD line, scraped on /metrics, segments readable by group bucky3
#   (bucky3-ring, bucky3-inspector) -> an upgrade keeps an edited conffile ->
#   remove keeps the conffile -> purge leaves nothing (the user and group are kept,
#   as docs/INSTALL.md says).
#
# usage: scripts/package-test.sh [PACKAGE_DIR]   (default build/packages; `make package-test`)
#
# It installs system-wide (root, or sudo) and purges at the end, also on failure.
# The agent runs in its own network and mount namespace when unshare(1) can make
# one (ports 8125/9103 and instance `default` of the packaged config then cannot
# collide with anything else on the machine), else directly if those ports are free.
# Refuses to run where bucky3 is already installed: it would purge that install.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
if [ "$(id -u)" -ne 0 ]; then exec sudo -E bash "$0" "$@"; fi
step() { echo "package-test: $*" >&2; }
fail() { echo "package-test: FAIL: $*" >&2; exit 1; }

# ---------------------------------------------------------------- inside
# Re-executed by the outer part, inside fresh namespaces (or directly): runs the
# installed agent and checks it. Prints what it measured; exit 0 = all good.
if [ "${1:-}" = "--run-agent" ]; then
  work="$2"
  if [ "${3:-}" = "isolated" ]; then
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
    ip link set lo up
  fi
  agent_pid=""
  cleanup_agent() { if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null || true; fi; }
  trap cleanup_agent EXIT
  # The unit's privileges: user and group bucky3, only CAP_NET_ADMIN (ambient),
  # no new privileges.
  setpriv --reuid=bucky3 --regid=bucky3 --init-groups \
    --bounding-set=-all,+net_admin --inh-caps=-all,+net_admin --ambient-caps=-all,+net_admin \
    --no-new-privs \
    /usr/bin/bucky3 /etc/bucky3/bucky3.yaml 2>"$work/agent.log" &
  agent_pid=$!
  step "agent started as bucky3 (pid $agent_pid)"
  found=""
  for _ in $(seq 1 60); do  # flush_interval 10 s + up to 10 s random first-flush delay
    kill -0 "$agent_pid" 2>/dev/null || { cat "$work/agent.log" >&2; fail "the agent exited"; }
    echo "pkgtest.hits:1|c|#via:package_test" | nc -u -w1 127.0.0.1 8125 || true
    if curl -s --max-time 2 http://127.0.0.1:9103/metrics >"$work/metrics.txt" 2>/dev/null &&
      grep -q 'name="pkgtest.hits"' "$work/metrics.txt"; then
      found=yes
      break
    fi
  done
  [ -n "$found" ] || { cat "$work/agent.log" >&2; fail "pkgtest.hits never showed up on /metrics"; }
  step "scraped: $(grep 'name="pkgtest.hits"' "$work/metrics.txt" | head -1)"
  grep -q "(SO_RCVBUFFORCE)" "$work/agent.log" ||
    { cat "$work/agent.log" >&2; fail "SO_RCVBUFFORCE refused: CAP_NET_ADMIN does not reach the agent"; }
  step "statsd socket buffer: $(grep -o 'receive buffer [0-9]* bytes granted[^)]*)' "$work/agent.log")"

  # Segments: 0640 bucky3:bucky3 (shm_group: bucky3 in the packaged config).
  for f in /dev/shm/bucky3.default.health /dev/shm/bucky3.default.prometheus_exporter; do
    [ -e "$f" ] || fail "$f missing"
    got="$(stat -c '%U:%G %a' "$f")"
    [ "$got" = "bucky3:bucky3 640" ] || fail "$f is $got, not bucky3:bucky3 640"
  done
  step "segments: $(stat -c '%n %U:%G %a' /dev/shm/bucky3.default.* | tr '\n' ';')"
  # A member of group bucky3 (here: nobody with bucky3 as a supplementary group)
  # reads them; nobody without the group does not.
  gid="$(getent group bucky3 | cut -d: -f3)"
  as_member=(setpriv --reuid=nobody --regid=nogroup --groups="$gid")
  as_stranger=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
  "${as_member[@]}" cat /dev/shm/bucky3.default.health >/dev/null ||
    fail "a member of group bucky3 cannot read the health segment"
  if "${as_stranger[@]}" cat /dev/shm/bucky3.default.health >/dev/null 2>&1; then
    fail "a user outside group bucky3 can read the health segment"
  fi
  if [ -x /usr/bin/bucky3-ring ]; then
    "${as_member[@]}" /usr/bin/bucky3-ring status --once >"$work/status.txt" 2>&1 ||
      { cat "$work/status.txt" >&2; fail "bucky3-ring status as a member of group bucky3"; }
    grep -q statsd_server "$work/status.txt" || { cat "$work/status.txt" >&2; fail "status lists no statsd_server"; }
    step "bucky3-ring status --once as a group member: $(wc -l <"$work/status.txt") lines"
    if "${as_stranger[@]}" /usr/bin/bucky3-ring status --once >"$work/stranger.txt" 2>&1; then
      cat "$work/stranger.txt" >&2
      fail "bucky3-ring status works for a user outside group bucky3"
    fi
    step "bucky3-ring status as a user outside the group: refused ($(head -1 "$work/stranger.txt"))"
  fi
  if [ -x /usr/bin/bucky3-inspector ]; then
    # The installed GUI, offscreen, as a group member: it must find the instance and
    # read metrics from its rings (the agent flushes every 10 s), then quit.
    shot="$work/inspector.png"
    install -o nobody -m 644 /dev/null "$shot"
    QT_QPA_PLATFORM=offscreen "${as_member[@]}" /usr/bin/bucky3-inspector --instance default \
      --screenshot "$shot" --quit-after 25 >"$work/inspector.txt" 2>&1 ||
      { cat "$work/inspector.txt" >&2; fail "bucky3-inspector as a member of group bucky3"; }
    known="$(grep -o '[0-9]* series known' "$work/inspector.txt" | cut -d' ' -f1)"
    [ "${known:-0}" -gt 0 ] || { cat "$work/inspector.txt" >&2; fail "the inspector read no series from the rings"; }
    step "bucky3-inspector as a group member: $(tail -1 "$work/inspector.txt")"
  fi

  kill -TERM "$agent_pid"
  status=0
  wait "$agent_pid" || status=$?
  agent_pid=""
  [ "$status" -eq 0 ] || { cat "$work/agent.log" >&2; fail "the agent exited $status on SIGTERM"; }
  if ls /dev/shm/bucky3.default.* >/dev/null 2>&1; then fail "segments left after a clean stop: $(ls /dev/shm/bucky3.default.*)"; fi
  step "agent stopped cleanly (exit 0), its segments removed"
  exit 0
fi

# ---------------------------------------------------------------- outer
dir="$(realpath "${1:-$root/build/packages}")"
first() { [ -e "$1" ] && echo "$1" || true; }
deb="$(first "$(compgen -G "$dir/bucky3_*.deb" | head -1)")"
inspector_deb="$(first "$(compgen -G "$dir/bucky3-inspector_*.deb" | head -1)")"
[ -n "$deb" ] || fail "no bucky3_*.deb in $dir (make package)"
build_bin="$(dirname "$dir")/bin"

if dpkg-query -W -f='${Status}' bucky3 2>/dev/null | grep -q "ok installed"; then
  fail "bucky3 is already installed on this machine; this test would purge it"
fi
user_existed=""
if getent passwd bucky3 >/dev/null; then user_existed=yes; fi

work="$(mktemp -d)"
chmod 755 "$work"
installed=""
cleanup() {
  rc=$?
  if [ -n "$installed" ]; then
    step "cleanup: purging the packages"
    dpkg --purge bucky3-inspector bucky3 >/dev/null 2>&1 || true
  fi
  if [ -z "$user_existed" ] && getent passwd bucky3 >/dev/null; then
    # Not the package's doing (it keeps them): this machine had no bucky3 user before.
    deluser --system --quiet bucky3 >/dev/null 2>&1 || true
    delgroup --system --quiet bucky3 >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

# dpkg takes a lock; another apt-get on the machine makes it wait a little.
dpkg_retry() {
  for _ in $(seq 1 30); do
    if "$@" 2>"$work/dpkg.err"; then return 0; fi
    grep -q "lock" "$work/dpkg.err" || { cat "$work/dpkg.err" >&2; return 1; }
    sleep 2
  done
  cat "$work/dpkg.err" >&2
  return 1
}

# ------------------------------------------------------- contents, control
version="$(dpkg-deb -f "$deb" Version)"
if [ -x "$build_bin/bucky3" ]; then
  [ "$("$build_bin/bucky3" --version)" = "bucky3 $version" ] ||
    fail "package version $version differs from $("$build_bin/bucky3" --version)"
fi
expect_bucky3=(./usr/bin/bucky3 ./etc/bucky3/bucky3.yaml ./lib/systemd/system/bucky3.service
  ./usr/share/doc/bucky3/copyright ./usr/share/doc/bucky3/changelog.gz ./usr/share/man/man1/bucky3.1.gz)
# Every program the build made is packaged (bucky3-ring and bucky3-inspector are
# optional targets of the build: when built, they must be shipped).
if [ -x "$build_bin/bucky3-ring" ]; then expect_bucky3+=(./usr/bin/bucky3-ring); fi
if [ -x "$build_bin/bucky3-inspector" ] && [ -z "$inspector_deb" ]; then
  fail "bucky3-inspector is built but there is no bucky3-inspector_*.deb"
fi
dpkg-deb -c "$deb" | awk '{print $6}' >"$work/bucky3.list"
for f in "${expect_bucky3[@]}"; do grep -qx "$f" "$work/bucky3.list" || fail "bucky3 package lacks $f"; done
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx /etc/bucky3/bucky3.yaml ||
  fail "/etc/bucky3/bucky3.yaml is not a conffile"
depends="$(dpkg-deb -f "$deb" Depends)"
echo "$depends" | grep -q "libc6" || fail "Depends of bucky3 not computed from the shared libraries: $depends"
if echo "$depends" | grep -qi "qt"; then fail "bucky3 pulls in Qt: $depends"; fi
step "bucky3 $version: $(stat -c %s "$deb") bytes, Installed-Size $(dpkg-deb -f "$deb" Installed-Size) KiB, Depends: $depends"
debs=("$deb")
if [ -n "$inspector_deb" ]; then
  dpkg-deb -c "$inspector_deb" | awk '{print $6}' >"$work/inspector.list"
  for f in ./usr/bin/bucky3-inspector ./usr/share/applications/bucky3-inspector.desktop \
    ./usr/share/icons/hicolor/scalable/apps/bucky3-inspector.svg ./usr/share/doc/bucky3-inspector/copyright; do
    grep -qx "$f" "$work/inspector.list" || fail "bucky3-inspector package lacks $f"
  done
  [ "$(dpkg-deb -f "$inspector_deb" Version)" = "$version" ] || fail "the two packages differ in version"
  step "bucky3-inspector $version: $(stat -c %s "$inspector_deb") bytes, Installed-Size $(dpkg-deb -f "$inspector_deb" Installed-Size) KiB, Depends: $(dpkg-deb -f "$inspector_deb" Depends)"
  debs+=("$inspector_deb")
fi

# ------------------------------------------------------------------ lintian
# No error and no warning; warnings we keep are overridden with a reason in
# packaging/deb/<package>.lintian-overrides. Info tags are printed, not fatal.
lint=0
lintian --fail-on error,warning -I "${debs[@]}" >"$work/lintian.txt" 2>&1 || lint=$?
grep -v "running with root privileges" "$work/lintian.txt" >&2 || true
[ "$lint" -eq 0 ] || fail "lintian reports errors or warnings (above)"
step "lintian: no errors, no warnings"

# ------------------------------------------------------------------ install
dpkg_retry env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  -o DPkg::Lock::Timeout=60 "${debs[@]}" >/dev/null
installed=yes
step "installed with apt-get install ./*.deb"
getent passwd bucky3 >/dev/null || fail "no user bucky3"
getent group bucky3 >/dev/null || fail "no group bucky3"
IFS=: read -r _ _ uid ugid _ home shell < <(getent passwd bucky3)
[ "$uid" -lt 1000 ] || fail "bucky3 is not a system user (uid $uid)"
[ "$ugid" = "$(getent group bucky3 | cut -d: -f3)" ] || fail "bucky3's primary group is not bucky3"
[ "$shell" = /usr/sbin/nologin ] || fail "bucky3's shell is $shell"
[ ! -e "$home" ] || fail "bucky3's home $home exists"
step "user bucky3: uid $uid, group bucky3, home $home, shell $shell"
# Enabled as debhelper does (inert without systemd), started only where systemd runs.
[ -L /etc/systemd/system/multi-user.target.wants/bucky3.service ] || fail "the unit is not enabled"
for p in /proc/[0-9]*; do
  if [ "$(readlink "$p/exe" 2>/dev/null)" = /usr/bin/bucky3 ]; then
    if [ -d /run/systemd/system ]; then break; fi
    fail "the install started /usr/bin/bucky3 on a host without systemd (pid ${p#/proc/})"
  fi
done
step "unit enabled; nothing started (systemd running: $([ -d /run/systemd/system ] && echo yes || echo no))"

/usr/bin/bucky3 --check /etc/bucky3/bucky3.yaml || fail "bucky3 --check /etc/bucky3/bucky3.yaml"
[ "$(/usr/bin/bucky3 --version)" = "bucky3 $version" ] || fail "installed bucky3 --version"
step "/usr/bin/bucky3 --check /etc/bucky3/bucky3.yaml: ok"

# --------------------------------------------------------- the unit, offline
unit=/lib/systemd/system/bucky3.service
out="$(systemd-analyze verify "$unit" 2>&1)" || { echo "$out" >&2; fail "systemd-analyze verify $unit"; }
if echo "$out" | grep -q "bucky3.service"; then echo "$out" >&2; fail "systemd-analyze verify $unit warns"; fi
step "systemd-analyze verify $unit: ok"
# Exposure 2.3 when this was written (docs/INSTALL.md); fail above 3.0.
systemd-analyze security --offline=yes --threshold=30 "$unit" >"$work/security.txt" 2>&1 ||
  { cat "$work/security.txt" >&2; fail "systemd-analyze security: exposure above 3.0"; }
step "systemd-analyze security: $(grep -o 'Overall exposure level for .*' "$work/security.txt")"

# ---------------------------------------------------------------- run it
mode=direct
if unshare --net --mount --fork true 2>/dev/null; then mode=isolated; fi
if [ "$mode" = direct ]; then
  if ss -Hlnu 'sport = :8125' | grep -q . || ss -Hlnt 'sport = :9103' | grep -q . ||
    [ -e /dev/shm/bucky3.default.lock ]; then
    fail "no namespaces here and 127.0.0.1:8125/9103 or instance default are in use"
  fi
  bash "$0" --run-agent "$work"
else
  unshare --net --mount --fork bash "$0" --run-agent "$work" isolated
fi
# strace: every system call the agent made passes the unit's SystemCallFilter=.
if command -v strace >/dev/null && command -v python3 >/dev/null; then
  cat >"$work/syscalls.yaml" <<'EOF'
instance: pkgtest_syscalls
flush_interval: 1
modules:
  statsd_server: {type: statsd_server, local_host: "127.0.0.1:${PKGTEST_PORT}"}
  linux_stats: {type: linux_stats}
  prometheus_exporter: {type: prometheus_exporter, local_host: "127.0.0.1:${PKGTEST_HTTP}"}
EOF
  port=$(( 20000 + RANDOM % 20000 ))
  http=$(( port + 1 ))
  install -o bucky3 -m 644 /dev/null "$work/strace.log"
  # strace runs as bucky3 and traces from the agent's execve on, as systemd's
  # filter applies from there (setpriv's own setuid calls are not the agent's).
  PKGTEST_PORT=$port PKGTEST_HTTP=$http setpriv --reuid=bucky3 --regid=bucky3 --init-groups \
    strace -f -qq -o "$work/strace.log" /usr/bin/bucky3 "$work/syscalls.yaml" 2>"$work/strace-agent.log" &
  tracer=$!
  for _ in $(seq 1 40); do
    echo "pkgtest.sys:1|c" | nc -u -w1 127.0.0.1 "$port" || true
    if curl -s --max-time 2 "http://127.0.0.1:$http/metrics" | grep -q pkgtest.sys; then break; fi
  done
  agent="$(pgrep -P "$tracer" | head -1)"
  [ -n "$agent" ] && kill -TERM "$agent"
  wait "$tracer" || true
  python3 "$root/scripts/unit-syscalls.py" "$unit" "$work/strace.log" || fail "the unit's SystemCallFilter= refuses a call the agent makes"
fi

# ------------------------------------------------------------------ upgrade
# An edited conffile survives an upgrade: a copy of the package as version
# <version>+pkgtest, installed over it with dpkg -i.
echo "# edited by package-test" >>/etc/bucky3/bucky3.yaml
mkdir "$work/repack"
dpkg-deb -R "$deb" "$work/repack/bucky3"
sed -i "s/^Version: .*/Version: $version+pkgtest/" "$work/repack/bucky3/DEBIAN/control"
dpkg-deb --root-owner-group -b "$work/repack/bucky3" "$work/repack/bucky3_upgrade.deb" >/dev/null
dpkg_retry env DEBIAN_FRONTEND=noninteractive dpkg -i --force-confold "$work/repack/bucky3_upgrade.deb" >/dev/null
[ "$(dpkg-query -W -f='${Version}' bucky3)" = "$version+pkgtest" ] || fail "the upgrade did not install"
tail -1 /etc/bucky3/bucky3.yaml | grep -qx "# edited by package-test" || fail "the upgrade lost the edited /etc/bucky3/bucky3.yaml"
[ ! -e /etc/bucky3/bucky3.yaml.dpkg-new ] && [ ! -e /etc/bucky3/bucky3.yaml.dpkg-dist ] ||
  fail "the upgrade left a .dpkg-new/.dpkg-dist beside an unchanged conffile"
/usr/bin/bucky3 --check /etc/bucky3/bucky3.yaml || fail "--check after the upgrade"
step "upgrade $version -> $version+pkgtest kept the edited conffile"

# ------------------------------------------------------------- remove, purge
pkgs=(bucky3)
if [ -n "$inspector_deb" ]; then pkgs=(bucky3-inspector bucky3); fi
for p in "${pkgs[@]}"; do dpkg -L "$p"; done | sort -u >"$work/owned.txt"
dpkg_retry dpkg --remove "${pkgs[@]}" >/dev/null
[ -e /etc/bucky3/bucky3.yaml ] || fail "remove (not purge) deleted the conffile"
[ ! -e /usr/bin/bucky3 ] || fail "remove left /usr/bin/bucky3"
dpkg_retry dpkg --purge "${pkgs[@]}" >/dev/null
installed=""
left=()
while read -r f; do
  [ -z "$f" ] && continue
  if [ -e "$f" ] && [ ! -d "$f" ]; then left+=("$f"); fi
done <"$work/owned.txt"
for f in /etc/bucky3 /usr/share/doc/bucky3 /usr/share/doc/bucky3-inspector \
  /etc/systemd/system/multi-user.target.wants/bucky3.service \
  /var/lib/systemd/deb-systemd-helper-enabled/bucky3.service.dsh-also \
  /var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/bucky3.service \
  /var/lib/systemd/deb-systemd-helper-masked/bucky3.service /run/bucky3; do
  if [ -e "$f" ] || [ -L "$f" ]; then left+=("$f"); fi
done
if ls /dev/shm/bucky3.default.* >/dev/null 2>&1; then left+=(/dev/shm/bucky3.default.*); fi
[ "${#left[@]}" -eq 0 ] || fail "left after purge: ${left[*]}"
if dpkg-query -W -f='${Status}' bucky3 2>/dev/null | grep -q "installed"; then fail "bucky3 still known to dpkg"; fi
getent passwd bucky3 >/dev/null || fail "purge removed user bucky3 (INSTALL.md says it is kept)"
getent group bucky3 >/dev/null || fail "purge removed group bucky3 (INSTALL.md says it is kept)"
step "purged: no file left (checked $(wc -l <"$work/owned.txt") paths), user and group bucky3 kept as documented"
step "ok"
