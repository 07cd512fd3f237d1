// Parsers of /proc files into metrics; see procfs.h. Field names and units follow
// the Python Bucky3 (bucky3/linux.py); docs/LINUX.md lists every one.
#include "collectors/linux/procfs.h"

#include <array>
#include <charconv>
#include <cstdint>
#include <unordered_map>
#include <unordered_set>

namespace bucky3::linux_stats {
namespace {

constexpr bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Calls fn(line) for every line, without its '\n'.
template <class Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  while (!text.empty()) {
    const auto end = text.find('\n');
    fn(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
}

// Whitespace-separated tokens of `line`, at most `max_tokens` of them.
void split(std::string_view line, std::vector<std::string_view>& tokens,
           std::size_t max_tokens = SIZE_MAX) {
  tokens.clear();
  std::size_t i = 0;
  while (i < line.size() && tokens.size() < max_tokens) {
    while (i < line.size() && is_space(line[i])) ++i;
    const auto start = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    if (i > start) tokens.push_back(line.substr(start, i - start));
  }
}

// Kernel counters are unsigned 64-bit; they are kept as int64 (the metric
// model's integer), which only differs past 2^63.
bool parse_int(std::string_view text, std::int64_t& value) {
  std::uint64_t parsed = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), parsed);
  if (error != std::errc() || end != text.data() + text.size()) return false;
  value = static_cast<std::int64_t>(parsed);
  return true;
}

bool parse_double(std::string_view text, double& value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

Metric make_metric(std::string_view bucket, std::string_view name, MetricKind kind,
                   std::vector<Field> values) {
  Metric metric;
  metric.bucket = bucket;
  if (!name.empty()) metric.metadata.push_back({"name", std::string(name)});
  metric.kind = kind;
  metric.values = std::move(values);
  return metric;
}

// Fields gathered by name from a file whose lines come in any order, appended
// in the order of `names` (so output does not depend on the kernel's order).
template <std::size_t N>
struct Slots {
  const std::array<std::string_view, N>& names;
  std::array<std::optional<std::int64_t>, N> values{};

  bool set(std::string_view name, std::string_view text) {
    for (std::size_t i = 0; i < N; ++i) {
      if (names[i] != name) continue;
      std::int64_t value = 0;
      if (parse_int(text, value)) values[i] = value;
      return true;
    }
    return false;
  }
  void append_to(std::vector<Field>& out, const std::array<std::string_view, N>& field_names) {
    for (std::size_t i = 0; i < N; ++i) {
      if (values[i]) out.push_back({std::string(field_names[i]), *values[i]});
    }
  }
};

constexpr std::array<std::string_view, 8> cpu_fields{"user", "nice",      "system",  "idle",
                                                     "wait", "interrupt", "softirq", "steal"};

constexpr std::array<std::string_view, 5> stat_keys{"intr", "ctxt", "processes", "procs_running",
                                                    "procs_blocked"};
constexpr std::array<std::string_view, 5> stat_fields{"interrupts", "switches", "forks", "running",
                                                      "blocked"};

constexpr std::array<std::string_view, 5> vmstat_keys{"pgpgin", "pgpgout", "pswpin", "pswpout",
                                                      "pgmajfault"};

constexpr std::array<std::string_view, 11> meminfo_keys{
    "MemTotal:", "MemFree:", "MemAvailable:", "Buffers:",  "Cached:",    "Shmem:",
    "Slab:",     "Mapped:",  "SwapTotal:",    "SwapFree:", "SwapCached:"};
constexpr std::array<std::string_view, 11> meminfo_fields{
    "total_bytes",      "free_bytes",      "available_bytes",  "buffers_bytes",
    "cached_bytes",     "shared_bytes",    "slab_bytes",       "mapped_bytes",
    "swap_total_bytes", "swap_free_bytes", "swap_cached_bytes"};

// /proc/net/dev columns after the name; the fifo/frame/compressed/multicast
// and fifo/colls/carrier/compressed columns are not reported (as in linux.py).
constexpr std::array<std::string_view, 16> interface_fields{
    "rx_bytes", "rx_packets", "rx_errors", "rx_dropped", {}, {}, {}, {},
    "tx_bytes", "tx_packets", "tx_errors", "tx_dropped", {}, {}, {}, {}};

// Documentation/admin-guide/iostats.rst, fields 1-17 (after major, minor, name).
constexpr std::array<std::string_view, 17> disk_fields{
    "read_ops",      "read_merged",   "read_sectors",   "read_time",       "write_ops",
    "write_merged",  "write_sectors", "write_time",     "in_progress",     "io_time",
    "weighted_time", "discard_ops",   "discard_merged", "discard_sectors", "discard_time",
    "flush_ops",     "flush_time"};
// Partition lines of kernels 2.6.0-2.6.24: reads, sectors read, writes, sectors written.
constexpr std::array<std::string_view, 4> old_partition_fields{"read_ops", "read_sectors",
                                                               "write_ops", "write_sectors"};

enum Protocol { ip, icmp, tcp, udp, ip6, icmp6, udp6, protocol_count };
constexpr std::array<std::string_view, protocol_count> protocol_names{"ip",  "icmp",  "tcp", "udp",
                                                                      "ip6", "icmp6", "udp6"};

struct ProtocolField {
  std::string_view key;  // "Proto:Name" in snmp/netstat, "Proto6Name" in snmp6
  Protocol protocol;
  std::string_view field;
  bool gauge = false;
};
// The IPv4 rows are linux.py's PROTOCOL_FIELDS (including its names, e.g.
// Tcp:OutRsts as rx_resets); the IPv6 rows give the same meaning the same name.
constexpr std::array<ProtocolField, 45> protocol_fields{{
    {"Ip:InReceives", ip, "rx_packets"},
    {"Ip:InDiscards", ip, "rx_dropped"},
    {"IpExt:InOctets", ip, "rx_bytes"},
    {"Ip:OutRequests", ip, "tx_packets"},
    {"Ip:OutDiscards", ip, "tx_dropped"},
    {"IpExt:OutOctets", ip, "tx_bytes"},
    {"Icmp:InMsgs", icmp, "rx_packets"},
    {"Icmp:InErrors", icmp, "rx_errors"},
    {"Icmp:OutMsgs", icmp, "tx_packets"},
    {"Icmp:OutErrors", icmp, "tx_errors"},
    {"Udp:InDatagrams", udp, "rx_packets"},
    {"Udp:InErrors", udp, "rx_errors"},
    {"Udp:OutDatagrams", udp, "tx_packets"},
    {"Udp:RcvbufErrors", udp, "rcvbuf_errors"},
    {"Udp:SndbufErrors", udp, "sndbuf_errors"},
    {"Tcp:OutSegs", tcp, "tx_packets"},
    {"Tcp:InSegs", tcp, "rx_packets"},
    {"Tcp:RetransSegs", tcp, "retr_packets"},
    {"Tcp:ActiveOpens", tcp, "tx_opens"},
    {"Tcp:PassiveOpens", tcp, "rx_opens"},
    {"Tcp:EstabResets", tcp, "conn_resets"},
    {"Tcp:CurrEstab", tcp, "conn_count", true},
    {"Tcp:OutRsts", tcp, "rx_resets"},
    {"TcpExt:ListenOverflows", tcp, "listen_overflows"},
    {"TcpExt:ListenDrops", tcp, "listen_drops"},
    {"TcpExt:TCPTimeouts", tcp, "timeouts"},
    {"TcpExt:TCPBacklogDrop", tcp, "backlog_drops"},
    {"TcpExt:TCPKeepAlive", tcp, "keep_alives"},
    {"TcpExt:SyncookiesRecv", tcp, "rx_syncookies"},
    {"TcpExt:SyncookiesSent", tcp, "tx_syncookies"},
    {"Ip6InReceives", ip6, "rx_packets"},
    {"Ip6InDiscards", ip6, "rx_dropped"},
    {"Ip6InOctets", ip6, "rx_bytes"},
    {"Ip6OutRequests", ip6, "tx_packets"},
    {"Ip6OutDiscards", ip6, "tx_dropped"},
    {"Ip6OutOctets", ip6, "tx_bytes"},
    {"Icmp6InMsgs", icmp6, "rx_packets"},
    {"Icmp6InErrors", icmp6, "rx_errors"},
    {"Icmp6OutMsgs", icmp6, "tx_packets"},
    {"Icmp6OutErrors", icmp6, "tx_errors"},
    {"Udp6InDatagrams", udp6, "rx_packets"},
    {"Udp6InErrors", udp6, "rx_errors"},
    {"Udp6OutDatagrams", udp6, "tx_packets"},
    {"Udp6RcvbufErrors", udp6, "rcvbuf_errors"},
    {"Udp6SndbufErrors", udp6, "sndbuf_errors"},
}};

int protocol_slot(std::string_view key) {
  // Built once; netstat has ~150 names per collection and a linear scan of the
  // table for each would dominate the protocol group.
  static const auto* const slots = [] {
    auto* map = new std::unordered_map<std::string_view, int>;
    for (std::size_t i = 0; i < protocol_fields.size(); ++i) {
      map->emplace(protocol_fields[i].key, static_cast<int>(i));
    }
    return map;
  }();
  const auto it = slots->find(key);
  return it == slots->end() ? -1 : it->second;
}

// Mount table fields escape space, tab, newline and backslash as \ooo.
std::string unescape_octal(std::string_view text) {
  constexpr auto is_octal = [](char c) { return c >= '0' && c <= '7'; };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && text.size() - i >= 4 && text[i + 1] <= '3' && is_octal(text[i + 1]) &&
        is_octal(text[i + 2]) && is_octal(text[i + 3])) {
      out += static_cast<char>((text[i + 1] - '0') * 64 + (text[i + 2] - '0') * 8 +
                               (text[i + 3] - '0'));
      i += 3;
      continue;
    }
    out += text[i];
  }
  return out;
}

}  // namespace

