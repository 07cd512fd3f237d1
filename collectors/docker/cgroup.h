// Parsers of the cgroup v1 and v2 files the Docker collector reads, and of
// /proc/<pid>/cgroup. Pure functions over the file's text: no I/O, nothing
// thrown, malformed lines skipped.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bucky3::docker {

// /proc/<pid>/cgroup: "0::/system.slice/docker-<id>.scope" (v2) and
// "4:cpu,cpuacct:/docker/<id>" (v1, one line per hierarchy).
struct ProcCgroup {
  std::optional<std::string> unified;                            // the "0::" line's path
  std::vector<std::pair<std::string, std::string>> controllers;  // v1: controller → path
};
ProcCgroup parse_proc_cgroup(std::string_view text);

// A single number ("1234\n"); nullopt for "max" and anything unparsable.
std::optional<std::int64_t> parse_number(std::string_view text);
// The value of `key` in a flat keyed file ("key value" lines: cpu.stat,
// memory.stat, memory.events, cpuacct.stat); nullopt when absent.
std::optional<std::int64_t> keyed_value(std::string_view text, std::string_view key);
// cpuacct.usage_percpu: space-separated numbers.
std::vector<std::int64_t> parse_numbers(std::string_view text);

struct IoTotals {
  std::int64_t read_bytes = 0, write_bytes = 0, read_ops = 0, write_ops = 0;
};
// v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device,
// summed over devices.
IoTotals parse_io_stat(std::string_view text);
// v1 blkio.throttle.io_service_bytes (bytes = true) or io_serviced (ops):
// "8:0 Read 123" lines summed over devices; the "Total" lines are ignored.
void parse_blkio(std::string_view text, bool bytes, IoTotals& totals);

// A v1 hierarchy folder name ("cpu,cpuacct", "net_cls,net_prio") split into
// its controllers; "name=systemd" and "unified" give none.
std::vector<std::string> controllers_of(std::string_view folder);

// A path from /proc/<pid>/cgroup is usable under the hierarchy root only when it
// is absolute, not the root itself, and does not climb ("/", "/../.." appear
// when the reader sits in another cgroup namespace).
bool is_usable_cgroup_path(std::string_view path);

}  // namespace bucky3::docker
