// The exporter's series: the newest point of every (family, labels) pair, each
// with its exposition lines cached, and the whole page cached until something changes.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "exporters/prometheus/exposition.h"
#include "exporters/prometheus/scrape_page.h"
#include "shm/metric.h"

namespace bucky3::prometheus {

struct StoreOptions {
  std::chrono::milliseconds values_timeout{60'000};
  std::size_t max_series = 1'000'000;  // exposition samples held
};

struct StoreStats {
  std::size_t series = 0;  // samples on the page
  std::size_t families = 0;
  std::size_t text_bytes = 0;        // cached sample lines, without family headers
  std::uint64_t series_dropped = 0;  // new series refused by max_series
  std::uint64_t evicted = 0;
  std::uint64_t points_stale = 0;  // older than the point held, ignored
};

// Single-threaded, like the module that owns it.
class SeriesStore {
 public:
  using Clock = std::chrono::steady_clock;

  explicit SeriesStore(StoreOptions options = {});

  // A value that points into the caller's storage.
  struct FieldRef {
    std::string_view name;  // empty for a single value
    Number value;
  };

  // One sample per value (named values get label value="<field>"). A sample keeps
  // its newest point: an older timestamp than held is ignored, equal or newer (or
  // none) replaces it. Buckets or tags that sanitize to the same name merge into
  // one family and one series (the newest point wins).
  // `metric` is a bucky3::Metric or a shm::MetricView (members bucket, metadata of
  // {key, value}, values of {name, value}, timestamp_ms): a decoded ring record is
  // applied without an owning copy, and updating a held series allocates nothing.
  template <class MetricLike>
  void apply(const MetricLike& metric, Clock::time_point now) {
    tags_scratch_.clear();
    fields_scratch_.clear();
    for (const auto& tag : metric.metadata) tags_scratch_.push_back({tag.key, tag.value});
    for (const auto& field : metric.values) fields_scratch_.push_back({field.name, field.value});
    apply_parts(metric.bucket, tags_scratch_, fields_scratch_, metric.timestamp_ms, now);
  }
  void apply_parts(std::string_view bucket, std::span<const TagView> tags,
                   std::span<const FieldRef> fields, std::optional<std::int64_t> timestamp_ms,
                   Clock::time_point now);

  // Removes samples not refreshed within values_timeout; returns how many.
  std::size_t evict(Clock::time_point now);

  // The series text (families grouped, sorted by name), rebuilt only after a change.
  const std::shared_ptr<const std::string>& text();

  // The body for one scrape: the cached series text, then `tail` (the agent's own
  // health, which changes on every scrape). With gzip, the deflated series text is
  // cached too and only the tail is compressed per scrape.
  ScrapePage page(bool gzip, std::string_view tail = {});

  StoreStats stats() const;

 private:
  struct Sample {
    std::string field;  // empty for a single value
    Number value;
    std::optional<std::int64_t> timestamp_ms;
    Clock::time_point refreshed;
  };
  struct Series {
    std::vector<Sample> samples;  // sorted by field
    std::string lines;            // cached exposition lines of all samples
  };
  struct Family {
    std::string bucket;                    // first original spelling, for HELP
    std::map<std::string, Series> series;  // by rendered label set
  };

  void render(const std::string& family, const std::string& labels, Series& series);

  StoreOptions options_;
  std::map<std::string, Family, std::less<>> families_;  // by sanitized name
  // Reused by every apply(), so updating a held series allocates nothing.
  std::vector<TagView> tags_scratch_;
  std::vector<FieldRef> fields_scratch_;
  std::string labels_scratch_;
  StoreStats stats_;
  std::shared_ptr<const std::string> text_;
  std::optional<GzipPrefix> gzip_;
  bool dirty_ = true;
};

}  // namespace bucky3::prometheus
