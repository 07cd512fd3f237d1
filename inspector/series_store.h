// Every series seen in the rings (or in a dump) with its points over the last
// minutes: the data behind the metric browser and the charts. No Qt, no shm I/O.
#pragma once
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "shm/batch_codec.h"
#include "shm/metric.h"

namespace bucky3::inspector {

struct Point {
  std::int64_t time_ms;
  double value;
};

// One plotted line: a bucket, its tags and one of its values.
struct Series {
  std::string bucket;
  std::vector<Tag> tags;  // sorted by key
  std::string field;      // the value's name; empty for a single value
  std::string source;     // the source module it came from
  std::string label;      // "bucket{k=v,...}.field", what --select and the legend use
  std::string tags_text;  // "k=v k2=v2", sorted by key
  // What the browser shows under the bucket: the `name` tag's value (StatsD's
  // metric name) and the field first, as they tell series apart, then the other tags.
  std::string browse_text;
  std::deque<Point> points;  // oldest first
  std::int64_t last_seen_ms = 0;
};

// "stats_counters{host=a,name=foo}.count"; no braces without tags, no ".x" for a
// single value.
std::string series_label(std::string_view bucket, std::span<const TagView> tags,
                         std::string_view field);

class SeriesStore {
 public:
  // Points older than `retention_ms` before the newest time seen are trimmed.
  explicit SeriesStore(std::int64_t retention_ms = 10 * 60 * 1000);

  // Adds one point per value of every metric: at the metric's timestamp, else
  // at `capture_ms` (when the batch was read from the ring or captured).
  void add(const shm::DecodedBatch& batch, std::string_view source, std::int64_t capture_ms);
  // Drops points older than newest time - retention.
  void trim(std::int64_t now_ms);
  void clear();

  std::size_t size() const { return series_.size(); }
  // Indices are stable until clear(): new series are appended.
  const Series& at(std::size_t index) const { return series_[index]; }
  std::optional<std::size_t> find(std::string_view label) const;
  std::int64_t retention_ms() const { return retention_ms_; }
  void set_retention_ms(std::int64_t ms) { retention_ms_ = ms; }
  // Bumped by clear(), so views know their indices are void.
  std::uint64_t generation() const { return generation_; }
  // Earliest and latest point times; {0, 0} when empty.
  std::pair<std::int64_t, std::int64_t> time_span() const { return {first_ms_, last_ms_}; }
  std::size_t point_count() const { return point_count_; }

 private:
  std::size_t series_for(const shm::MetricView& metric, std::string_view field,
                         std::string_view source);

  std::int64_t retention_ms_;
  std::vector<Series> series_;
  std::unordered_map<std::string, std::size_t> by_key_;
  std::unordered_map<std::string, std::size_t> by_label_;
  std::string key_;  // reused lookup buffer, so a known series costs no allocation
  std::uint64_t generation_ = 0;
  std::int64_t first_ms_ = 0, last_ms_ = 0;
  std::size_t point_count_ = 0;
};

}  // namespace bucky3::inspector
