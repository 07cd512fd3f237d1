// debug_output's line formats; see format.h.
#include "exporters/debug/format.h"

#include <charconv>
#include <cmath>

namespace bucky3::debug_output {
namespace {

// Shortest round-trip text of a double, as written without quotes.
void append_double_plain(double v, std::string& out) {
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  std::string_view text(buf, static_cast<std::size_t>(res.ptr - buf));
  out += text;
  if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
}

void append_int(std::int64_t v, std::string& out) {
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<std::size_t>(res.ptr - buf));
}

}  // namespace

void append_json_number(const Number& value, std::string& out) {
  if (const auto* i = std::get_if<std::int64_t>(&value)) {
    append_int(*i, out);
    return;
  }
  const double d = std::get<double>(value);
  if (std::isnan(d)) {
    out += "\"NaN\"";
  } else if (std::isinf(d)) {
    out += d > 0 ? "\"+Inf\"" : "\"-Inf\"";
  } else {
    append_double_plain(d, out);
  }
}

void append_json_string(std::string_view text, std::string& out) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += "\\u00";
          out += hex[u >> 4];
          out += hex[u & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void append_json_line(const Metric& metric, std::string& out) {
  out += "{\"bucket\":";
  append_json_string(metric.bucket, out);
  out += ",\"metadata\":{";
  bool first = true;
  for (const auto& tag : metric.metadata) {
    if (!first) out += ',';
    first = false;
    append_json_string(tag.key, out);
    out += ':';
    append_json_string(tag.value, out);
  }
  out += '}';
  if (metric.has_single_value()) {
    out += ",\"value\":";
    append_json_number(metric.values[0].value, out);
  } else {
    out += ",\"values\":{";
    first = true;
    for (const auto& field : metric.values) {
      if (!first) out += ',';
      first = false;
      append_json_string(field.name, out);
      out += ':';
      append_json_number(field.value, out);
    }
    out += '}';
  }
  if (metric.timestamp_ms) {
    out += ",\"timestamp\":";
    append_int(*metric.timestamp_ms, out);
  }
  out += "}\n";
}

void append_text_line(const Metric& metric, std::string& out) {
  out += metric.bucket;
  out += ' ';
  bool first = true;
  for (const auto& tag : metric.metadata) {
    if (!first) out += ',';
    first = false;
    out += tag.key;
    out += '=';
    out += tag.value;
  }
  if (first) out += '-';
  for (const auto& field : metric.values) {
    out += ' ';
    out += field.name.empty() ? std::string_view("value") : std::string_view(field.name);
    out += '=';
    if (const auto* i = std::get_if<std::int64_t>(&field.value)) {
      append_int(*i, out);
    } else {
      const double d = std::get<double>(field.value);
      if (std::isnan(d)) {
        out += "NaN";
      } else if (std::isinf(d)) {
        out += d > 0 ? "+Inf" : "-Inf";
      } else {
        append_double_plain(d, out);
      }
    }
  }
  if (metric.timestamp_ms) {
    out += " @";
    append_int(*metric.timestamp_ms, out);
  }
  out += '\n';
}

}  // namespace bucky3::debug_output
