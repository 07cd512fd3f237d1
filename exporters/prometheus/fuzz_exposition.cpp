// fuzz_exposition: arbitrary buckets, tags and field names through the series store;
// every page must stay valid exposition text (names, escapes, UTF-8, families once).
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "exporters/prometheus/series_store.h"

using namespace bucky3;
using namespace bucky3::prometheus;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

bool name_char(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         (!first && c >= '0' && c <= '9');
}

// Returns the end of a valid name starting at `i`.
std::size_t check_name(std::string_view line, std::size_t i) {
  check(i < line.size() && name_char(line[i], true));
  while (i < line.size() && name_char(line[i], false)) ++i;
  return i;
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || (n == 2 && c < 0xC2) || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

void check_sample(std::string_view line, std::string_view family) {
  std::size_t i = check_name(line, 0);
  check(line.substr(0, i) == family);
  std::set<std::string_view> labels;
  if (line[i] == '{') {
    ++i;
    while (line[i] != '}') {
      const auto start = i;
      i = check_name(line, i);
      check(labels.insert(line.substr(start, i - start)).second);  // no label twice
      check(line.substr(start, 2) != "__");
      check(line[i++] == '=' && line[i++] == '"');
      for (; line[i] != '"'; ++i) {
        check(line[i] != '\n');
        if (line[i] == '\\') {
          ++i;
          check(line[i] == '\\' || line[i] == '"' || line[i] == 'n');
        }
      }
      ++i;
      if (line[i] == ',') ++i;
    }
    ++i;
  }
  check(line[i] == ' ');
}

void check_page(const std::string& page) {
  check(valid_utf8(page));
  std::set<std::string> families;
  std::string family;
  std::size_t start = 0;
  while (start < page.size()) {
    const auto end = page.find('\n', start);
    check(end != std::string::npos);
    const std::string_view line(page.data() + start, end - start);
    if (line.starts_with("# TYPE ")) {
      const auto name_end = check_name(line, 7);
      family = std::string(line.substr(7, name_end - 7));
      check(family.substr(0, 2) != "__");
      check(families.insert(family).second);
    } else if (!line.starts_with("# HELP ")) {
      check_sample(line, family);
    }
    start = end + 1;
  }
}

// Splits the input at 0xFF bytes into: bucket, then key/value pairs, with field names
// taken from the tail.
std::vector<std::string_view> split(std::string_view data) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= data.size(); ++i) {
    if (i == data.size() || static_cast<unsigned char>(data[i]) == 0xFF) {
      parts.push_back(data.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  SeriesStore store;
  const auto now = SeriesStore::Clock::now();
  std::int64_t timestamp = 0;
  for (const auto record : [&] {
         std::vector<std::string_view> records;
         std::size_t start = 0;
         for (std::size_t i = 0; i <= input.size(); ++i) {
           if (i == input.size() || input[i] == '\n') {
             records.push_back(input.substr(start, i - start));
             start = i + 1;
           }
         }
         return records;
       }()) {
    const auto parts = split(record);
    Metric m;
    m.bucket = std::string(parts[0]);
    std::size_t i = 1;
    for (; i + 1 < parts.size(); i += 2) {
      m.metadata.push_back({std::string(parts[i]), std::string(parts[i + 1])});
    }
    normalize_metadata(m.metadata);
    if (i < parts.size()) {
      m.values.push_back({std::string(parts[i]), static_cast<double>(parts[i].size()) / 3});
    } else {
      m.values.push_back({"", std::int64_t(parts.size())});
    }
    if (record.size() % 3 == 0) m.timestamp_ms = timestamp++;
    store.apply(m, now);
  }
  check_page(*store.text());
  return 0;
}
