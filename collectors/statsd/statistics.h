// collectors/statsd/statistics.h — what a timer, histogram bin or set keeps per
// interval, and the stats DESIGN's "StatsD" section gives for them (count,
// count_ps, lower, upper, mean, sum, stdev; percentiles over the lowest samples).
// The per-sample parts are inline; the per-flush arithmetic is in statistics.cpp.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "shm/metric.h"

namespace bucky3::statsd {

// count, sum, extremes and Welford's running mean and M2 of a sample stream.
struct Moments {
  std::uint64_t n = 0;
  double weight = 0;  // Σ 1/sample_rate: the count the samples stand for
  double sum = 0;
  double min = 0;
  double max = 0;
  double mean = 0;
  double m2 = 0;

  void add(double v, double w) {
    if (n == 0) {
      min = max = v;
    } else {
      min = std::min(min, v);
      max = std::max(max, v);
    }
    ++n;
    weight += w;
    sum += v;
    const double delta = v - mean;
    mean += delta / static_cast<double>(n);
    m2 += delta * (v - mean);
  }
};

struct TimerState {
  std::vector<double> samples;  // every sample, or a uniform reservoir past the limit
  Moments all;                  // exact over every sample
  std::unique_ptr<Moments[]> bins;
  int rule = -1;  // histogram rule index, -1: none matched
  bool sorted = false;
};

// Distinct set members by 64-bit hash (a collision needs ~4e9 members to be
// likely). Open addressing; 0 marks an empty slot.
struct SetState {
  std::vector<std::uint64_t> slots;
  std::size_t count = 0;

  void add(std::uint64_t h) {
    if (h == 0) h = 1;
    if ((count + 1) * 2 > slots.size()) grow();
    const std::size_t mask = slots.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      if (slots[i] == h) return;
      if (slots[i] == 0) {
        slots[i] = h;
        ++count;
        return;
      }
    }
  }
  void grow();
};

// A sorted copy of a histogram rule's bounds, to find "the smallest bound
// strictly above" a value.
struct BinIndex {
  std::vector<std::pair<double, std::size_t>> bounds;  // bound, bin index in the rule

  // Stable: of two bins with one bound, the first listed takes the values.
  explicit BinIndex(const std::vector<std::pair<std::string, double>>& bins);

  // The bin index a value lands in; nullopt below 0 or above every bound.
  std::optional<std::size_t> bin_of(double value) const {
    if (value < 0) return std::nullopt;
    const auto it = std::upper_bound(
        bounds.begin(), bounds.end(), value,
        [](double v, const std::pair<double, std::size_t>& b) { return v < b.first; });
    if (it == bounds.end()) return std::nullopt;
    return it->second;
  }
};

// The stats of every sample of a timer or a bin, over an interval of `elapsed_s`.
std::vector<Field> moments_fields(const Moments& m, double elapsed_s);

// The stats of the lowest ⌊threshold·n/100⌋ samples (threshold < 100); nullopt
// when that is none. Sorts the samples once per interval.
std::optional<std::vector<Field>> percentile_fields(TimerState& t, double threshold,
                                                    double elapsed_s);

// A threshold as its `percentile` tag: shortest round-trip form, "90", "99.9".
std::string shortest(double v);

}  // namespace bucky3::statsd
