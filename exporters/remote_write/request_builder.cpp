// Metrics to remote write requests; see request_builder.h.
#include "exporters/remote_write/request_builder.h"

#include <cmath>

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

}  // namespace bucky3::remote_write
