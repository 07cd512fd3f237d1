// Graphite plaintext encoder; see plaintext.h and docs/CARBON.md.
#include "exporters/carbon/plaintext.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace bucky3::carbon {

namespace {

bool is_space_or_control(char c) {
  return static_cast<unsigned char>(c) <= ' ' || c == '\x7f';
}

void append_value(const Number& value, std::string& out) {
  char buffer[32];
  const auto end =
      std::holds_alternative<std::int64_t>(value)
          ? std::to_chars(buffer, buffer + sizeof buffer, std::get<std::int64_t>(value)).ptr
          : std::to_chars(buffer, buffer + sizeof buffer, std::get<double>(value)).ptr;
  out.append(buffer, end);
}

// Floor division, so a negative millisecond timestamp rounds down too.
std::int64_t seconds_of(std::int64_t ms) {
  return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

}  // namespace

void append_token(std::string_view token, std::string& out) {
  for (const char c : token) {
    // `;` too: carbon 1.1 reads it as the start of tags, in any name.
    const bool replaced = c == '/' || c == '.' || c == '*' || c == '[' || c == ']' || c == ';' ||
                          is_space_or_control(c);
    out += replaced ? '_' : c;
  }
}

void append_tag_key(std::string_view key, std::string& out) {
  for (const char c : key) {
    const bool replaced = c == ';' || c == '!' || c == '^' || c == '=' || is_space_or_control(c);
    out += replaced ? '_' : c;
  }
}

void append_tag_value(std::string_view value, std::string& out) {
  if (!value.empty() && value.front() == '~') out += '_';
  for (const char c : value) {
    const bool replaced = c == ';' || is_space_or_control(c);
    out += replaced ? '_' : c;
  }
}

void append_lines(const shm::MetricView& metric, const PathOptions& options, std::int64_t now_s,
                  std::string& out, EncodeStats& stats) {
  // The path without the value name, shared by every value of the metric.
  std::string base;
  const auto add_token = [&](std::string_view token) {
    if (token.empty()) return;
    if (!base.empty()) base += '.';
    append_token(token, base);
  };
  if (!options.prefix.empty()) {
    // The prefix is the user's own dotted path: only whitespace is replaced.
    for (const char c : options.prefix) base += is_space_or_control(c) ? '_' : c;
  }
  const auto tag_value = [&](std::string_view key) -> std::string_view {
    if (key == "bucket") return metric.bucket;
    for (const auto& tag : metric.metadata) {
      if (tag.key == key) return tag.value;
    }
    return {};
  };
  const auto mapped = [&](std::string_view key) {
    return std::find(options.name_mapping.begin(), options.name_mapping.end(), key) !=
           options.name_mapping.end();
  };
  for (const auto& key : options.name_mapping) add_token(tag_value(key));
  // An unmapped bucket goes among the other tags, in key order, as Python
  // Bucky3 did; a tag named `bucket` is shadowed by the bucket (as there).
  const bool bucket_unmapped = !mapped("bucket");
  std::string graphite_tags;
  bool bucket_done = !bucket_unmapped;
  for (const auto& tag : metric.metadata) {
    if (!bucket_done && tag.key > "bucket") {
      add_token(metric.bucket);
      bucket_done = true;
    }
    if (tag.key == "bucket" || mapped(tag.key) || tag.value.empty()) continue;
    if (options.tags) {
      if (tag.key.empty()) continue;  // carbon refuses a tag without a name
      graphite_tags += ';';
      append_tag_key(tag.key, graphite_tags);
      graphite_tags += '=';
      append_tag_value(tag.value, graphite_tags);
    } else {
      add_token(tag.value);
    }
  }
  if (!bucket_done) add_token(metric.bucket);

  const std::int64_t timestamp = metric.timestamp_ms ? seconds_of(*metric.timestamp_ms) : now_s;
  char ts[24];
  const auto ts_end = std::to_chars(ts, ts + sizeof ts, timestamp).ptr;
  std::size_t written = 0;
  for (const auto& field : metric.values) {
    if (std::holds_alternative<double>(field.value) &&
        !std::isfinite(std::get<double>(field.value))) {
      ++stats.values_dropped;
      continue;
    }
    const auto start = out.size();
    out += base;
    // A single value is named `value`, as Python Bucky3 named it: existing
    // Graphite paths (`stats_gauges.<host>.<name>.value`) stay the same.
    if (!base.empty()) out += '.';
    append_token(field.name.empty() ? std::string_view("value") : std::string_view(field.name),
                 out);
    out += graphite_tags;
    out += ' ';
    append_value(field.value, out);
    out += ' ';
    out.append(ts, ts_end);
    out += '\n';
    if (out.size() - start > options.max_line_bytes) {
      out.resize(start);
      ++stats.lines_too_long;
      continue;
    }
    ++stats.lines;
    ++written;
  }
  if (written == 0) ++stats.metrics_dropped;
}

}  // namespace bucky3::carbon
