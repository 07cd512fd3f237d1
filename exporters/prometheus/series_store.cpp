// The exporter's series and page cache; see series_store.h.
#include "exporters/prometheus/series_store.h"

#include <algorithm>

#include "exporters/prometheus/exposition.h"
#include "exporters/prometheus/series_name.h"

namespace bucky3::prometheus {

SeriesStore::SeriesStore(StoreOptions options) : options_(options) {}

void SeriesStore::render(const std::string& family, const std::string& labels, Series& series) {
  // One scratch buffer, then an exact-size copy: a series' cached text holds no slack.
  static thread_local std::string scratch;
  scratch.clear();
  for (const auto& sample : series.samples) {
    append_sample(scratch, family, labels, sample.field, sample.value, sample.timestamp_ms);
  }
  stats_.text_bytes -= series.lines.size();
  if (scratch.size() > series.lines.capacity() || scratch.size() * 2 < series.lines.capacity()) {
    series.lines = std::string(scratch);
  } else {
    series.lines.assign(scratch);
  }
  stats_.text_bytes += series.lines.size();
  dirty_ = true;
}

void SeriesStore::apply_parts(std::string_view bucket, std::span<const TagView> tags,
                              std::span<const FieldRef> fields,
                              std::optional<std::int64_t> timestamp_ms, Clock::time_point now) {
  if (fields.empty()) return;
  // Most buckets are valid names already: then no string is built for the lookup.
  std::string sanitized;
  const std::string_view name = family_name(bucket, sanitized);
  labels_scratch_.clear();
  append_label_set(labels_scratch_, tags);

  auto family_it = families_.find(name);
  const bool new_family = family_it == families_.end();
  if (new_family) {
    family_it = families_.emplace(std::string(name), Family{std::string(bucket), {}}).first;
  }
  auto& series_map = family_it->second.series;
  auto series_it = series_map.find(labels_scratch_);
  const bool new_series = series_it == series_map.end();
  if (new_series) series_it = series_map.emplace(labels_scratch_, Series{}).first;
  auto& samples = series_it->second.samples;

  bool changed = false;
  for (const auto& field : fields) {
    auto it = std::lower_bound(samples.begin(), samples.end(), field.name,
                               [](const Sample& s, std::string_view f) { return s.field < f; });
    if (it != samples.end() && it->field == field.name) {
      if (it->timestamp_ms && timestamp_ms && *timestamp_ms < *it->timestamp_ms) {
        ++stats_.points_stale;
        continue;
      }
      it->refreshed = now;
      if (it->value == field.value && it->timestamp_ms == timestamp_ms) continue;
      it->value = field.value;
      it->timestamp_ms = timestamp_ms;
      changed = true;
      continue;
    }
    if (stats_.series >= options_.max_series) {
      ++stats_.series_dropped;
      continue;
    }
    samples.insert(it, Sample{std::string(field.name), field.value, timestamp_ms, now});
    ++stats_.series;
    changed = true;
  }

  if (changed) {
    render(family_it->first, series_it->first, series_it->second);
  } else if (new_series && samples.empty()) {
    // Everything was refused by max_series: leave no empty series or family behind.
    family_it->second.series.erase(series_it);
    if (new_family) families_.erase(family_it);
  }
}

std::size_t SeriesStore::evict(Clock::time_point now) {
  std::size_t removed = 0;
  for (auto family_it = families_.begin(); family_it != families_.end();) {
    auto& series_map = family_it->second.series;
    for (auto series_it = series_map.begin(); series_it != series_map.end();) {
      auto& samples = series_it->second.samples;
      const auto before = samples.size();
      std::erase_if(samples,
                    [&](const Sample& s) { return now - s.refreshed > options_.values_timeout; });
      const auto gone = before - samples.size();
      removed += gone;
      if (samples.empty()) {
        stats_.text_bytes -= series_it->second.lines.size();
        series_it = series_map.erase(series_it);
        dirty_ = true;
        continue;
      }
      if (gone) render(family_it->first, series_it->first, series_it->second);
      ++series_it;
    }
    family_it = series_map.empty() ? families_.erase(family_it) : std::next(family_it);
  }
  stats_.series -= removed;
  stats_.evicted += removed;
  return removed;
}

const std::shared_ptr<const std::string>& SeriesStore::text() {
  if (dirty_ || !text_) {
    std::string page;
    page.reserve(stats_.text_bytes + families_.size() * 128);
    for (const auto& [name, family] : families_) {
      append_family_header(page, name, family.bucket);
      for (const auto& [labels, series] : family.series) page += series.lines;
    }
    text_ = std::make_shared<const std::string>(std::move(page));
    gzip_.reset();
    dirty_ = false;
  }
  return text_;
}

ScrapePage SeriesStore::page(bool gzip, std::string_view tail) {
  ScrapePage page;
  page.gzip = gzip;
  const auto& body = text();
  if (!gzip) {
    page.chunks.push_back(body);
    if (!tail.empty()) page.chunks.push_back(std::make_shared<const std::string>(tail));
    return page;
  }
  if (!gzip_) gzip_ = gzip_prefix(*body);
  page.chunks.push_back(gzip_->bytes);
  page.chunks.push_back(std::make_shared<const std::string>(gzip_finish(*gzip_, tail)));
  return page;
}

StoreStats SeriesStore::stats() const {
  auto stats = stats_;
  stats.families = families_.size();
  return stats;
}

}  // namespace bucky3::prometheus
