// Metric helpers; see metric.h.
#include "shm/metric.h"

#include <algorithm>

namespace bucky3 {

std::string_view to_string(MetricKind kind) {
  switch (kind) {
    case MetricKind::unspecified: return "unspecified";
    case MetricKind::counter: return "counter";
    case MetricKind::gauge: return "gauge";
    case MetricKind::set: return "set";
    case MetricKind::timer: return "timer";
    case MetricKind::histogram: return "histogram";
    case MetricKind::sample: return "sample";
  }
  return "unspecified";
}

namespace {
auto find_tag(std::vector<Tag>& tags, std::string_view key) {
  return std::lower_bound(tags.begin(), tags.end(), key,
                          [](const Tag& t, std::string_view k) { return t.key < k; });
}
}  // namespace

const std::string* Metric::tag(std::string_view key) const {
  auto it = std::lower_bound(metadata.begin(), metadata.end(), key,
                             [](const Tag& t, std::string_view k) { return t.key < k; });
  if (it == metadata.end() || it->key != key) return nullptr;
  return &it->value;
}

void Metric::set_tag(std::string_view key, std::string_view value) {
  auto it = find_tag(metadata, key);
  if (it != metadata.end() && it->key == key) {
    it->value.assign(value);
  } else {
    metadata.insert(it, Tag{std::string(key), std::string(value)});
  }
}

void Metric::remove_tag(std::string_view key) {
  auto it = find_tag(metadata, key);
  if (it != metadata.end() && it->key == key) metadata.erase(it);
}

void normalize_metadata(std::vector<Tag>& tags) {
  // stable_sort keeps arrival order among equal keys; keep the last of each run.
  std::stable_sort(tags.begin(), tags.end(),
                   [](const Tag& a, const Tag& b) { return a.key < b.key; });
  std::vector<Tag> out;
  out.reserve(tags.size());
  for (auto& t : tags) {
    if (!out.empty() && out.back().key == t.key) {
      out.back().value = std::move(t.value);
    } else {
      out.push_back(std::move(t));
    }
  }
  tags = std::move(out);
}

}  // namespace bucky3
