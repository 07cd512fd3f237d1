// Metrics to remote write requests; see request_builder.h.
#include "exporters/remote_write/request_builder.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace bucky3::remote_write {

RequestBuilder::RequestBuilder(BuilderOptions options) : options_(options) {
  if (options_.max_samples_per_send == 0) options_.max_samples_per_send = 1;
}

void RequestBuilder::add_parts(std::string_view bucket, std::optional<std::int64_t> timestamp_ms,
                               std::int64_t read_time_ms, Clock::time_point now,
                               std::vector<Request>& out) {
  if (fields_.empty()) return;
  prometheus::series_labels(bucket, tags_, labels_);
  // An empty label value is no label in Prometheus (a scrape of the exporter's page
  // drops it too), so the series is the same either way.
  std::erase_if(labels_, [](const prometheus::Label& l) { return l.value.empty(); });
  const auto field_at = prometheus::field_label_index(labels_);
  for (const auto& field : fields_) {
    std::optional<LabelView> extra;
    if (!field.name.empty()) extra = LabelView{prometheus::kFieldLabel, field.name};
    label_views(std::span<const prometheus::Label>(labels_), extra, field_at, views_);
    encode_labels(views_, key_);
    auto [it, inserted] = series_.try_emplace(key_);
    Series& series = it->second;
    std::int64_t ts = timestamp_ms.value_or(read_time_ms);
    changed_since_save_ = true;
    if (series.restored) {
      // As a new series, but never a marker at or before the saved timestamp; a
      // point without its own timestamp still moves forward from it.
      series.restored = false;
      if (!timestamp_ms && ts <= series.last_timestamp_ms) ts = series.last_timestamp_ms + 1;
      const double value = is_stale_nan(field.value) ? std::nan("") : field.value;
      series.last_timestamp_ms = std::max(series.last_timestamp_ms, ts);
      series.refreshed = now;
      series.stale = false;
      append(it->first, {value, ts}, out);
      continue;
    }
    if (!inserted) {
      if (!timestamp_ms && ts <= series.last_timestamp_ms) ts = series.last_timestamp_ms + 1;
      if (ts == series.last_timestamp_ms) {
        ++stats_.drops_duplicate;
        continue;
      }
      if (ts < series.last_timestamp_ms) {
        ++stats_.drops_out_of_order;
        continue;
      }
    }
    series.last_timestamp_ms = ts;
    series.refreshed = now;
    series.stale = false;
    // A value that happens to carry the marker's bit pattern is sent as a plain NaN.
    const double value = is_stale_nan(field.value) ? std::nan("") : field.value;
    append(it->first, {value, ts}, out);
  }
  stats_.series = series_.size();
}

void RequestBuilder::append(std::string_view encoded_labels, SampleValue sample,
                            std::vector<Request>& out) {
  encoder_.add_series_encoded(encoded_labels, std::span(&sample, 1));
  if (encoder_.samples() >= options_.max_samples_per_send) finish(out);
}

void RequestBuilder::finish(std::vector<Request>& out) {
  if (encoder_.samples() == 0) return;
  Request request;
  snappy_compress(encoder_.bytes(), request.body);
  request.samples = encoder_.samples();
  request.uncompressed_bytes = encoder_.bytes().size();
  if (options_.keep_uncompressed) request.uncompressed = std::string(encoder_.bytes());
  ++stats_.requests;
  stats_.samples += request.samples;
  stats_.uncompressed_bytes += request.uncompressed_bytes;
  stats_.compressed_bytes += request.body.size();
  out.push_back(std::move(request));
  encoder_.clear();
}

void RequestBuilder::add_stale_markers(Clock::time_point now, std::vector<Request>& out) {
  for (auto it = series_.begin(); it != series_.end();) {
    Series& series = it->second;
    if (series.stale) {
      it = now - series.refreshed > options_.tombstone_keep ? series_.erase(it) : std::next(it);
      continue;
    }
    if (now - series.refreshed > options_.values_timeout) {
      changed_since_save_ = true;
      // A restored series may have had points sent after the save: its marker comes
      // no earlier than the restart, which is after all of them.
      if (series.restored)
        series.last_timestamp_ms = std::max(series.last_timestamp_ms, restore_floor_ms_ - 1);
      series.restored = false;
      series.last_timestamp_ms += 1;
      series.stale = true;
      series.refreshed = now;  // the tombstone's age
      ++stats_.stale_markers;
      append(it->first, {stale_nan(), series.last_timestamp_ms}, out);
    }
    ++it;
  }
  stats_.series = series_.size();
}

