// The cgroup file system of the host (or of a fixture tree): which layout it
// has, where each container's cgroup is, and one sample of its files. This is
// the I/O half; the parsing is in cgroup.h.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "collectors/docker/cgroup.h"

namespace bucky3::docker {

struct CgroupLayout {
  bool unified = false;  // cgroup v2: <sysfs>/fs/cgroup/cgroup.controllers exists
  std::string root;      // <sysfs>/fs/cgroup
  // v1: controller ("cpu", "cpuacct", "memory", "blkio", "pids") → its
  // hierarchy folder, found by listing the root ("cpu,cpuacct" serves both).
  std::map<std::string, std::string> v1_folders;
};
CgroupLayout discover_layout(const std::string& sysfs_root);

// Where one container's cgroup files are: v2 one folder, v1 one per controller.
struct ContainerCgroup {
  std::string unified;                         // v2
  std::map<std::string, std::string> folders;  // v1: controller → folder
  std::string source;  // "proc" (from /proc/<pid>/cgroup) or the guess that matched
};

// The relative paths tried when /proc/<pid>/cgroup does not lead to a folder:
// Docker's systemd and cgroupfs drivers, Podman's systemd and cgroupfs managers.
std::vector<std::string> guessed_cgroup_paths(const std::string& id);

// /proc/<pid>/cgroup first, then the guesses; nullopt when no folder exists.
std::optional<ContainerCgroup> locate_container(const CgroupLayout& layout,
                                                const std::string& procfs_root, std::int64_t pid,
                                                const std::string& id);

// One reading of a container's cgroup files; absent files leave their values
// unset. Every CPU time is in ns.
struct CgroupSample {
  std::optional<std::int64_t> cpu_usage_ns, cpu_user_ns, cpu_system_ns;
  std::optional<std::int64_t> cpu_periods, cpu_throttled_periods, cpu_throttled_ns;
  std::vector<std::int64_t> cpu_percpu_ns;  // v1 cpuacct.usage_percpu
  std::optional<std::int64_t> memory_usage, memory_inactive_file;
  std::optional<std::int64_t> memory_rss, memory_cache;  // v1 total_rss, total_cache
  std::optional<std::int64_t> memory_anon, memory_file;  // v2
  std::optional<std::int64_t> memory_swap, memory_peak, memory_oom_kills, memory_oom_events;
  std::optional<IoTotals> io;
  std::optional<std::int64_t> pids_current, pids_limit;
  std::vector<std::pair<std::string, std::string>> pressure;  // resource → PSI file text
};

// Reads the files with open/read/close each time: hundreds of containers would
// otherwise hold thousands of descriptors. `user_hz` converts cpuacct.stat.
class CgroupReader {
 public:
  explicit CgroupReader(std::int64_t user_hz) : user_hz_(user_hz) {}
  CgroupSample read(const CgroupLayout& layout, const ContainerCgroup& cgroup);
  // The whole file into the reader's buffer; nullopt when it cannot be read.
  std::optional<std::string_view> read_file(const std::string& path);

 private:
  std::int64_t user_hz_;
  std::string buffer_;
  void read_v2(const std::string& folder, CgroupSample& sample);
  void read_v1(const ContainerCgroup& cgroup, CgroupSample& sample);
};

}  // namespace bucky3::docker
