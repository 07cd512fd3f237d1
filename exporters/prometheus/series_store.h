// The exporter's series: the newest point of every (family, labels) pair, each
// with its exposition lines cached, and the whole page cached until something changes.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

  // One sample per value (named values get label value="<field>"). A sample keeps
  // its newest point: an older timestamp than held is ignored, equal or newer (or
  // none) replaces it. Buckets or tags that sanitize to the same name merge into
  // one family and one series (the newest point wins).
  void apply(const Metric& metric, Clock::time_point now);

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
  std::map<std::string, Family> families_;  // by sanitized name
  StoreStats stats_;
  std::shared_ptr<const std::string> text_;
  std::optional<GzipPrefix> gzip_;
  bool dirty_ = true;
};

}  // namespace bucky3::prometheus
