// The metric model every module shares: bucket, sorted string tags, optional
// millisecond timestamp, a kind hint, and one value or named values.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace bucky3 {

// A hint for destinations; it never changes how values are stored.
enum class MetricKind : std::uint8_t {
  unspecified = 0,
  counter = 1,
  gauge = 2,
  set = 3,
  timer = 4,      // timer or histogram statistics
  histogram = 5,  // histogram bin statistics
  sample = 6,     // a collector's sample of the system
};
std::string_view to_string(MetricKind kind);

// Integers stay integers end to end (collector counters); StatsD aggregates are doubles.
using Number = std::variant<std::int64_t, double>;

struct Tag {
  std::string key;
  std::string value;
  friend bool operator==(const Tag&, const Tag&) = default;
};

// A tag that points into someone else's storage: a datagram being parsed, a
// decoded ring record, a Metric. Valid only as long as that storage.
struct TagView {
  std::string_view key;
  std::string_view value;
};

struct Field {
  std::string name;  // empty for a metric's single value
  Number value;
  friend bool operator==(const Field&, const Field&) = default;
};

struct Metric {
  std::string bucket;
  std::vector<Tag> metadata;  // sorted by key, keys unique
  std::optional<std::int64_t> timestamp_ms;
  MetricKind kind = MetricKind::unspecified;
  // Exactly one Field with an empty name is a single value; otherwise named
  // values in the order the source produced them.
  std::vector<Field> values;

  bool has_single_value() const { return values.size() == 1 && values[0].name.empty(); }
  // nullptr when absent.
  const std::string* tag(std::string_view key) const;
  // Inserts or replaces, keeping metadata sorted.
  void set_tag(std::string_view key, std::string_view value);
  void remove_tag(std::string_view key);

  friend bool operator==(const Metric&, const Metric&) = default;
};

// Sorts tags by key; of repeated keys the last one given wins.
void normalize_metadata(std::vector<Tag>& tags);

inline double to_double(const Number& n) {
  return std::holds_alternative<double>(n) ? std::get<double>(n)
                                           : static_cast<double>(std::get<std::int64_t>(n));
}

}  // namespace bucky3
