// Test support for collectors tested on fixture trees (tests/data/<component>/):
// reading and writing fixture files, golden files, metrics printed one per line
// (the logger's stderr: stderr_capture.h). Header-only; a test using it links bucky3_metric.
#pragma once
#include <QString>
#include <QStringList>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "shm/metric.h"

namespace bucky3::test {

// $BUCKY3_SOURCE_DIR/tests/data/<component>.
inline std::filesystem::path fixture_data_dir(std::string_view component) {
  return std::filesystem::path(qEnvironmentVariable("BUCKY3_SOURCE_DIR").toStdString()) / "tests" /
         "data" / component;
}

// The whole file; empty when it cannot be read.
inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Creates or replaces the file with exactly `text`.
inline void write_text(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

inline std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  // Built by appending: std::string::replace trips GCC 12's false -Wrestrict.
  std::string out;
  for (auto pos = text.find(from); pos != std::string_view::npos; pos = text.find(from)) {
    out.append(text.substr(0, pos)).append(to);
    text.remove_prefix(pos + from.size());
  }
  return out.append(text);
}

// The golden file's text. With BUCKY3_UPDATE_GOLDEN set, `actual` is written to it
// first (then review the diff), so the comparison that follows passes.
inline std::string golden_text(const std::filesystem::path& golden, std::string_view actual) {
  if (qEnvironmentVariableIsSet("BUCKY3_UPDATE_GOLDEN")) write_text(golden, actual);
  return read_text(golden);
}

// 12i for an integer, shortest round-trip form for a double.
inline std::string number_text(const Number& number) {
  if (const auto* integer = std::get_if<std::int64_t>(&number)) {
    return std::to_string(*integer) + "i";
  }
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, std::get<double>(number));
  return std::string(buffer, result.ptr);
}

// One metric per line: "bucket,tag=v,... kind field=1i,field=0.5". The values of
// metrics `hide_values` is true for print as "?i" / "?" (their type only): values
// that change while a test runs, such as a real directory's free space.
inline std::string serialize(const std::vector<Metric>& metrics,
                             const std::function<bool(const Metric&)>& hide_values = {}) {
  std::string out;
  for (const auto& metric : metrics) {
    const bool hide = hide_values && hide_values(metric);
    out += metric.bucket;
    for (const auto& tag : metric.metadata) out += "," + tag.key + "=" + tag.value;
    out += " ";
    out += to_string(metric.kind);
    out += " ";
    for (std::size_t i = 0; i < metric.values.size(); ++i) {
      if (i > 0) out += ",";
      const auto& field = metric.values[i];
      out += field.name + "=";
      if (hide) {
        out += std::holds_alternative<std::int64_t>(field.value) ? "?i" : "?";
      } else {
        out += number_text(field.value);
      }
    }
    out += "\n";
  }
  return out;
}

// The non-empty lines, for QCOMPARE to show the first one that differs.
inline QStringList lines_of(const std::string& text) {
  return QString::fromStdString(text).split('\n', Qt::SkipEmptyParts);
}

// Occurrences of `what` in `text`, overlapping ones included.
inline int count_of(const std::string& text, std::string_view what) {
  int count = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) {
    ++count;
  }
  return count;
}

}  // namespace bucky3::test
