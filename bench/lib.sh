# bench/lib.sh — helpers the benchmark scripts source: every value they compute
# with is checked first, and a failure names the step and the reason.
#
#   . "$(dirname "$0")/lib.sh"; bench_step "start bucky3"; ...; bench_fail "it exited"

bench_step_name=setup
# bench_step NAME: what the script is doing now, for bench_fail's message.
bench_step() { bench_step_name=$1; }
# bench_fail MESSAGE...: "<script>: step '<step>' failed: MESSAGE" on stderr, exit 2.
bench_fail() {
  echo "$(basename "$0"): step '$bench_step_name' failed: $*" >&2
  exit 2
}
# bench_number NAME VALUE: VALUE must be a non-negative number (integer or decimal).
bench_number() {
  [[ $2 =~ ^[0-9]+([.][0-9]+)?([eE][-+]?[0-9]+)?$ ]] || bench_fail "$1 is '${2}', not a number"
}
# bench_module_pid SUPERVISOR NAME: the pid of the module process titled
# "bucky3: NAME" among the supervisor's children (the process tree, not a log).
bench_module_pid() {
  local child title
  for child in $(cat "/proc/$1/task/$1/children" 2> /dev/null); do
    title=$(tr '\0' '\n' < "/proc/$child/cmdline" 2> /dev/null | head -1)
    if [ "$title" = "bucky3: $2" ]; then
      echo "$child"
      return 0
    fi
  done
  return 1
}
# bench_wait_module_pid SUPERVISOR NAME [SECONDS]: polls until the module runs.
bench_wait_module_pid() {
  local _ pid
  for _ in $(seq $((${3:-10} * 10))); do
    pid=$(bench_module_pid "$1" "$2") && { echo "$pid"; return 0; }
    kill -0 "$1" 2> /dev/null || bench_fail "bucky3 (pid $1) exited before $2 started"
    sleep 0.1
  done
  bench_fail "no process titled 'bucky3: $2' under pid $1 after ${3:-10} s"
}
# bench_cpu_ticks PID: utime + stime of a live process, in clock ticks.
bench_cpu_ticks() {
  local ticks
  ticks=$(awk '{ print $14 + $15 }' "/proc/$1/stat" 2> /dev/null) ||
    bench_fail "process $1 is gone (cannot read /proc/$1/stat)"
  bench_number "CPU ticks of pid $1" "$ticks"
  echo "$ticks"
}
# bench_require_built BUILD TOOL...: every BUILD/bin/TOOL is an executable.
bench_require_built() {
  local build=$1 tool
  shift
  for tool in "$@"; do
    [ -x "$build/bin/$tool" ] || bench_fail "$build/bin/$tool is not built"
  done
}
# bench_free_port [udp|tcp]: a port on 127.0.0.1 free for that kind of socket now
# (udp by default).
bench_free_port() {
  local port
  port=$(python3 -c 'import socket, sys
kind = socket.SOCK_STREAM if sys.argv[1] == "tcp" else socket.SOCK_DGRAM
s = socket.socket(socket.AF_INET, kind)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' "${1:-udp}") || bench_fail "no free ${1:-udp} port"
  bench_number "free ${1:-udp} port" "$port"
  echo "$port"
}
# bench_statsd_debug_config FILE INSTANCE PORT FLUSH_INTERVAL: an agent config with
# statsd_server on 127.0.0.1:PORT and debug_output in JSON Lines.
bench_statsd_debug_config() {
  cat > "$1" << YAML
instance: $2
flush_interval: $4
randomize_startup: false
modules:
  statsd_server:
    type: statsd_server
    local_host: 127.0.0.1:$3
  debug_output:
    type: debug_output
    format: json
YAML
}
