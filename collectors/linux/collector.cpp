// Samples /proc into system_* metrics; see collector.h and docs/LINUX.md.
#include "collectors/linux/collector.h"

#include <sys/statvfs.h>

#include "collectors/linux/name_filter.h"
#include "collectors/linux/proc_file.h"
#include "collectors/linux/procfs.h"

namespace bucky3::linux_stats {

const std::vector<std::string>& default_disk_blacklist() {
  static const std::vector<std::string> list{R"(loop\d+)", R"(ram\d+)", R"(sr\d+)"};
  return list;
}

const std::vector<std::string>& default_filesystem_blacklist() {
  static const std::vector<std::string> list{"tmpfs", "devtmpfs", "rootfs", "squashfs",      "nfs",
                                             "nfs4",  "cifs",     "smb3",   R"(fuse\.sshfs)"};
  return list;
}

namespace {

NameFilter make_filter(const std::vector<std::string>& whitelist,
                       const std::vector<std::string>& blacklist,
                       const std::vector<std::string>& defaults, bool use_defaults) {
  return NameFilter(whitelist, !blacklist.empty() || !use_defaults ? blacklist : defaults);
}

}  // namespace

struct LinuxCollector::State {
  explicit State(const LinuxOptions& options)
      : disks(make_filter(options.disk_whitelist, options.disk_blacklist, default_disk_blacklist(),
                          options.use_default_blacklists)),
        filesystems(make_filter(options.filesystem_whitelist, options.filesystem_blacklist,
                                default_filesystem_blacklist(), options.use_default_blacklists)),
        interfaces(make_filter(options.interface_whitelist, options.interface_blacklist, {},
                               options.use_default_blacklists)),
        stat(options.procfs_root + "/stat"),
        loadavg(options.procfs_root + "/loadavg"),
        uptime(options.procfs_root + "/uptime"),
        file_nr(options.procfs_root + "/sys/fs/file-nr"),
        vmstat(options.procfs_root + "/vmstat"),
        meminfo(options.procfs_root + "/meminfo"),
        net_dev(options.procfs_root + "/net/dev"),
        mounts(options.procfs_root + "/mounts"),
        diskstats(options.procfs_root + "/diskstats"),
        snmp(options.procfs_root + "/net/snmp"),
        netstat(options.procfs_root + "/net/netstat"),
        snmp6(options.procfs_root + "/net/snmp6"),
        pressure_cpu(options.procfs_root + "/pressure/cpu"),
        pressure_io(options.procfs_root + "/pressure/io"),
        pressure_memory(options.procfs_root + "/pressure/memory") {}

  NameFilter disks, filesystems, interfaces;
  ProcFile stat, loadavg, uptime, file_nr, vmstat, meminfo, net_dev, mounts, diskstats, snmp,
      netstat, snmp6, pressure_cpu, pressure_io, pressure_memory;
  ProtocolStats protocols;
  // Reused between collections to keep allocations out of the steady state.
  std::vector<Field> fields;
  std::vector<MountEntry> mount_entries;

  void collect_filesystems(std::vector<Metric>& out) {
    const auto text = mounts.read();
    if (!text) return;
    mount_entries.clear();
    parse_mounts(*text, mount_entries);
    for (auto& entry : mount_entries) {
      // The type is checked before statvfs(): on a network filesystem whose
      // server is gone, statvfs() blocks.
      if (!filesystems.allows(entry.type)) continue;
      struct statvfs stats {};
      // As in linux.py: a mount that cannot be queried, or has no inodes at all
      // (proc, sysfs, cgroup, ...), is not a filesystem worth reporting.
      if (::statvfs(entry.mount_point.c_str(), &stats) != 0 || stats.f_files == 0) continue;
      // f_blocks and f_bavail count f_frsize units (linux.py multiplies by
      // f_bsize, which Linux sets to the same value for disk filesystems).
      const auto unit = static_cast<std::int64_t>(stats.f_frsize);
      Metric metric;
      metric.bucket = "system_filesystem";
      metric.metadata = {{"device", std::move(entry.device)},
                         {"name", std::move(entry.mount_point)},
                         {"type", std::move(entry.type)}};
      metric.kind = MetricKind::gauge;
      metric.values = {{"free_bytes", static_cast<std::int64_t>(stats.f_bavail) * unit},
                       {"total_bytes", static_cast<std::int64_t>(stats.f_blocks) * unit},
                       {"free_inodes", static_cast<std::int64_t>(stats.f_favail)},
                       {"total_inodes", static_cast<std::int64_t>(stats.f_files)}};
      out.push_back(std::move(metric));
    }
  }
};

LinuxCollector::LinuxCollector(LinuxOptions options) : state_(std::make_unique<State>(options)) {}

LinuxCollector::~LinuxCollector() = default;

void LinuxCollector::collect(std::int64_t /*now_ms*/, std::vector<Metric>& out) {
  auto& s = *state_;
  auto& fields = s.fields;

  // system_cpu metrics first, then system_activity, as linux.py orders them.
  fields.clear();
  if (const auto text = s.stat.read()) parse_stat(*text, out, fields);
  if (const auto text = s.loadavg.read()) parse_loadavg(*text, fields);
  if (const auto text = s.uptime.read()) parse_uptime(*text, fields);
  if (const auto text = s.file_nr.read()) parse_file_nr(*text, fields);
  if (const auto text = s.vmstat.read()) parse_vmstat(*text, fields);
  if (!fields.empty()) {
    // Counters (switches, forks, ...) beside levels (running, load, ...).
    out.push_back({"system_activity", {}, std::nullopt, MetricKind::sample, fields});
  }

  fields.clear();
  if (const auto text = s.meminfo.read()) parse_meminfo(*text, fields);
  if (!fields.empty()) {
    out.push_back({"system_memory", {}, std::nullopt, MetricKind::gauge, fields});
  }

  if (const auto text = s.net_dev.read()) parse_net_dev(*text, s.interfaces, out);
  s.collect_filesystems(out);
  if (const auto text = s.diskstats.read()) parse_diskstats(*text, s.disks, out);

  if (const auto text = s.snmp.read()) s.protocols.parse_snmp(*text);
  if (const auto text = s.netstat.read()) s.protocols.parse_snmp(*text);
  if (const auto text = s.snmp6.read()) s.protocols.parse_snmp6(*text);
  s.protocols.append_metrics(out);

  if (const auto text = s.pressure_cpu.read()) parse_pressure(*text, "cpu", out);
  if (const auto text = s.pressure_io.read()) parse_pressure(*text, "io", out);
  if (const auto text = s.pressure_memory.read()) parse_pressure(*text, "memory", out);
}

}  // namespace bucky3::linux_stats
