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
