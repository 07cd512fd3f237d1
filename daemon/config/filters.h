// Metric matching and the `filters` rules (DESIGN "filters"): compiled once at
// config load, applied by source modules to every metric before batching.
#pragma once
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/config/node.h"
#include "shm/metric.h"

namespace bucky3::config {

// A compiled regex together with the text it came from (for logs and tests).
// Patterns without regex syntax ("latency", "^debug_", "^prod$") are matched
// as plain strings: several times faster than std::regex on the hot path.
struct Pattern {
  enum class Literal { none, contains, prefix, suffix, exact };
  std::string text;
  std::regex regex;
  Literal literal_kind = Literal::none;
  std::string literal;  // `text` without its ^/$ anchors, when literal_kind != none

  bool search(std::string_view value) const;
};

// Compiles `text` as an ECMAScript regex (optimized); throws std::regex_error.
Pattern compile_pattern(std::string_view text);

// Conditions of a `match:` map; every condition given must hold. Regexes search
// (unanchored) unless written with ^/$. An empty Match holds for every metric.
struct Match {
  std::optional<Pattern> bucket;
  std::optional<Pattern> name;                            // on the `name` tag
  std::vector<std::pair<std::string, Pattern>> metadata;  // key -> regex on its value

  bool matches(const bucky3::Metric& m) const { return matches(m.bucket, m.metadata); }
  // `sorted_tags` sorted by key, as in Metric. A condition on an absent tag fails.
  bool matches(std::string_view bucket, const std::vector<bucky3::Tag>& sorted_tags) const;
  bool empty() const { return !bucket && !name && metadata.empty(); }
};

// One `filters:` rule. Actions run in this order: drop, set_metadata,
// remove_metadata, bucket.
struct FilterRule {
  Match match;
  bool drop = false;
  std::vector<bucky3::Tag> set_metadata;  // sorted by key
  std::vector<std::string> remove_metadata;
  std::optional<std::string> bucket;
};

// Runs `rules` in order on `metric`, each rule seeing the result of the ones
// before. Returns false when a rule dropped the metric (later rules do not run).
bool apply_filters(const std::vector<FilterRule>& rules, bucky3::Metric& metric);

// A `match:` map and a regex as written in the config (filters, and modules'
// own rules such as statsd_server's histogram_bins); throw ConfigError.
Match parse_match(const ConfigNode& node);
Pattern parse_pattern(const ConfigNode& node);

}  // namespace bucky3::config