void parse_stat(std::string_view text, std::vector<Metric>& cpus, std::vector<Field>& activity) {
  std::vector<std::string_view> tokens;
  Slots<stat_keys.size()> slots{stat_keys};
  for_each_line(text, [&](std::string_view line) {
    // The intr line has a column per interrupt source: thousands on big hosts.
    split(line, tokens, 1 + cpu_fields.size());
    if (tokens.size() < 2) return;
    const auto key = tokens[0];
    if (!key.starts_with("cpu")) {
      slots.set(key, tokens[1]);
      return;
    }
    // Kernels before 2.5.41 give 4 columns, later ones up to 10; linux.py
    // reports the first 8 that are there (guest time is already in user/nice).
    std::vector<Field> values;
    values.reserve(cpu_fields.size());
    for (std::size_t i = 0; i < cpu_fields.size() && i + 1 < tokens.size(); ++i) {
      std::int64_t value = 0;
      if (!parse_int(tokens[i + 1], value)) return;
      values.push_back({std::string(cpu_fields[i]), value});
    }
    cpus.push_back(make_metric("system_cpu", key == "cpu" ? "total" : key, MetricKind::counter,
                               std::move(values)));
  });
  slots.append_to(activity, stat_fields);
}

void parse_loadavg(std::string_view text, std::vector<Field>& activity) {
  std::vector<std::string_view> tokens;
  split(text.substr(0, text.find('\n')), tokens);
  if (tokens.size() != 5) return;
  double load[3];
  for (int i = 0; i < 3; ++i) {
    if (!parse_double(tokens[i], load[i])) return;
  }
  activity.push_back({"load", load[0]});
  activity.push_back({"load5", load[1]});
  activity.push_back({"load15", load[2]});
}

