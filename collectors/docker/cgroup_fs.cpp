// cgroup discovery and file reading; see cgroup_fs.h.
#include "collectors/docker/cgroup_fs.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>

namespace bucky3::docker {

namespace fs = std::filesystem;

namespace {

bool is_folder(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

}  // namespace

CgroupLayout discover_layout(const std::string& sysfs_root) {
  CgroupLayout layout;
  layout.root = sysfs_root + "/fs/cgroup";
  std::error_code ec;
  layout.unified = fs::exists(layout.root + "/cgroup.controllers", ec);
  if (layout.unified) return layout;
  // v1: one folder (or a symlink to one, "cpu" → "cpu,cpuacct") per hierarchy.
  for (fs::directory_iterator it(layout.root, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (!it->is_directory(type_ec)) continue;
    const auto folder = it->path().filename().string();
    for (const auto& controller : controllers_of(folder)) {
      // A real folder named after several controllers and the symlinks named
      // after each lead to the same place; keep the first one found per name,
      // preferring the exact name so the choice does not depend on listing order.
      const auto path = it->path().string();
      auto [slot, inserted] = layout.v1_folders.emplace(controller, path);
      if (!inserted && folder == controller) slot->second = path;
    }
  }
  return layout;
}

std::vector<std::string> guessed_cgroup_paths(const std::string& id) {
  return {
      "/system.slice/docker-" + id + ".scope",   // Docker, systemd driver
      "/docker/" + id,                           // Docker, cgroupfs driver
      "/machine.slice/libpod-" + id + ".scope",  // Podman, systemd manager
      "/libpod_parent/libpod-" + id,             // Podman, cgroupfs manager
  };
}

std::optional<ContainerCgroup> locate_container(const CgroupLayout& layout,
                                                const std::string& procfs_root, std::int64_t pid,
                                                const std::string& id) {
  ContainerCgroup out;
  if (pid > 0) {
    CgroupReader reader(100);
    if (const auto text = reader.read_file(procfs_root + "/" + std::to_string(pid) + "/cgroup")) {
      const auto proc = parse_proc_cgroup(*text);
      if (layout.unified) {
        if (proc.unified && is_usable_cgroup_path(*proc.unified) &&
            is_folder(layout.root + *proc.unified)) {
          out.unified = layout.root + *proc.unified;
          out.source = "proc";
          return out;
        }
      } else {
        for (const auto& [controller, path] : proc.controllers) {
          const auto folder = layout.v1_folders.find(controller);
          if (folder == layout.v1_folders.end() || !is_usable_cgroup_path(path)) continue;
          if (is_folder(folder->second + path))
            out.folders.emplace(controller, folder->second + path);
        }
        if (!out.folders.empty()) {
          out.source = "proc";
          return out;
        }
      }
    }
  }
  for (const auto& guess : guessed_cgroup_paths(id)) {
    if (layout.unified) {
      if (is_folder(layout.root + guess)) {
        out.unified = layout.root + guess;
        out.source = guess;
        return out;
      }
      continue;
    }
    for (const auto& [controller, folder] : layout.v1_folders) {
      if (is_folder(folder + guess)) out.folders.emplace(controller, folder + guess);
    }
    if (!out.folders.empty()) {
      out.source = guess;
      return out;
    }
  }
  return std::nullopt;
}

std::optional<std::string_view> CgroupReader::read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  if (buffer_.size() < 4096) buffer_.resize(4096);
  std::size_t used = 0;
  for (;;) {
    if (used == buffer_.size()) buffer_.resize(buffer_.size() * 2);
    const auto got = ::read(fd, buffer_.data() + used, buffer_.size() - used);
    if (got < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (got == 0) break;
    used += static_cast<std::size_t>(got);
  }
  ::close(fd);
  return std::string_view(buffer_.data(), used);
}

CgroupSample CgroupReader::read(const CgroupLayout& layout, const ContainerCgroup& cgroup) {
  CgroupSample sample;
  if (layout.unified) {
    read_v2(cgroup.unified, sample);
  } else {
    read_v1(cgroup, sample);
  }
  return sample;
}

void CgroupReader::read_v2(const std::string& folder, CgroupSample& sample) {
  const auto micro = [](std::optional<std::int64_t> usec) {
    return usec ? std::optional<std::int64_t>(*usec * 1000) : std::nullopt;
  };
  if (const auto text = read_file(folder + "/cpu.stat")) {
    sample.cpu_usage_ns = micro(keyed_value(*text, "usage_usec"));
    sample.cpu_user_ns = micro(keyed_value(*text, "user_usec"));
    sample.cpu_system_ns = micro(keyed_value(*text, "system_usec"));
    sample.cpu_periods = keyed_value(*text, "nr_periods");
    sample.cpu_throttled_periods = keyed_value(*text, "nr_throttled");
    sample.cpu_throttled_ns = micro(keyed_value(*text, "throttled_usec"));
  }
  if (const auto text = read_file(folder + "/memory.current"))
    sample.memory_usage = parse_number(*text);
  if (const auto text = read_file(folder + "/memory.stat")) {
    sample.memory_anon = keyed_value(*text, "anon");
    sample.memory_file = keyed_value(*text, "file");
    sample.memory_inactive_file = keyed_value(*text, "inactive_file");
  }
  if (const auto text = read_file(folder + "/memory.swap.current"))
    sample.memory_swap = parse_number(*text);
  // memory.peak exists from Linux 5.19 on.
  if (const auto text = read_file(folder + "/memory.peak"))
    sample.memory_peak = parse_number(*text);
  if (const auto text = read_file(folder + "/memory.events")) {
    sample.memory_oom_events = keyed_value(*text, "oom");
    sample.memory_oom_kills = keyed_value(*text, "oom_kill");
  }
  if (const auto text = read_file(folder + "/io.stat")) sample.io = parse_io_stat(*text);
  if (const auto text = read_file(folder + "/pids.current"))
    sample.pids_current = parse_number(*text);
  if (const auto text = read_file(folder + "/pids.max")) sample.pids_limit = parse_number(*text);
  for (const char* resource : {"cpu", "memory", "io"}) {
    if (const auto text = read_file(folder + "/" + resource + ".pressure")) {
      sample.pressure.emplace_back(resource, std::string(*text));
    }
  }
}

void CgroupReader::read_v1(const ContainerCgroup& cgroup, CgroupSample& sample) {
  const auto folder = [&](const char* controller) -> const std::string* {
    const auto it = cgroup.folders.find(controller);
    return it == cgroup.folders.end() ? nullptr : &it->second;
  };
  if (const auto* cpuacct = folder("cpuacct")) {
    if (const auto text = read_file(*cpuacct + "/cpuacct.usage"))
      sample.cpu_usage_ns = parse_number(*text);
    if (const auto text = read_file(*cpuacct + "/cpuacct.stat")) {
      // USER_HZ ticks; ns per tick is exact for every USER_HZ Linux uses (100, 250, 1000).
      const auto ns = [&](std::optional<std::int64_t> ticks) {
        return ticks ? std::optional<std::int64_t>(*ticks * (1'000'000'000 / user_hz_))
                     : std::nullopt;
      };
      sample.cpu_user_ns = ns(keyed_value(*text, "user"));
      sample.cpu_system_ns = ns(keyed_value(*text, "system"));
    }
    if (const auto text = read_file(*cpuacct + "/cpuacct.usage_percpu")) {
      sample.cpu_percpu_ns = parse_numbers(*text);
    }
  }
  if (const auto* cpu = folder("cpu")) {
    if (const auto text = read_file(*cpu + "/cpu.stat")) {
      sample.cpu_periods = keyed_value(*text, "nr_periods");
      sample.cpu_throttled_periods = keyed_value(*text, "nr_throttled");
      sample.cpu_throttled_ns = keyed_value(*text, "throttled_time");
    }
  }
  if (const auto* memory = folder("memory")) {
    if (const auto text = read_file(*memory + "/memory.usage_in_bytes")) {
      sample.memory_usage = parse_number(*text);
    }
    if (const auto text = read_file(*memory + "/memory.stat")) {
      // total_* include the container's sub-cgroups, as usage_in_bytes does.
      const auto stat = [&](const char* total, const char* own) {
        const auto value = keyed_value(*text, total);
        return value ? value : keyed_value(*text, own);
      };
      sample.memory_rss = stat("total_rss", "rss");
      sample.memory_cache = stat("total_cache", "cache");
      sample.memory_inactive_file = stat("total_inactive_file", "inactive_file");
    }
    if (const auto text = read_file(*memory + "/memory.max_usage_in_bytes")) {
      sample.memory_peak = parse_number(*text);
    }
    // memsw counts memory plus swap; present only with swap accounting on.
    if (const auto text = read_file(*memory + "/memory.memsw.usage_in_bytes")) {
      const auto both = parse_number(*text);
      if (both && sample.memory_usage)
        sample.memory_swap = std::max<std::int64_t>(0, *both - *sample.memory_usage);
    }
    // oom_kill appears in memory.oom_control from Linux 4.13 on.
    if (const auto text = read_file(*memory + "/memory.oom_control")) {
      sample.memory_oom_kills = keyed_value(*text, "oom_kill");
    }
  }
  if (const auto* blkio = folder("blkio")) {
    // The throttle files see every bio; the CFQ ones stay empty under blk-mq.
    IoTotals totals;
    bool found = false;
    if (const auto text = read_file(*blkio + "/blkio.throttle.io_service_bytes")) {
      parse_blkio(*text, true, totals);
      found = true;
    }
    if (const auto text = read_file(*blkio + "/blkio.throttle.io_serviced")) {
      parse_blkio(*text, false, totals);
      found = true;
    }
    if (found) sample.io = totals;
  }
  if (const auto* pids = folder("pids")) {
    if (const auto text = read_file(*pids + "/pids.current"))
      sample.pids_current = parse_number(*text);
    if (const auto text = read_file(*pids + "/pids.max")) sample.pids_limit = parse_number(*text);
  }
}

}  // namespace bucky3::docker
