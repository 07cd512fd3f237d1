// libFuzzer target: every /proc parser on arbitrary bytes. The first byte picks
// the parser; nothing may crash, hang or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "collectors/linux/name_filter.h"
#include "collectors/linux/procfs.h"

using namespace bucky3;
using namespace bucky3::linux_stats;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<Metric> metrics;
  std::vector<Field> fields;
  std::vector<MountEntry> mounts;
  NameFilter all;
  ProtocolStats protocols;
  switch (data[0] % 12) {
    case 0: parse_stat(text, metrics, fields); break;
    case 1: parse_loadavg(text, fields); break;
    case 2: parse_uptime(text, fields); break;
    case 3: parse_file_nr(text, fields); break;
    case 4: parse_vmstat(text, fields); break;
    case 5: parse_meminfo(text, fields); break;
    case 6: parse_net_dev(text, all, metrics); break;
    case 7: parse_diskstats(text, all, metrics); break;
    case 8: parse_pressure(text, "cpu", metrics); break;
    case 9: protocols.parse_snmp(text); break;
    case 10: protocols.parse_snmp6(text); break;
    case 11: parse_mounts(text, mounts); break;
  }
  protocols.append_metrics(metrics);
  return 0;
}
