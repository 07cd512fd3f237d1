// Metrics to remote write requests: series named as prometheus_exporter names them,
// at most max_samples_per_send samples per request, never a series twice for one
// timestamp nor backwards in time, and staleness markers for series that stopped.
// Pure: no I/O; the module (module.cpp) sends what it builds.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "exporters/prometheus/series_name.h"
#include "exporters/remote_write/write_request.h"
#include "shm/metric.h"

namespace bucky3::remote_write {

struct BuilderOptions {
  std::size_t max_samples_per_send = 2000;
  std::chrono::milliseconds values_timeout{60'000};
  // After its staleness marker a series is remembered this long, so a late point
  // older than the marker is refused here rather than by the receiver (a 400 that
  // would take a whole request with it).
  std::chrono::milliseconds tombstone_keep{3'600'000};
  bool keep_uncompressed = false;  // Request::uncompressed filled (replay output)
};

struct Request {
  std::string body;          // snappy-compressed WriteRequest
  std::string uncompressed;  // the protobuf bytes, when keep_uncompressed
  std::size_t samples = 0;
  std::size_t uncompressed_bytes = 0;
};

struct BuilderStats {
  std::uint64_t samples = 0;  // put into requests (staleness markers included)
  std::uint64_t requests = 0;
  std::uint64_t uncompressed_bytes = 0;
  std::uint64_t compressed_bytes = 0;
  std::uint64_t drops_duplicate = 0;     // a point with the timestamp already sent
  std::uint64_t drops_out_of_order = 0;  // a point older than one already sent
  std::uint64_t stale_markers = 0;
  std::size_t series = 0;  // tracked, tombstones included
};

class RequestBuilder {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RequestBuilder(BuilderOptions options);

  // Adds one metric's samples (one per value); requests that reach
  // max_samples_per_send are moved to `out`. A metric without a timestamp gets
  // `read_time_ms`, or 1 ms after its series' last point when that is not earlier,
  // so a backlog read within one millisecond keeps every point. A metric with its
  // own timestamp at or before its series' last point is dropped and counted.
  // `metric` is a bucky3::Metric or a shm::MetricView.
  template <class MetricLike>
  void add(const MetricLike& metric, std::int64_t read_time_ms, Clock::time_point now,
           std::vector<Request>& out) {
    tags_.clear();
    for (const auto& tag : metric.metadata) tags_.push_back({tag.key, tag.value});
    fields_.clear();
    for (const auto& field : metric.values) fields_.push_back({field.name, to_double(field.value)});
    add_parts(metric.bucket, metric.timestamp_ms, read_time_ms, now, out);
  }

  // Moves the request being filled, if any, to `out`.
  void finish(std::vector<Request>& out);

  // One staleness marker (stale_nan()) for each series not refreshed within
  // values_timeout, 1 ms after its last point (graphs end where the data ends);
  // forgets tombstones older than tombstone_keep. Call finish() after it.
  void add_stale_markers(Clock::time_point now, std::vector<Request>& out);

  const BuilderStats& stats() const { return stats_; }

  // The live series (not yet ended by a marker) as bytes, for a module restarted
  // after a kill -9 to end the ones nobody refreshes (docs/REMOTE_WRITE.md,
  // "Staleness markers across a restart"). Each series: its encoded labels, its last
  // timestamp and when it was last refreshed (wall clock, from `now` and
  // `now_wall_ms`). At most `max_bytes`: past it the rest is left out and
  // `truncated` set. False when nothing changed since the last save (nothing written).
  struct SaveResult {
    std::size_t series = 0;
    bool truncated = false;
  };
  bool save(std::string& out, Clock::time_point now, std::int64_t now_wall_ms,
            std::size_t max_bytes, SaveResult& result);
  // Takes in what save() wrote: each series is tracked as live with its last
  // timestamp and refresh time, so add_stale_markers() ends it after values_timeout
  // unless a point refreshes it first. A restored series takes its next point as a
  // new series would (no duplicate or order check against the saved timestamp: the
  // ring gives the batches the killed process had not committed again, at least once).
  // Its marker comes 1 ms after the saved timestamp or at `now_wall_ms`, the later:
  // the killed process may have sent points after its last save, and a marker before
  // one would be refused (out of order). Returns the number of
  // series loaded, or nullopt (nothing loaded) when the bytes are not a saved set.
  std::optional<std::size_t> load(std::string_view bytes, Clock::time_point now,
                                  std::int64_t now_wall_ms);

 private:
  struct Field {
    std::string_view name;
    double value;
  };
  struct Series {
    std::int64_t last_timestamp_ms = 0;
    Clock::time_point refreshed;
    bool stale = false;     // its marker is sent; kept as a tombstone
    bool restored = false;  // loaded from a saved set, no point since
  };

  void add_parts(std::string_view bucket, std::optional<std::int64_t> timestamp_ms,
                 std::int64_t read_time_ms, Clock::time_point now, std::vector<Request>& out);
  void append(std::string_view encoded_labels, SampleValue sample, std::vector<Request>& out);

  BuilderOptions options_;
  BuilderStats stats_;
  // By the series' encoded labels (encode_labels()): its identity, and what a
  // staleness marker is written with.
  std::unordered_map<std::string, Series> series_;
  bool changed_since_save_ = false;
  std::int64_t restore_floor_ms_ = 0;  // wall clock of load(): restored markers not before it
  WriteRequestEncoder encoder_;
  // Scratch, reused by every add().
  std::vector<TagView> tags_;
  std::vector<Field> fields_;
  std::vector<prometheus::Label> labels_;
  std::vector<LabelView> views_;
  std::string key_;
};

}  // namespace bucky3::remote_write