void parse_uptime(std::string_view text, std::vector<Field>& activity) {
  std::vector<std::string_view> tokens;
  split(text.substr(0, text.find('\n')), tokens);
  double uptime = 0;
  if (tokens.empty() || !parse_double(tokens[0], uptime)) return;
  activity.push_back({"uptime", uptime});
}

void parse_file_nr(std::string_view text, std::vector<Field>& activity) {
  std::vector<std::string_view> tokens;
  split(text.substr(0, text.find('\n')), tokens);
  std::int64_t allocated = 0, unused = 0, max = 0;
  if (tokens.size() != 3 || !parse_int(tokens[0], allocated) || !parse_int(tokens[1], unused) ||
      !parse_int(tokens[2], max)) {
    return;
  }
  // Since 2.6 the second column is always 0; before, freed handles were kept
  // allocated and counted there.
  activity.push_back({"open_files", allocated - unused});
  activity.push_back({"max_files", max});
}

void parse_vmstat(std::string_view text, std::vector<Field>& activity) {
  std::vector<std::string_view> tokens;
  Slots<vmstat_keys.size()> slots{vmstat_keys};
  for_each_line(text, [&](std::string_view line) {
    split(line, tokens);
    if (tokens.size() == 2) slots.set(tokens[0], tokens[1]);
  });
  slots.append_to(activity, vmstat_keys);
}

