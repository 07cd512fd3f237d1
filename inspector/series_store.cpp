// The series behind the metric browser; see series_store.h.
#include "inspector/series_store.h"

#include <algorithm>

namespace bucky3::inspector {

std::string series_label(std::string_view bucket, std::span<const TagView> tags,
                         std::string_view field) {
  std::string label(bucket);
  if (!tags.empty()) {
    label += '{';
    for (std::size_t i = 0; i < tags.size(); ++i) {
      if (i) label += ',';
      label.append(tags[i].key).append("=").append(tags[i].value);
    }
    label += '}';
  }
  if (!field.empty()) label.append(".").append(field);
  return label;
}

SeriesStore::SeriesStore(std::int64_t retention_ms) : retention_ms_(retention_ms) {}

std::size_t SeriesStore::series_for(const shm::MetricView& metric, std::string_view field,
                                    std::string_view source) {
  // \x1f and \x1e cannot appear in a bucket, tag or value name that StatsD or a
  // collector produces; a clash would only merge two lines of the display.
  key_.assign(metric.bucket);
  for (const auto& tag : metric.metadata)
    key_.append("\x1f").append(tag.key).append("\x1e").append(tag.value);
  key_.append("\x1d").append(field);
  if (const auto it = by_key_.find(key_); it != by_key_.end()) return it->second;
  Series series;
  series.bucket = metric.bucket;
  for (const auto& tag : metric.metadata) {
    series.tags.push_back({std::string(tag.key), std::string(tag.value)});
    if (!series.tags_text.empty()) series.tags_text += ' ';
    series.tags_text.append(tag.key).append("=").append(tag.value);
  }
  series.field = field;
  series.source = source;
  // `host` (usually the global metadata, the same on every series) goes last,
  // so the tags that tell series apart stay visible in a narrow column.
  std::string others, host;
  for (const auto& tag : metric.metadata) {
    if (tag.key == "name") {
      series.browse_text.assign(tag.value);
    } else if (tag.key == "host") {
      host.assign("host=").append(tag.value);
    } else {
      if (!others.empty()) others += ' ';
      others.append(tag.key).append("=").append(tag.value);
    }
  }
  if (!host.empty()) others += others.empty() ? host : " " + host;
  if (!field.empty()) {
    if (!series.browse_text.empty()) series.browse_text += " · ";
    series.browse_text.append(field);
  }
  if (!others.empty()) {
    if (!series.browse_text.empty()) series.browse_text += "   ";
    series.browse_text += others;
  }
  if (series.browse_text.empty()) series.browse_text = "(value)";
  series.label = series_label(metric.bucket, metric.metadata, field);
  const std::size_t index = series_.size();
  by_label_.emplace(series.label, index);
  series_.push_back(std::move(series));
  by_key_.emplace(key_, index);
  return index;
}

void SeriesStore::add(const shm::DecodedBatch& batch, std::string_view source,
                      std::int64_t capture_ms) {
  for (const auto& metric : batch.metrics) {
    const std::int64_t time = metric.timestamp_ms.value_or(capture_ms);
    for (const auto& value : metric.values) {
      auto& series = series_[series_for(metric, value.name, source)];
      const Point point{time, to_double(value.value)};
      // Points normally arrive in time order; a late one is put in its place.
      if (series.points.empty() || series.points.back().time_ms <= time) {
        series.points.push_back(point);
      } else {
        const auto at =
            std::upper_bound(series.points.begin(), series.points.end(), time,
                             [](std::int64_t t, const Point& p) { return t < p.time_ms; });
        series.points.insert(at, point);
      }
      series.last_seen_ms = std::max(series.last_seen_ms, time);
      ++point_count_;
      if (first_ms_ == 0 || time < first_ms_) first_ms_ = time;
      last_ms_ = std::max(last_ms_, time);
    }
  }
}

void SeriesStore::trim(std::int64_t now_ms) {
  const std::int64_t oldest = std::max(now_ms, last_ms_) - retention_ms_;
  std::int64_t first = 0;
  for (auto& series : series_) {
    while (!series.points.empty() && series.points.front().time_ms < oldest) {
      series.points.pop_front();
      --point_count_;
    }
    if (!series.points.empty() && (first == 0 || series.points.front().time_ms < first))
      first = series.points.front().time_ms;
  }
  first_ms_ = first;
}

void SeriesStore::clear() {
  series_.clear();
  by_key_.clear();
  by_label_.clear();
  first_ms_ = last_ms_ = 0;
  point_count_ = 0;
  ++generation_;
}

std::optional<std::size_t> SeriesStore::find(std::string_view label) const {
  if (const auto it = by_label_.find(std::string(label)); it != by_label_.end()) return it->second;
  return std::nullopt;
}

}  // namespace bucky3::inspector
