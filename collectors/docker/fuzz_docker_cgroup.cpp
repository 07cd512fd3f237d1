// libFuzzer target: the cgroup and /proc/<pid>/cgroup parsers on arbitrary
// bytes. The first byte picks the parser.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "collectors/docker/cgroup.h"

using namespace bucky3::docker;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  IoTotals totals;
  switch (data[0] % 8) {
    case 0: (void)parse_proc_cgroup(text); break;
    case 1: (void)parse_number(text); break;
    case 2: (void)keyed_value(text, "usage_usec"); break;
    case 3: (void)parse_numbers(text); break;
    case 4: (void)parse_io_stat(text); break;
    case 5: parse_blkio(text, (size & 1) != 0, totals); break;
    case 6: (void)controllers_of(text); break;
    case 7: (void)is_usable_cgroup_path(text); break;
  }
  return 0;
}
