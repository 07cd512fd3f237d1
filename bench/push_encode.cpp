// bench_push_encode: line protocol and Graphite plaintext encode rates, each beside
// a plain copy of the same output bytes (the ceiling: what writing them costs).
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "exporters/carbon/plaintext.h"
#include "exporters/influxdb/line_protocol.h"
#include "shm/batch_codec.h"

using namespace bucky3;

namespace {

// A StatsD-like batch: 300 counters, 3 tags each, {count, rate}, with timestamps.
struct Batch {
  Batch() {
    std::vector<Metric> metrics;
    for (int i = 0; i < 300; ++i) {
      Metric m;
      m.bucket = "stats_counters";
      m.metadata = {{"env", "prod"},
                    {"host", "web-" + std::to_string(i % 7)},
                    {"name", "requests_" + std::to_string(i)}};
      m.values = {{"count", 3.0 * i}, {"rate", 0.3 * i}};
      m.timestamp_ms = 1764100000000 + i;
      metrics.push_back(std::move(m));
    }
    shm::encode_batch(metrics, record);
    shm::decode_batch(record, batch);
  }
  std::vector<std::byte> record;
  shm::DecodedBatch batch;
};

const Batch& batch() {
  static const Batch b;
  return b;
}

std::string influx_text() {
  std::string out;
  influxdb::EncodeStats stats;
  for (const auto& m : batch().batch.metrics) influxdb::append_line(m, out, stats);
  return out;
}

std::string carbon_text() {
  std::string out;
  carbon::EncodeStats stats;
  const carbon::PathOptions options;
  for (const auto& m : batch().batch.metrics)
    carbon::append_lines(m, options, 1764100000, out, stats);
  return out;
}

void influx_encode(benchmark::State& state) {
  std::string out;
  out.reserve(1 << 20);
  for (auto _ : state) {
    out.clear();
    influxdb::EncodeStats stats;
    for (const auto& m : batch().batch.metrics) influxdb::append_line(m, out, stats);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * 300);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(out.size()));
}

void carbon_encode(benchmark::State& state) {
  std::string out;
  out.reserve(1 << 20);
  const carbon::PathOptions options;
  for (auto _ : state) {
    out.clear();
    carbon::EncodeStats stats;
    for (const auto& m : batch().batch.metrics)
      carbon::append_lines(m, options, 1764100000, out, stats);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * 300);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(out.size()));
}

// The ceiling: appending the same bytes, one line at a time, into the same buffer.
void copy_lines(benchmark::State& state, const std::string& text) {
  std::vector<std::string_view> lines;
  for (std::size_t at = 0; at < text.size();) {
    const auto end = text.find('\n', at) + 1;
    lines.emplace_back(text.data() + at, end - at);
    at = end;
  }
  std::string out;
  out.reserve(1 << 20);
  for (auto _ : state) {
    out.clear();
    for (const auto line : lines) out.append(line);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * 300);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}
void influx_copy(benchmark::State& state) {
  copy_lines(state, influx_text());
}
void carbon_copy(benchmark::State& state) {
  copy_lines(state, carbon_text());
}

}  // namespace

BENCHMARK(influx_encode);
BENCHMARK(influx_copy);
BENCHMARK(carbon_encode);
BENCHMARK(carbon_copy);
BENCHMARK_MAIN();
