// Matching and filter rules; see filters.h.
#include "daemon/config/filters.h"

#include <algorithm>

namespace bucky3::config {

Pattern compile_pattern(std::string_view text) {
  return Pattern{std::string(text), std::regex(text.begin(), text.end(),
                                               std::regex::ECMAScript | std::regex::optimize)};
}

namespace {

const std::string* find_tag(const std::vector<bucky3::Tag>& tags, std::string_view key) {
  auto it = std::lower_bound(tags.begin(), tags.end(), key,
                             [](const bucky3::Tag& t, std::string_view k) { return t.key < k; });
  if (it == tags.end() || it->key != key) return nullptr;
  return &it->value;
}

bool search(const Pattern& p, std::string_view text) {
  return std::regex_search(text.begin(), text.end(), p.regex);
}

}  // namespace

bool Match::matches(std::string_view bucket_name,
                    const std::vector<bucky3::Tag>& sorted_tags) const {
  if (bucket && !search(*bucket, bucket_name)) return false;
  if (name) {
    const std::string* value = find_tag(sorted_tags, "name");
    if (!value || !search(*name, *value)) return false;
  }
  for (const auto& [key, pattern] : metadata) {
    const std::string* value = find_tag(sorted_tags, key);
    if (!value || !search(pattern, *value)) return false;
  }
  return true;
}

bool apply_filters(const std::vector<FilterRule>& rules, bucky3::Metric& metric) {
  for (const auto& rule : rules) {
    if (!rule.match.matches(metric)) continue;
    if (rule.drop) return false;
    for (const auto& tag : rule.set_metadata) metric.set_tag(tag.key, tag.value);
    for (const auto& key : rule.remove_metadata) metric.remove_tag(key);
    if (rule.bucket) metric.bucket = *rule.bucket;
  }
  return true;
}

}  // namespace bucky3::config
