// bench/remote_write_encode.cpp — one remote write request of 2000 samples (the default
// max_samples_per_send) from StatsD-like metrics: naming + protobuf encoding, then + snappy,
// beside snappy alone and a memcpy of the same bytes.
#include <benchmark/benchmark.h>

#include <cstring>

#include "exporters/prometheus/series_name.h"
#include "exporters/remote_write/write_request.h"
#include "shm/metric.h"

using namespace bucky3;
using namespace bucky3::remote_write;

namespace {

constexpr std::size_t kSamples = 2000;

// Timers: 7 named values each (a StatsD percentile set), 3 tags, one timestamp.
const std::vector<Metric>& metrics() {
  static const std::vector<Metric> all = [] {
    std::vector<Metric> out;
    for (std::size_t i = 0; out.size() * 7 < kSamples; ++i) {
      Metric m;
      m.bucket = "stats_timers";
      m.metadata = {{"host", "host-" + std::to_string(i % 50)},
                    {"name", "app.request_" + std::to_string(i)},
                    {"percentile", "90"}};
      for (const char* field : {"count", "count_ps", "lower", "upper", "mean", "sum", "stdev"}) {
        m.values.push_back({field, 12.5 + double(i)});
      }
      m.timestamp_ms = 1764100000000 + std::int64_t(i);
      out.push_back(std::move(m));
    }
    return out;
  }();
  return all;
}

// What the module does per batch: names each metric once, one TimeSeries per value.
void encode(WriteRequestEncoder& encoder, std::vector<prometheus::Label>& labels,
            std::vector<TagView>& tags) {
  encoder.clear();
  std::size_t samples = 0;
  for (const auto& m : metrics()) {
    tags.clear();
    for (const auto& t : m.metadata) tags.push_back({t.key, t.value});
    prometheus::series_labels(m.bucket, tags, labels);
    const auto at = prometheus::field_label_index(labels);
    for (const auto& f : m.values) {
      if (samples++ == kSamples) return;
      const SampleValue sample{to_double(f.value), *m.timestamp_ms};
      encoder.add_series(std::span<const prometheus::Label>(labels), std::span(&sample, 1),
                         LabelView{"value", f.name}, at);
    }
  }
}

const std::string& encoded() {
  static const std::string bytes = [] {
    WriteRequestEncoder encoder;
    std::vector<prometheus::Label> labels;
    std::vector<TagView> tags;
    encode(encoder, labels, tags);
    return std::string(encoder.bytes());
  }();
  return bytes;
}

void report(benchmark::State& state) {
  state.SetBytesProcessed(std::int64_t(state.iterations() * encoded().size()));
  state.counters["samples/s"] =
      benchmark::Counter(double(state.iterations()) * kSamples, benchmark::Counter::kIsRate);
  state.counters["request_KB"] = double(encoded().size()) / 1e3;
}

void BM_encode(benchmark::State& state) {
  WriteRequestEncoder encoder;
  std::vector<prometheus::Label> labels;
  std::vector<TagView> tags;
  for (auto _ : state) {
    encode(encoder, labels, tags);
    benchmark::DoNotOptimize(encoder.bytes().data());
  }
  report(state);
}

void BM_encode_and_snappy(benchmark::State& state) {
  WriteRequestEncoder encoder;
  std::vector<prometheus::Label> labels;
  std::vector<TagView> tags;
  std::string compressed;
  for (auto _ : state) {
    encode(encoder, labels, tags);
    snappy_compress(encoder.bytes(), compressed);
    benchmark::DoNotOptimize(compressed.data());
  }
  report(state);
  state.counters["compressed_KB"] = double(compressed.size()) / 1e3;
}

// Ceiling 1: snappy alone on the same bytes.
void BM_snappy_only(benchmark::State& state) {
  std::string compressed;
  for (auto _ : state) {
    snappy_compress(encoded(), compressed);
    benchmark::DoNotOptimize(compressed.data());
  }
  report(state);
}

// Ceiling 2: a plain copy of the same bytes.
void BM_memcpy(benchmark::State& state) {
  std::string copy(encoded().size(), '\0');
  for (auto _ : state) {
    std::memcpy(copy.data(), encoded().data(), encoded().size());
    benchmark::DoNotOptimize(copy.data());
    benchmark::ClobberMemory();
  }
  report(state);
}

}  // namespace

BENCHMARK(BM_encode);
BENCHMARK(BM_encode_and_snappy);
BENCHMARK(BM_snappy_only);
BENCHMARK(BM_memcpy);
BENCHMARK_MAIN();
