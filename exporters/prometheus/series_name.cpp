// Series identity shared by the exporter and remote write; see series_name.h.
#include "exporters/prometheus/series_name.h"

#include <algorithm>
#include <array>

namespace bucky3::prometheus {

namespace {

// The agent's own families (health.h).
bool is_reserved_family(std::string_view name) {
  constexpr std::array<std::string_view, 3> reserved{"bucky3_module_", "bucky3_ring_",
                                                     "bucky3_exporter_"};
  for (const auto prefix : reserved) {
    if (name.starts_with(prefix)) return true;
  }
  return false;
}

void assign_utf8(std::string& out, std::string_view text) {
  out.clear();
  append_valid_utf8(out, text);
}

}  // namespace

bool tags_are_plain_labels(std::span<const TagView> tags) {
  for (std::size_t i = 0; i < tags.size(); ++i) {
    if (!is_plain_metric_name(tags[i].key) || tags[i].key == kFieldLabel) return false;
    if (i > 0 && !(tags[i - 1].key < tags[i].key)) return false;
  }
  return true;
}

std::string_view family_name(std::string_view bucket, std::string& storage) {
  if (is_plain_metric_name(bucket) && !is_reserved_family(bucket)) return bucket;
  storage = sanitize_metric_name(bucket);
  if (is_reserved_family(storage)) storage.insert(0, "user_");
  return storage;
}

void resolve_labels(std::span<const TagView> tags, std::vector<Label>& out) {
  if (out.size() < tags.size()) out.resize(tags.size());
  if (tags_are_plain_labels(tags)) {
    for (std::size_t i = 0; i < tags.size(); ++i) {
      out[i].name.assign(tags[i].key);
      assign_utf8(out[i].value, tags[i].value);
    }
    out.resize(tags.size());
    return;
  }
  struct Candidate {
    std::string name;
    std::size_t index;  // into tags
    bool exact;         // the original key was already a valid, unchanged name
  };
  std::vector<Candidate> candidates;
  candidates.reserve(tags.size());
  for (std::size_t i = 0; i < tags.size(); ++i) {
    auto name = sanitize_label_name(tags[i].key);
    const bool exact = name == tags[i].key;
    candidates.push_back({std::move(name), i, exact});
  }
  // By sanitized name; among names that collide the exact spelling first, then
  // the first by original key.
  std::sort(candidates.begin(), candidates.end(), [&](const Candidate& a, const Candidate& b) {
    if (a.name != b.name) return a.name < b.name;
    if (a.exact != b.exact) return a.exact;
    return std::pair(tags[a.index].key, a.index) < std::pair(tags[b.index].key, b.index);
  });
  std::size_t n = 0;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (i > 0 && candidates[i].name == candidates[i - 1].name) continue;
    out[n].name.assign(candidates[i].name);
    assign_utf8(out[n].value, tags[candidates[i].index].value);
    ++n;
  }
  out.resize(n);
}

void series_labels(std::string_view bucket, std::span<const TagView> tags,
                   std::vector<Label>& out) {
  resolve_labels(tags, out);
  // `__name__` cannot collide with a tag's label: sanitizing gives tags a `tag` prefix
  // before a leading `__`.
  std::string storage;
  const auto family = family_name(bucket, storage);
  const auto at = std::lower_bound(out.begin(), out.end(), std::string_view("__name__"),
                                   [](const Label& l, std::string_view n) { return l.name < n; });
  const auto index = at - out.begin();
  out.emplace(at);
  out[index].name = "__name__";
  out[index].value.assign(family);
}

std::size_t field_label_index(std::span<const Label> labels) {
  const auto at = std::lower_bound(labels.begin(), labels.end(), kFieldLabel,
                                   [](const Label& l, std::string_view n) { return l.name < n; });
  return static_cast<std::size_t>(at - labels.begin());
}

}  // namespace bucky3::prometheus