void parse_meminfo(std::string_view text, std::vector<Field>& memory) {
  std::vector<std::string_view> tokens;
  std::array<std::optional<std::int64_t>, meminfo_keys.size()> values{};
  for_each_line(text, [&](std::string_view line) {
    split(line, tokens);
    if (tokens.size() != 3 || (tokens[2] != "kB" && tokens[2] != "KB" && tokens[2] != "kb")) {
      return;
    }
    for (std::size_t i = 0; i < meminfo_keys.size(); ++i) {
      std::int64_t kib = 0;
      if (tokens[0] == meminfo_keys[i] && parse_int(tokens[1], kib)) values[i] = kib * 1024;
    }
  });
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i]) memory.push_back({std::string(meminfo_fields[i]), *values[i]});
  }
}

void parse_net_dev(std::string_view text, NameFilter& filter, std::vector<Metric>& out) {
  std::vector<std::string_view> tokens;
  for_each_line(text, [&](std::string_view line) {
    // Kernels before 2.6.x glue the first counter to the colon ("eth0:1234"),
    // so split at the colon rather than at whitespace. Names cannot hold ':'.
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return;
    std::vector<std::string_view> name_tokens;
    split(line.substr(0, colon), name_tokens);
    if (name_tokens.size() != 1) return;
    split(line.substr(colon + 1), tokens);
    if (tokens.size() != interface_fields.size()) return;
    std::vector<Field> values;
    values.reserve(8);
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      std::int64_t value = 0;
      if (!parse_int(tokens[i], value)) return;
      if (!interface_fields[i].empty()) values.push_back({std::string(interface_fields[i]), value});
    }
    if (!filter.allows(name_tokens[0])) return;
    out.push_back(
        make_metric("system_interface", name_tokens[0], MetricKind::counter, std::move(values)));
  });
}

void parse_diskstats(std::string_view text, NameFilter& filter, std::vector<Metric>& out) {
  std::vector<std::string_view> tokens;
  for_each_line(text, [&](std::string_view line) {
    split(line, tokens);
    const auto count = tokens.size();
    if (count != 7 && count < 14) return;
    if (!filter.allows(tokens[2])) return;
    std::vector<Field> values;
    values.reserve(disk_fields.size() + 3);
    std::int64_t sectors[3] = {-1, -1, -1};  // read, write, discard
    auto add = [&](std::string_view field, std::string_view text) {
      std::int64_t value = 0;
      if (!parse_int(text, value)) return false;
      values.push_back({std::string(field), value});
      if (field == "read_sectors") sectors[0] = value;
      if (field == "write_sectors") sectors[1] = value;
      if (field == "discard_sectors") sectors[2] = value;
      return true;
    };
    if (count == 7) {
      for (std::size_t i = 0; i < old_partition_fields.size(); ++i) {
        if (!add(old_partition_fields[i], tokens[i + 3])) return;
      }
    } else {
      for (std::size_t i = 0; i < disk_fields.size() && i + 3 < count; ++i) {
        if (!add(disk_fields[i], tokens[i + 3])) return;
      }
    }
    // Sectors here are always 512 bytes, whatever the device's sector size.
    constexpr std::array<std::string_view, 3> byte_fields{"read_bytes", "write_bytes",
                                                          "discard_bytes"};
    for (int i = 0; i < 3; ++i) {
      if (sectors[i] >= 0) values.push_back({std::string(byte_fields[i]), sectors[i] * 512});
    }
    // in_progress is a level, the rest cumulative counters.
    const auto kind = count == 7 ? MetricKind::counter : MetricKind::sample;
    out.push_back(make_metric("system_disk", tokens[2], kind, std::move(values)));
  });
}

