// InfluxDB line protocol encoder; see line_protocol.h and docs/INFLUXDB.md.
#include "exporters/influxdb/line_protocol.h"

#include <charconv>
#include <cmath>

namespace bucky3::influxdb {

namespace {

// Escapes `specials` with a backslash. A backslash is doubled where it would
// otherwise escape what follows it (a special, or the separator after the
// token); elsewhere it is written as is, so `C:\Users` arrives unchanged.
// Newlines and carriage returns cannot be carried by the protocol: they
// become (escaped) spaces.
void append_escaped(std::string_view text, std::string_view specials, std::string& out) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n' || c == '\r') c = ' ';
    if (c == '\\') {
      const bool last = i + 1 == text.size();
      const char next = last ? '\0' : text[i + 1];
      const bool escapes_next = last || specials.find(next) != std::string_view::npos ||
                                next == '\n' || next == '\r' || next == '\\';
      out += escapes_next ? "\\\\" : "\\";
      continue;
    }
    if (specials.find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
}

bool finite(const Number& value) {
  return std::holds_alternative<std::int64_t>(value) || std::isfinite(std::get<double>(value));
}

}  // namespace

void append_measurement(std::string_view text, std::string& out) {
  append_escaped(text, ", ", out);
}

void append_key(std::string_view text, std::string& out) {
  append_escaped(text, ",= ", out);
}

void append_number(const Number& value, std::string& out) {
  char buffer[32];
  if (const auto* i = std::get_if<std::int64_t>(&value)) {
    const auto end = std::to_chars(buffer, buffer + sizeof buffer, *i).ptr;
    out.append(buffer, end);
    out += 'i';
    return;
  }
  // Shortest round-trip form; "1" is a float in line protocol (no suffix).
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, std::get<double>(value)).ptr;
  out.append(buffer, end);
}

bool append_line(const shm::MetricView& metric, std::string& out, EncodeStats& stats) {
  std::size_t finite_values = 0;
  for (const auto& field : metric.values) {
    if (finite(field.value)) {
      ++finite_values;
    } else {
      ++stats.values_dropped;
    }
  }
  if (finite_values == 0 || metric.bucket.empty()) {
    ++stats.lines_dropped;
    return false;
  }
  append_measurement(metric.bucket, out);
  for (const auto& tag : metric.metadata) {
    // InfluxDB refuses an empty tag; leaving it out is what it would store.
    if (tag.key.empty() || tag.value.empty()) continue;
    out += ',';
    append_key(tag.key, out);
    out += '=';
    append_key(tag.value, out);
  }
  char separator = ' ';
  for (const auto& field : metric.values) {
    if (!finite(field.value)) continue;
    out += separator;
    separator = ',';
    append_key(field.name.empty() ? std::string_view("value") : field.name, out);
    out += '=';
    append_number(field.value, out);
  }
  // ms to ns; past year 2262 the nanoseconds overflow int64: the server's time then.
  constexpr std::int64_t max_ms = INT64_MAX / 1'000'000;
  if (metric.timestamp_ms && *metric.timestamp_ms <= max_ms && *metric.timestamp_ms >= -max_ms) {
    out += ' ';
    char buffer[24];
    const auto end =
        std::to_chars(buffer, buffer + sizeof buffer, *metric.timestamp_ms * 1'000'000).ptr;
    out.append(buffer, end);
  }
  out += '\n';
  ++stats.lines;
  return true;
}

std::vector<Datagram> pack_datagrams(std::string_view lines, std::size_t max_bytes,
                                     std::size_t& too_long) {
  std::vector<Datagram> out;
  Datagram current;
  while (!lines.empty()) {
    const auto newline = lines.find('\n');
    const auto length = newline == std::string_view::npos ? lines.size() : newline + 1;
    const auto line = lines.substr(0, length);
    lines.remove_prefix(length);
    if (line.size() > max_bytes) {
      ++too_long;
      continue;
    }
    if (current.bytes.size() + line.size() > max_bytes) {
      out.push_back(std::move(current));
      current = {};
    }
    current.bytes.append(line);
    ++current.lines;
  }
  if (!current.bytes.empty()) out.push_back(std::move(current));
  return out;
}

std::vector<std::string> split_lines_in_two(std::string_view body) {
  if (body.empty()) return {};
  // The newline nearest the middle that is not the last byte.
  const auto middle = body.size() / 2;
  auto cut = body.rfind('\n', middle);
  if (cut == std::string_view::npos || cut + 1 >= body.size()) cut = body.find('\n', middle);
  if (cut == std::string_view::npos || cut + 1 >= body.size()) return {};
  return {std::string(body.substr(0, cut + 1)), std::string(body.substr(cut + 1))};
}

}  // namespace bucky3::influxdb
