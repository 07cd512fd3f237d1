// fuzz/fuzz_line_parser.cpp — any bytes as one datagram through the parser and
// the aggregator, then a rotate and a full drain: no crash, no leak, and the
// caps (max_series, timer_sample_limit) keep memory bounded.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "collectors/statsd/aggregator.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace bucky3::statsd;
  AggregatorOptions options;
  options.max_series = 256;
  options.timer_sample_limit = 16;
  options.percentile_thresholds = {0.1, 50, 99.9, 100};
  options.histogram_rules.push_back(
      {[](std::string_view name, const std::vector<bucky3::Tag>&) { return name.size() % 2 == 0; },
       {{"small", 10}, {"big", std::numeric_limits<double>::infinity()}, {"same", 10}}});
  constexpr std::int64_t now_ms = 1764100000000;
  Aggregator aggregator(options, now_ms - 10000);
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  std::size_t invalid = 0;
  aggregator.add_datagram(payload, now_ms, [&](const ParseError& error, std::string_view line) {
    // The reason and field must lie inside the line or be a literal.
    invalid += error.reason.size() + line.size();
  });
  // Feed it twice so existing series are updated, not only created.
  aggregator.add_datagram(payload, now_ms);
  auto interval = aggregator.rotate(now_ms);
  std::vector<bucky3::Metric> out;
  while (interval->drain(out, 7)) out.clear();
  (void)interval->top_names(5);
  return 0;
}
