// The Linux collector: one call samples /proc (and statvfs of the mounted
// filesystems) into the system_* metrics of Bucky3. No timestamps, no global
// metadata: the module's runtime adds both.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "shm/metric.h"

namespace bucky3::linux_stats {

struct LinuxOptions {
  // Everything is read under it (fixture trees in tests). There is no sysfs_root:
  // /sys holds nothing that makes a field of DESIGN's buckets more right
  // (docs/DEPARTURES.md, "linux_stats has no sysfs_root").
  std::string procfs_root = "/proc";
  // Anchored ECMAScript regexes over disk names (/proc/diskstats), filesystem
  // types (/proc/mounts) and interface names (/proc/net/dev). A whitelist, when
  // set, excludes everything it does not match and the blacklist is ignored.
  std::vector<std::string> disk_whitelist, disk_blacklist;
  std::vector<std::string> filesystem_whitelist, filesystem_blacklist;
  std::vector<std::string> interface_whitelist, interface_blacklist;
  // A blacklist left empty takes the default list of its kind (as Bucky3's
  // config defaults do); a blacklist that is set replaces it.
  bool use_default_blacklists = true;
};

// loop\d+, ram\d+, sr\d+
const std::vector<std::string>& default_disk_blacklist();
// tmpfs, devtmpfs, rootfs, squashfs, and the network filesystems nfs, nfs4,
// cifs, smb3, fuse.sshfs, whose statvfs() hangs while their server is away.
const std::vector<std::string>& default_filesystem_blacklist();

class LinuxCollector {
 public:
  // Opens nothing yet (files are opened at the first collect(), in the process
  // that collects). Throws std::invalid_argument for a regex that does not compile.
  explicit LinuxCollector(LinuxOptions options);
  ~LinuxCollector();
  LinuxCollector(const LinuxCollector&) = delete;
  LinuxCollector& operator=(const LinuxCollector&) = delete;

  // Appends one sample of every group to `out`. A file that cannot be read
  // leaves its metrics out (logged once). `now_ms` is the flush time; metrics
  // are left without a timestamp.
  void collect(std::int64_t now_ms, std::vector<Metric>& out);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace bucky3::linux_stats