namespace {

// The saved set: "B3SERIES", u32 version 1, u32 count, then per series
// u32 label bytes, the labels as encode_labels() wrote them, i64 last timestamp ms,
// i64 last refresh (wall clock ms). Little-endian (the file never leaves the host).
constexpr std::string_view kSeriesMagic = "B3SERIES";
constexpr std::uint32_t kSeriesVersion = 1;
constexpr std::size_t kSeriesHeader = 16;

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <class T>
bool get(std::string_view& in, T& v) {
  if (in.size() < sizeof v) return false;
  std::memcpy(&v, in.data(), sizeof v);
  in.remove_prefix(sizeof v);
  return true;
}

}  // namespace

bool RequestBuilder::save(std::string& out, Clock::time_point now, std::int64_t now_wall_ms,
                          std::size_t max_bytes, SaveResult& result) {
  result = {};
  if (!changed_since_save_) return false;
  changed_since_save_ = false;
  out.clear();
  out += kSeriesMagic;
  put(out, kSeriesVersion);
  put(out, std::uint32_t{0});  // the count, set below
  std::uint32_t count = 0;
  for (const auto& [labels, series] : series_) {
    if (series.stale) continue;
    const std::size_t bytes = 4 + labels.size() + 16;
    if (out.size() + bytes > max_bytes || count == UINT32_MAX) {
      result.truncated = true;
      break;
    }
    put(out, static_cast<std::uint32_t>(labels.size()));
    out += labels;
    put(out, series.last_timestamp_ms);
    const auto age =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - series.refreshed).count();
    put(out, now_wall_ms - age);
    ++count;
  }
  std::memcpy(out.data() + 12, &count, 4);
  result.series = count;
  return true;
}

std::optional<std::size_t> RequestBuilder::load(std::string_view bytes, Clock::time_point now,
                                                std::int64_t now_wall_ms) {
  if (bytes.size() < kSeriesHeader || bytes.substr(0, 8) != kSeriesMagic) return std::nullopt;
  bytes.remove_prefix(8);
  std::uint32_t version = 0, count = 0;
  get(bytes, version);
  get(bytes, count);
  if (version != kSeriesVersion) return std::nullopt;
  // Checked whole before anything is taken in: a damaged file loads nothing.
  struct Entry {
    std::string_view labels;
    std::int64_t last_timestamp_ms, refreshed_wall_ms;
  };
  std::vector<Entry> entries;
  entries.reserve(std::min<std::size_t>(count, bytes.size() / 20));
  for (std::uint32_t i = 0; i < count; ++i) {
    std::uint32_t size = 0;
    Entry e{};
    if (!get(bytes, size) || bytes.size() < size) return std::nullopt;
    e.labels = bytes.substr(0, size);
    bytes.remove_prefix(size);
    if (!get(bytes, e.last_timestamp_ms) || !get(bytes, e.refreshed_wall_ms)) return std::nullopt;
    entries.push_back(e);
  }
  if (!bytes.empty()) return std::nullopt;
  std::size_t loaded = 0;
  restore_floor_ms_ = now_wall_ms;
  for (const auto& e : entries) {
    auto [it, inserted] = series_.try_emplace(std::string(e.labels));
    if (!inserted) continue;  // already seen by this process: its own state wins
    Series& series = it->second;
    series.last_timestamp_ms = e.last_timestamp_ms;
    // A refresh "in the future" (the wall clock stepped back) counts as now.
    const auto age = std::max<std::int64_t>(0, now_wall_ms - e.refreshed_wall_ms);
    series.refreshed = now - std::chrono::milliseconds(age);
    series.restored = true;
    ++loaded;
  }
  stats_.series = series_.size();
  if (loaded) changed_since_save_ = true;
  return loaded;
}

}  // namespace bucky3::remote_write
