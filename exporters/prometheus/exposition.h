// Prometheus text exposition format 0.0.4: name sanitizing, label escaping and
// sample lines. Pure functions over strings; the series store decides what to render.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "shm/metric.h"

namespace bucky3::prometheus {

// Metric (family) name: bytes outside [A-Za-z0-9_] become `_` (one `_` per UTF-8
// character), a leading digit gets a `_` prefix, a name that would start with the
// reserved `__` gets the prefix `metric`, an empty name becomes `_`.
std::string sanitize_metric_name(std::string_view name);

// Label name: as metric names, except that the reserved `__` prefix gets the prefix
// `tag` and a tag named `value` (ours, for named values) becomes `tag_value`.
std::string sanitize_label_name(std::string_view name);

// Appends a label value or HELP text with `\\`, `\"` (label values only) and `\n`
// escaped; invalid UTF-8 becomes U+FFFD, since Prometheus rejects it.
void append_label_value(std::string& out, std::string_view value);
void append_help_text(std::string& out, std::string_view text);
// Appends `text` unescaped, invalid UTF-8 bytes each replaced by U+FFFD.
void append_valid_utf8(std::string& out, std::string_view text);

// Integers exact; doubles in shortest round-trip form; `NaN`, `+Inf`, `-Inf`.
void append_number(std::string& out, const Number& value);

// True when `name` is used unchanged as a metric name (valid, not reserved).
bool is_plain_metric_name(std::string_view name);

// Appends `a="1",b="x\"y"`: the labels of resolve_labels() (series_name.h) rendered:
// sorted by sanitized name, a sample never repeats a label. Tags sorted by key with
// valid names (the usual case) take a path without sorting or copying.
void append_label_set(std::string& out, std::span<const TagView> tags);
std::string render_label_set(const std::vector<Tag>& tags);

// `# HELP <family> Bucky3 bucket <bucket>` and `# TYPE <family> gauge`.
void append_family_header(std::string& out, std::string_view family, std::string_view bucket);

// One sample line: `family{labels,value="field"} value [timestamp_ms]\n`. `labels` is a
// render_label_set() result; `field` empty for a single value.
void append_sample(std::string& out, std::string_view family, std::string_view labels,
                   std::string_view field, const Number& value,
                   std::optional<std::int64_t> timestamp_ms);

}  // namespace bucky3::prometheus
