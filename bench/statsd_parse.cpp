// bench/statsd_parse.cpp — in-process parse+aggregate speed beside a bare memchr
// split of the same datagrams (the ceiling), and the aggregator's bytes per series.
// Run: build/bin/bench_statsd_parse --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "collectors/statsd/aggregator.h"
#include "collectors/statsd/options.h"

using bucky3::statsd::Aggregator;
using bucky3::statsd::AggregatorOptions;
using bucky3::statsd::default_aggregator_options;

namespace {

constexpr std::int64_t kNow = 1764100000000;
constexpr std::size_t kDatagramBytes = 1400;

// Line i of a stream cycling over `series` series: 100 names x (series/100)
// hosts, 3 tags each, ~75 bytes, the way a fleet of clients sends them.
std::string line_for(std::size_t i, std::size_t series, const char* type) {
  const std::size_t s = i % series;
  char buf[160];
  const int n = std::snprintf(buf, sizeof buf,
                              "app.service.metric_%03zu:%zu|%s|#env:production,host:web-%06zu,"
                              "region:eu-west-1",
                              s % 100, 1 + i % 97, type, s / 100);
  return std::string(buf, static_cast<std::size_t>(n));
}

// ~1400-byte datagrams of `lines` lines in total.
std::vector<std::string> datagrams(std::size_t lines, std::size_t series, const char* type) {
  std::vector<std::string> out(1);
  for (std::size_t i = 0; i < lines; ++i) {
    std::string line = line_for(i, series, type);
    if (out.back().size() + line.size() + 1 > kDatagramBytes) out.emplace_back();
    out.back() += line;
    out.back() += '\n';
  }
  return out;
}

std::size_t count_lines(const std::vector<std::string>& dgrams) {
  std::size_t n = 0;
  for (const auto& d : dgrams) {
    for (char c : d) n += c == '\n';
  }
  return n;
}

// The ceiling: find every line, touch nothing else.
void BM_memchr_split(benchmark::State& state) {
  const auto dgrams = datagrams(100000, 10000, "c");
  const std::size_t lines = count_lines(dgrams);
  for (auto _ : state) {
    std::size_t found = 0;
    for (const auto& d : dgrams) {
      const char* p = d.data();
      const char* end = p + d.size();
      while (p < end) {
        const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
        const char* stop = nl ? static_cast<const char*>(nl) : end;
        benchmark::DoNotOptimize(stop);
        ++found;
        p = stop + 1;
      }
    }
    benchmark::DoNotOptimize(found);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * lines));
}
BENCHMARK(BM_memchr_split);

// parse+aggregate 100k lines over 10k series, then rotate (an interval of 10
// samples per series); the finished interval is dropped, as after a drain.
void parse_aggregate(benchmark::State& state, const char* type) {
  const auto dgrams = datagrams(100000, 10000, type);
  const std::size_t lines = count_lines(dgrams);
  Aggregator aggregator(default_aggregator_options(), kNow);
  for (auto _ : state) {
    for (const auto& d : dgrams) aggregator.add_datagram(d, kNow);
    auto interval = aggregator.rotate(kNow);
    benchmark::DoNotOptimize(interval);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * lines));
  state.counters["ns_per_line"] =
      benchmark::Counter(static_cast<double>(state.iterations() * lines),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
void BM_parse_aggregate_counters(benchmark::State& state) {
  parse_aggregate(state, "c");
}
void BM_parse_aggregate_timers(benchmark::State& state) {
  parse_aggregate(state, "ms");
}
BENCHMARK(BM_parse_aggregate_counters);
BENCHMARK(BM_parse_aggregate_timers);

// Turning a finished interval of 10k timer series into Metrics (4 percentiles each).
void BM_drain_timers(benchmark::State& state) {
  const auto dgrams = datagrams(100000, 10000, "ms");
  Aggregator aggregator(default_aggregator_options(), kNow);
  std::size_t metrics = 0;
  std::vector<bucky3::Metric> out;
  for (auto _ : state) {
    state.PauseTiming();
    for (const auto& d : dgrams) aggregator.add_datagram(d, kNow);
    auto interval = aggregator.rotate(kNow + 10000);
    state.ResumeTiming();
    bool more = true;
    while (more) {
      out.clear();
      more = interval->drain(out, 2000);
      metrics += out.size();
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(metrics));
}
BENCHMARK(BM_drain_timers)->Unit(benchmark::kMillisecond);

long rss_bytes() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * 4096;
}

// Bytes per counter series: the aggregator's own accounting and the RSS delta.
// The datagrams are built (and their memory touched) before the first RSS read.
void BM_bytes_per_counter_series(benchmark::State& state) {
  const auto series = static_cast<std::size_t>(state.range(0));
  const auto dgrams = datagrams(series, series, "c");
  double accounted = 0, rss = 0;
  for (auto _ : state) {
    AggregatorOptions options = default_aggregator_options();
    options.max_series = series;
    const long before = rss_bytes();
    Aggregator aggregator(options, kNow);
    for (const auto& d : dgrams) aggregator.add_datagram(d, kNow);
    rss = static_cast<double>(rss_bytes() - before) / static_cast<double>(series);
    accounted = static_cast<double>(aggregator.memory_bytes()) / static_cast<double>(series);
    if (aggregator.series() != series) state.SkipWithError("series lost");
  }
  state.counters["accounted_B_per_series"] = accounted;
  state.counters["rss_B_per_series"] = rss;
}
BENCHMARK(BM_bytes_per_counter_series)
    ->Arg(10000)
    ->Arg(100000)
    ->Arg(1000000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
