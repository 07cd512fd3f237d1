// Parsers of the /proc files the Linux collector reads. Pure functions over the
// file's text: no I/O, nothing thrown, malformed lines skipped.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/linux/name_filter.h"
#include "shm/metric.h"

namespace bucky3::linux_stats {

// /proc/stat: one system_cpu metric per cpu line (name=total for the "cpu" line,
// cpu0, cpu1, ...), appended to `cpus`; intr, ctxt, processes, procs_running and
// procs_blocked appended to `activity` as interrupts, switches, forks, running, blocked.
void parse_stat(std::string_view text, std::vector<Metric>& cpus, std::vector<Field>& activity);
// /proc/loadavg: load, load5, load15.
void parse_loadavg(std::string_view text, std::vector<Field>& activity);
// /proc/uptime: uptime (seconds, fractional).
void parse_uptime(std::string_view text, std::vector<Field>& activity);
// /proc/sys/fs/file-nr: open_files (allocated minus free handles), max_files.
void parse_file_nr(std::string_view text, std::vector<Field>& activity);
// /proc/vmstat: pgpgin, pgpgout, pswpin, pswpout, pgmajfault.
void parse_vmstat(std::string_view text, std::vector<Field>& activity);
// /proc/meminfo: the *_bytes fields of system_memory, in kB × 1024.
void parse_meminfo(std::string_view text, std::vector<Field>& memory);
// /proc/net/dev: one system_interface metric per interface that `filter` allows.
void parse_net_dev(std::string_view text, NameFilter& filter, std::vector<Metric>& out);
// /proc/diskstats (lines of 14, 18 or 20 fields, and the 7-field partition lines of
// kernels before 2.6.25): one system_disk metric per device that `filter` allows.
void parse_diskstats(std::string_view text, NameFilter& filter, std::vector<Metric>& out);
// /proc/pressure/<resource>: one system_pressure metric tagged name=<resource>.
void parse_pressure(std::string_view text, std::string_view resource, std::vector<Metric>& out);

// system_protocol counters gathered from /proc/net/snmp, /proc/net/netstat and
// /proc/net/snmp6 before they become metrics, so every protocol is one metric.
class ProtocolStats {
 public:
  // /proc/net/snmp and /proc/net/netstat: pairs of "Proto: names" / "Proto: values" lines.
  void parse_snmp(std::string_view text);
  // /proc/net/snmp6: "Ip6InReceives 123" lines.
  void parse_snmp6(std::string_view text);
  // One system_protocol metric per protocol seen (ip, icmp, tcp, udp, ip6, icmp6,
  // udp6), fields in a fixed order. Clears the gathered values.
  void append_metrics(std::vector<Metric>& out);

 private:
  // One slot per (protocol, field) of the mapping table in procfs.cpp.
  std::vector<std::optional<std::int64_t>> values_;
};

struct MountEntry {
  std::string device;
  std::string mount_point;  // octal escapes (\040 for a space) decoded
  std::string type;
};
// /proc/mounts: entries whose mount point is absolute, in file order, a mount
// point repeated keeping only its last (visible) entry.
void parse_mounts(std::string_view text, std::vector<MountEntry>& out);

}  // namespace bucky3::linux_stats
