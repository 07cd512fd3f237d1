// fuzz/fuzz_line_parser.cpp — any bytes as datagrams through the parser and the
// aggregator, then a rotate and a full drain: no crash, no leak, memory bounded
// by the caps. The same input also goes through an aggregator without the line
// cache, and both must give bit-identical metrics and counts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string_view>
#include <vector>

#include "collectors/statsd/aggregator.h"
#include "collectors/statsd/options.h"

namespace {

using bucky3::Metric;
using namespace bucky3::statsd;

constexpr std::int64_t kNow = 1764100000000;

struct Outcome {
  std::vector<Metric> metrics;
  ParseStats stats;
  std::vector<std::pair<std::string, std::size_t>> top;
};

Outcome run(std::string_view payload, bool line_cache) {
  static const AggregatorOptions defaults = default_aggregator_options();
  AggregatorOptions options = defaults;
  options.max_series = 256;
  options.timer_sample_limit = 16;
  options.percentile_thresholds = {0.1, 50, 99.9, 100};
  options.line_cache = line_cache;
  options.histogram_rules.push_back(
      {[](std::string_view name, const std::vector<bucky3::Tag>&) { return name.size() % 2 == 0; },
       {{"small", 10}, {"big", std::numeric_limits<double>::infinity()}, {"same", 10}}});
  Aggregator aggregator(options, kNow - 10000);
  std::size_t seen = 0;
  aggregator.add_datagram(payload, kNow, [&](const ParseError& error, std::string_view line) {
    seen += error.reason.size() + error.field.size() + line.size();
  });
  // Again, so the cache is hit and existing series are updated.
  aggregator.add_datagram(payload, kNow);
  auto interval = aggregator.rotate(kNow);
  Outcome outcome;
  while (interval->drain(outcome.metrics, 7)) {
  }
  outcome.stats = aggregator.stats();
  outcome.top = interval->top_names(5);
  return outcome;
}

bool same_number(const bucky3::Number& a, const bucky3::Number& b) {
  if (a.index() != b.index()) return false;
  const double x = bucky3::to_double(a), y = bucky3::to_double(b);
  return std::memcmp(&x, &y, sizeof x) == 0;  // bitwise: NaN equals NaN, 0 differs from -0
}

bool same(const Outcome& a, const Outcome& b) {
  if (a.metrics.size() != b.metrics.size() || a.top != b.top) return false;
  if (a.stats.lines != b.stats.lines || a.stats.invalid != b.stats.invalid ||
      a.stats.out_of_window != b.stats.out_of_window ||
      a.stats.series_cap_drops != b.stats.series_cap_drops) {
    return false;
  }
  for (std::size_t i = 0; i < a.metrics.size(); ++i) {
    const Metric& x = a.metrics[i];
    const Metric& y = b.metrics[i];
    if (x.bucket != y.bucket || x.metadata != y.metadata || x.timestamp_ms != y.timestamp_ms ||
        x.kind != y.kind || x.values.size() != y.values.size()) {
      return false;
    }
    for (std::size_t v = 0; v < x.values.size(); ++v) {
      if (x.values[v].name != y.values[v].name ||
          !same_number(x.values[v].value, y.values[v].value)) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  if (!same(run(payload, true), run(payload, false))) std::abort();
  return 0;
}