void parse_pressure(std::string_view text, std::string_view resource, std::vector<Metric>& out) {
  std::vector<std::string_view> tokens;
  std::vector<Field> values;
  for_each_line(text, [&](std::string_view line) {
    split(line, tokens);
    if (tokens.size() != 5 || (tokens[0] != "some" && tokens[0] != "full")) return;
    std::vector<Field> line_values;
    for (std::size_t i = 1; i < tokens.size(); ++i) {
      const auto eq = tokens[i].find('=');
      if (eq == std::string_view::npos) return;
      const auto key = tokens[i].substr(0, eq), number = tokens[i].substr(eq + 1);
      std::string name = std::string(tokens[0]) + '_' + std::string(key);
      if (key == "total") {  // microseconds stalled, cumulative
        std::int64_t total = 0;
        if (!parse_int(number, total)) return;
        line_values.push_back({std::move(name), total});
      } else if (key == "avg10" || key == "avg60" || key == "avg300") {
        double average = 0;  // percent of wall time stalled
        if (!parse_double(number, average)) return;
        line_values.push_back({std::move(name), average});
      } else {
        return;
      }
    }
    values.insert(values.end(), std::make_move_iterator(line_values.begin()),
                  std::make_move_iterator(line_values.end()));
  });
  if (values.empty()) return;
  out.push_back(make_metric("system_pressure", resource, MetricKind::sample, std::move(values)));
}

void ProtocolStats::parse_snmp(std::string_view text) {
  if (values_.empty()) values_.resize(protocol_fields.size());
  std::vector<std::string_view> header, tokens;
  std::string key;
  for_each_line(text, [&](std::string_view line) {
    split(line, tokens);
    if (tokens.empty()) return;
    // A "Proto:" line of names is followed by a "Proto:" line of values.
    if (header.empty() || header[0] != tokens[0]) {
      header = tokens;
      return;
    }
    for (std::size_t i = 1; i < tokens.size() && i < header.size(); ++i) {
      key.assign(header[0]);
      key += header[i];
      const auto slot = protocol_slot(key);
      std::int64_t value = 0;
      if (slot >= 0 && parse_int(tokens[i], value)) values_[slot] = value;
    }
    header.clear();
  });
}

void ProtocolStats::parse_snmp6(std::string_view text) {
  if (values_.empty()) values_.resize(protocol_fields.size());
  std::vector<std::string_view> tokens;
  for_each_line(text, [&](std::string_view line) {
    split(line, tokens);
    if (tokens.size() != 2) return;
    const auto slot = protocol_slot(tokens[0]);
    std::int64_t value = 0;
    if (slot >= 0 && parse_int(tokens[1], value)) values_[slot] = value;
  });
}

void ProtocolStats::append_metrics(std::vector<Metric>& out) {
  if (values_.empty()) return;
  for (int protocol = 0; protocol < protocol_count; ++protocol) {
    std::vector<Field> values;
    bool has_gauge = false;
    for (std::size_t i = 0; i < protocol_fields.size(); ++i) {
      if (protocol_fields[i].protocol != protocol || !values_[i]) continue;
      values.push_back({std::string(protocol_fields[i].field), *values_[i]});
      has_gauge = has_gauge || protocol_fields[i].gauge;
    }
    if (values.empty()) continue;
    out.push_back(make_metric("system_protocol", protocol_names[protocol],
                              has_gauge ? MetricKind::sample : MetricKind::counter,
                              std::move(values)));
  }
  values_.assign(values_.size(), std::nullopt);
}

void parse_mounts(std::string_view text, std::vector<MountEntry>& out) {
  std::vector<std::string_view> tokens;
  std::vector<MountEntry> entries;
  for_each_line(text, [&](std::string_view line) {
    split(line, tokens);
    if (tokens.size() != 6 || !tokens[1].starts_with('/')) return;
    entries.push_back(
        {unescape_octal(tokens[0]), unescape_octal(tokens[1]), unescape_octal(tokens[2])});
  });
  // A later mount on the same point hides the earlier one: statvfs() sees only
  // the top one, and reporting both would give two series with one name.
  std::unordered_set<std::string_view> seen;
  std::vector<bool> keep(entries.size());
  for (std::size_t i = entries.size(); i-- > 0;) {
    keep[i] = seen.insert(entries[i].mount_point).second;
  }
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (keep[i]) out.push_back(std::move(entries[i]));
  }
}

}  // namespace bucky3::linux_stats
