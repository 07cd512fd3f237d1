// Matching and filter rules; see filters.h.
#include "daemon/config/filters.h"

#include <algorithm>

#include "daemon/config/scalars.h"

namespace bucky3::config {

Pattern compile_pattern(std::string_view text) {
  Pattern out;
  out.text.assign(text);
  out.regex.assign(text.begin(), text.end(), std::regex::ECMAScript | std::regex::optimize);
  std::string_view body = text;
  const bool anchored_start = body.starts_with('^');
  if (anchored_start) body.remove_prefix(1);
  const bool anchored_end = body.ends_with('$');
  if (anchored_end) body.remove_suffix(1);
  // Without ECMAScript syntax characters the regex is the literal string itself
  // (^ and $ anchor only at the ends: the multiline flag is never set).
  if (body.find_first_of("\\^$.|?*+()[]{}") == std::string_view::npos) {
    using L = Pattern::Literal;
    out.literal.assign(body);
    out.literal_kind = anchored_start ? (anchored_end ? L::exact : L::prefix)
                                      : (anchored_end ? L::suffix : L::contains);
  }
  return out;
}

bool Pattern::search(std::string_view value) const {
  switch (literal_kind) {
    case Literal::contains: return value.find(literal) != std::string_view::npos;
    case Literal::prefix: return value.starts_with(literal);
    case Literal::suffix: return value.ends_with(literal);
    case Literal::exact: return value == literal;
    case Literal::none: break;
  }
  return std::regex_search(value.begin(), value.end(), regex);
}

namespace {

const std::string* find_tag(const std::vector<bucky3::Tag>& tags, std::string_view key) {
  auto it = std::lower_bound(tags.begin(), tags.end(), key,
                             [](const bucky3::Tag& t, std::string_view k) { return t.key < k; });
  if (it == tags.end() || it->key != key) return nullptr;
  return &it->value;
}

}  // namespace

bool Match::matches(std::string_view bucket_name,
                    const std::vector<bucky3::Tag>& sorted_tags) const {
  if (bucket && !bucket->search(bucket_name)) return false;
  if (name) {
    const std::string* value = find_tag(sorted_tags, "name");
    if (!value || !name->search(*value)) return false;
  }
  for (const auto& [key, pattern] : metadata) {
    const std::string* value = find_tag(sorted_tags, key);
    if (!value || !pattern.search(*value)) return false;
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

Pattern parse_pattern(const ConfigNode& node) {
  const std::string& text = node.scalar("a regex");
  // std::regex compiles recursively; a bound keeps a hostile pattern from
  // exhausting the stack at startup.
  if (text.size() > 4096) node.fail("regex longer than 4096 characters");
  try {
    return compile_pattern(text);
  } catch (const std::regex_error& e) {
    node.fail("invalid regex " + quote(text) + ": " + e.what());
  }
}

Match parse_match(const ConfigNode& node) {
  Match out;
  for (const auto& e : node.entries()) {
    if (e.key == "bucket") {
      out.bucket = parse_pattern(e.value);
    } else if (e.key == "name") {
      out.name = parse_pattern(e.value);
    } else if (e.key == "metadata") {
      for (const auto& m : e.value.entries()) {
        std::string key = m.key_node.scalar("a tag name");
        if (key.empty()) m.key_node.fail("tag names must not be empty");
        out.metadata.emplace_back(std::move(key), parse_pattern(m.value));
      }
    } else {
      e.key_node.fail("unknown match key; expected bucket, name or metadata");
    }
  }
  return out;
}

}  // namespace bucky3::config
