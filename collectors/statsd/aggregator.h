// collectors/statsd/aggregator.h — StatsD samples to per-interval aggregates
// (DESIGN "StatsD"). Pure: the caller brings the datagrams and the clock.
// rotate() is O(1) and the finished interval is drained into Metrics in small
// steps, so the reader never pauses for a flush.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collectors/statsd/line_parser.h"
#include "shm/metric.h"

namespace bucky3::statsd {

// One `histogram_bins` rule: the first rule whose `matches` accepts a series
// gives its bins. `matches` sees the metric name and the line's sorted tags;
// it runs once per new timer series, never per line.
struct HistogramRule {
  std::function<bool(std::string_view name, const std::vector<bucky3::Tag>& tags)> matches;
  std::vector<std::pair<std::string, double>> bins;  // bin name, upper bound (may be +inf)
};

// No defaults here: the config schema (daemon/config/options.cpp) is their one
// source, and statsd::default_aggregator_options() (options.h) fills every field
// from it. A value-initialized AggregatorOptions keeps no series (max_series 0).
struct AggregatorOptions {
  std::vector<double> percentile_thresholds;  // each in (0, 100]
  std::vector<HistogramRule> histogram_rules;
  std::string timers_bucket;
  std::string histograms_bucket;
  std::string sets_bucket;
  std::string gauges_bucket;
  std::string counters_bucket;
  std::size_t max_series = 0;
  std::size_t timer_sample_limit = 0;
  double timestamp_window_s = 0;
  // Repeated lines skip tag parsing (see docs/STATSD.md). Off only to check
  // that the cache changes nothing (fuzz_line_parser compares both).
  bool line_cache = true;
};

// Totals since the Aggregator was made; the caller reports deltas.
struct ParseStats {
  std::uint64_t lines = 0;  // non-empty lines seen, whatever became of them
  std::uint64_t invalid = 0;
  std::uint64_t service_checks = 0;
  std::uint64_t events = 0;
  std::uint64_t out_of_window = 0;     // own timestamp too far from now
  std::uint64_t series_cap_drops = 0;  // lines with a sample refused by max_series
};

class IntervalData;
struct AggregatorConfig;

class Aggregator {
 public:
  using InvalidLineHandler = std::function<void(const ParseError& error, std::string_view line)>;

  // `now_ms` starts the first interval.
  Aggregator(AggregatorOptions options, std::int64_t now_ms);
  ~Aggregator();
  Aggregator(const Aggregator&) = delete;
  Aggregator& operator=(const Aggregator&) = delete;

  // Parses and aggregates every line of one datagram ('\n' or "\r\n"
  // separated). Each invalid line is skipped, counted and handed to
  // `on_invalid` (may be empty) while the other lines are used.
  void add_datagram(std::string_view payload, std::int64_t now_ms,
                    const InvalidLineHandler& on_invalid = {});

  const ParseStats& stats() const { return stats_; }
  // Distinct series in the current interval.
  std::size_t series() const;
  // Bytes held by the current interval (tables, keys, samples), by allocator accounting.
  std::size_t memory_bytes() const;

  // A finished interval: drain it into Metrics between receive calls.
  class Interval {
   public:
    explicit Interval(std::unique_ptr<IntervalData> data);
    ~Interval();
    Interval(const Interval&) = delete;
    Interval& operator=(const Interval&) = delete;

    // Appends at most `max_metrics` metrics to `out`; true while more remain.
    bool drain(std::vector<bucky3::Metric>& out, std::size_t max_metrics);
    // The `n` metric names holding the most series, most first (ties by name).
    // O(series): meant for once an interval, when series_cap_drops() > 0.
    std::vector<std::pair<std::string, std::size_t>> top_names(std::size_t n) const;
    std::uint64_t series_cap_drops() const;
    std::size_t series() const;
    std::int64_t start_ms() const;
    std::int64_t end_ms() const;

   private:
    friend class Aggregator;
    std::unique_ptr<IntervalData> data_;
  };

  // O(1): ends the current interval at `now_ms`, starts the next one and hands
  // back the finished one (its elapsed time is now − its start). Freeing an
  // interval is O(series): drop it after draining, between receive calls.
  std::unique_ptr<Interval> rotate(std::int64_t now_ms);

  // Hands a drained interval back (instead of dropping it; same cost, between
  // receive calls): its tables, arrays and key chunks are emptied and kept for
  // the next rotate(), which uses them when they are the size a new interval
  // would get. A steady load then allocates nothing per interval; a new
  // interval every 10 s made the heap step by hundreds of KiB (docs/RELIABILITY.md,
  // "Soak"). What comes out is the same either way.
  void recycle(std::unique_ptr<Interval> drained);

 private:
  void add_line(std::string_view line, std::int64_t now_ms, const InvalidLineHandler& on_invalid);

  std::shared_ptr<const AggregatorConfig> config_;
  std::unique_ptr<IntervalData> current_;
  std::unique_ptr<IntervalData> spare_;  // a drained interval, emptied, for the next rotate()
  ParseStats stats_;
  ParsedLine parsed_;          // reused for every line: no allocation once warm
  std::string key_;            // canonical series key scratch
  std::size_t size_hint_ = 0;  // the last interval's series count, to presize the next
};

}  // namespace bucky3::statsd
