// bench_filters: apply_filters() per metric, as a source runs it on every metric
// it sends, beside the ceiling of the same loop that only copies the metric.
// Run: build/bin/bench_filters --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "daemon/config/config.h"

namespace {

using bucky3::config::FilterRule;

// Rules a user typically writes: one drop by name, one retag by metadata, one
// rename by bucket; most metrics match none of them.
const char* const kRules =
    "filters:\n"
    "  - {match: {name: \"^debug_\"}, drop: true}\n"
    "  - {match: {metadata: {env: \"^(dev|test)$\"}}, set_metadata: {tier: nonprod}}\n"
    "  - {match: {bucket: \"^stats_timers$\", name: \"latency\"}, bucket: stats_latency}\n"
    "modules:\n  out: {type: debug_output}\n";

const char* const kLiteralRules =
    "filters:\n"
    "  - {match: {name: \"^debug_\"}, drop: true}\n"
    "  - {match: {metadata: {env: \"^prod$\"}}, set_metadata: {tier: prod}}\n"
    "  - {match: {bucket: \"^stats_timers$\", name: \"latency\"}, bucket: stats_latency}\n"
    "modules:\n  out: {type: debug_output}\n";

std::vector<bucky3::Metric> sample_metrics() {
  std::vector<bucky3::Metric> out;
  const char* const names[] = {"api_requests", "db_latency_ms", "cache_hits", "debug_x"};
  const char* const buckets[] = {"stats_counters", "stats_timers", "stats_gauges"};
  for (int i = 0; i < 64; ++i) {
    bucky3::Metric m;
    m.bucket = buckets[i % 3];
    m.set_tag("host", "web-" + std::to_string(i % 7));
    m.set_tag("env", i % 5 == 0 ? "dev" : "prod");
    m.set_tag("name", names[i % 4]);
    m.values.push_back({"", 1.0});
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<FilterRule> rules_from(const char* yaml) {
  return bucky3::config::load_config_text(yaml, "bench.yaml").modules[0].filters;
}

void run(benchmark::State& state, const std::vector<FilterRule>& rules) {
  const auto metrics = sample_metrics();
  std::size_t i = 0, kept = 0;
  for (auto _ : state) {
    bucky3::Metric m = metrics[i++ % metrics.size()];
    kept += bucky3::config::apply_filters(rules, m);
    benchmark::DoNotOptimize(m);
  }
  benchmark::DoNotOptimize(kept);
  state.SetItemsProcessed(state.iterations());
}

void BM_copy_only_ceiling(benchmark::State& state) {
  run(state, {});
}
void BM_apply_filters_regex(benchmark::State& state) {
  run(state, rules_from(kRules));
}
void BM_apply_filters_literal(benchmark::State& state) {
  run(state, rules_from(kLiteralRules));
}

BENCHMARK(BM_copy_only_ceiling);
BENCHMARK(BM_apply_filters_regex);
BENCHMARK(BM_apply_filters_literal);

}  // namespace

BENCHMARK_MAIN();
