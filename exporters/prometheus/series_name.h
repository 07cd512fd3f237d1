// Series identity shared by prometheus_exporter and remote_write_client: the same
// metric value gets the same metric name and label set whether scraped or pushed.
#pragma once
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "exporters/prometheus/exposition.h"

namespace bucky3::prometheus {

// The label a named value's field goes into; a user tag spelled so is `tag_value`.
inline constexpr std::string_view kFieldLabel = "value";

// The metric (family) name of a bucket: sanitize_metric_name(), and a bucket that
// would spell one of the agent's own health families (`bucky3_module_`,
// `bucky3_ring_`, `bucky3_exporter_`) gets the prefix `user_`. Returns `bucket`
// itself when it is used unchanged (the usual case, no copy), else a view of `storage`.
std::string_view family_name(std::string_view bucket, std::string& storage);

// True when the tags are their own labels: sorted by key, unique, every key a valid
// label name other than `value` (the usual case: nothing to sanitize or sort).
bool tags_are_plain_labels(std::span<const TagView> tags);

// One label of a series, names sanitized, values valid UTF-8 (invalid bytes become
// U+FFFD, as on the exporter's page), unescaped.
struct Label {
  std::string name;
  std::string value;
};

// The labels of a series from its tags: sanitized names (sanitize_label_name()),
// sorted by name, unique (of tags whose names sanitize alike, the one already
// spelled validly, else the first by original key). `out` is reused: its strings
// keep their capacity, so naming a series again allocates nothing.
// append_label_set() renders exactly these labels.
void resolve_labels(std::span<const TagView> tags, std::vector<Label>& out);

// The labels of a metric's series as remote write sends them: `__name__` =
// family_name(bucket) and the tags' labels, sorted by name as the remote write
// spec asks. A named value's sample adds `value="<field>"` at
// field_label_index(labels), which keeps the set sorted; a single value adds nothing.
void series_labels(std::string_view bucket, std::span<const TagView> tags, std::vector<Label>& out);
std::size_t field_label_index(std::span<const Label> labels);

}  // namespace bucky3::prometheus
