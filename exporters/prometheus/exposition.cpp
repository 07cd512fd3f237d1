// Text exposition format 0.0.4; see exposition.h.
#include "exporters/prometheus/exposition.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "exporters/prometheus/series_name.h"

namespace bucky3::prometheus {

namespace {

bool is_name_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Shared by metric and label names; `reserved_prefix` is put before a name that
// would start with `__`, which Prometheus keeps for its own use.
std::string sanitize(std::string_view name, std::string_view reserved_prefix) {
  std::string out;
  out.reserve(name.size() + 1);
  if (!name.empty() && name[0] >= '0' && name[0] <= '9') out.push_back('_');
  bool previous_was_multibyte = false;
  for (const char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_name_char(c)) {
      out.push_back(ch);
      previous_was_multibyte = false;
    } else if (c >= 0x80 && c <= 0xBF && previous_was_multibyte) {
      // A UTF-8 continuation byte: its character already became one `_`.
    } else {
      out.push_back('_');
      previous_was_multibyte = c >= 0xC0;
    }
  }
  if (out.empty()) return "_";
  if (out.size() >= 2 && out[0] == '_' && out[1] == '_') out.insert(0, reserved_prefix);
  return out;
}

// Length of the valid UTF-8 sequence at `s[i]`, or 0 when it is invalid
// (overlong forms, surrogates and code points past U+10FFFF included).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  const std::size_t left = s.size() - i;
  const auto continuation = [&](std::size_t k) { return (byte(k) & 0xC0) == 0x80; };
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return left >= 2 && continuation(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (left < 3 || !continuation(i + 1) || !continuation(i + 2)) return 0;
    if (c == 0xE0 && byte(i + 1) < 0xA0) return 0;  // overlong
    if (c == 0xED && byte(i + 1) > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (left < 4 || !continuation(i + 1) || !continuation(i + 2) || !continuation(i + 3)) return 0;
    if (c == 0xF0 && byte(i + 1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && byte(i + 1) > 0x8F) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

void append_escaped(std::string& out, std::string_view text, bool escape_quotes) {
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && escape_quotes) {
      out += "\\\"";
    } else if (static_cast<unsigned char>(c) < 0x80) {
      out.push_back(c);
    } else if (const auto length = utf8_sequence_length(text, i)) {
      out.append(text.substr(i, length));
      i += length;
      continue;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD for one invalid byte
    }
    ++i;
  }
}

}  // namespace

std::string sanitize_metric_name(std::string_view name) {
  return sanitize(name, "metric");
}

std::string sanitize_label_name(std::string_view name) {
  if (name == "value") return "tag_value";
  return sanitize(name, "tag");
}

void append_label_value(std::string& out, std::string_view value) {
  append_escaped(out, value, true);
}

void append_valid_utf8(std::string& out, std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    if (const auto length = utf8_sequence_length(text, i)) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD for one invalid byte
      ++i;
    }
  }
}

void append_help_text(std::string& out, std::string_view text) {
  append_escaped(out, text, false);
}

void append_number(std::string& out, const Number& value) {
  char buffer[32];
  if (const auto* integer = std::get_if<std::int64_t>(&value)) {
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, *integer);
    out.append(buffer, result.ptr);
    return;
  }
  const double d = std::get<double>(value);
  if (std::isnan(d)) {
    out += "NaN";
  } else if (std::isinf(d)) {
    out += d > 0 ? "+Inf" : "-Inf";
  } else {
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, d);
    out.append(buffer, result.ptr);
  }
}

namespace {

bool is_plain_name(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  if (name.size() >= 2 && name[0] == '_' && name[1] == '_') return false;
  for (const char c : name) {
    if (!is_name_char(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

bool is_plain_metric_name(std::string_view name) {
  return is_plain_name(name);
}

void append_label_set(std::string& out, std::span<const TagView> tags) {
  const auto start = out.size();
  if (tags_are_plain_labels(tags)) {
    for (const auto& tag : tags) {
      if (out.size() > start) out.push_back(',');
      out += tag.key;
      out += "=\"";
      append_label_value(out, tag.value);
      out.push_back('"');
    }
    return;
  }
  static thread_local std::vector<Label> labels;
  resolve_labels(tags, labels);
  for (const auto& label : labels) {
    if (out.size() > start) out.push_back(',');
    out += label.name;
    out += "=\"";
    append_label_value(out, label.value);
    out.push_back('"');
  }
}

std::string render_label_set(const std::vector<Tag>& tags) {
  std::vector<TagView> refs;
  refs.reserve(tags.size());
  for (const auto& tag : tags) refs.push_back({tag.key, tag.value});
  std::string out;
  append_label_set(out, refs);
  return out;
}

void append_family_header(std::string& out, std::string_view family, std::string_view bucket) {
  out += "# HELP ";
  out += family;
  out += " Bucky3 bucket ";
  append_help_text(out, bucket);
  out += "\n# TYPE ";
  out += family;
  out += " gauge\n";
}

void append_sample(std::string& out, std::string_view family, std::string_view labels,
                   std::string_view field, const Number& value,
                   std::optional<std::int64_t> timestamp_ms) {
  out += family;
  if (!labels.empty() || !field.empty()) {
    out.push_back('{');
    out += labels;
    if (!field.empty()) {
      if (!labels.empty()) out.push_back(',');
      out += "value=\"";
      append_label_value(out, field);
      out.push_back('"');
    }
    out.push_back('}');
  }
  out.push_back(' ');
  append_number(out, value);
  if (timestamp_ms) {
    char buffer[24];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, *timestamp_ms);
    out.push_back(' ');
    out.append(buffer, result.ptr);
  }
  out.push_back('\n');
}

}  // namespace bucky3::prometheus
