// fuzz_plaintext: arbitrary buckets, tags and value names through the Graphite
// encoder; every line must be "path value timestamp" with no space, control
// character or empty token in the path.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "exporters/carbon/plaintext.h"

using namespace bucky3;

namespace {
void check(bool condition) {
  if (!condition) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> parts;
  while (true) {
    const auto cut = input.find('\xff');
    parts.push_back(input.substr(0, cut));
    if (cut == std::string_view::npos) break;
    input.remove_prefix(cut + 1);
  }
  if (parts.size() < 2) return 0;
  Metric m;
  m.bucket = std::string(parts[0]);
  std::size_t i = 1;
  for (; i + 1 < parts.size() && i < 9; i += 2)
    m.metadata.push_back({std::string(parts[i]), std::string(parts[i + 1])});
  normalize_metadata(m.metadata);
  for (; i < parts.size(); ++i) {
    m.values.push_back(
        {std::string(parts[i]), parts[i].size() == 3 ? NAN : static_cast<double>(parts[i].size())});
  }
  if (m.values.empty()) m.values.push_back({"", std::int64_t{7}});

  std::vector<std::byte> record;
  shm::encode_batch(std::span<const Metric>(&m, 1), record);
  shm::DecodedBatch batch;
  check(!shm::decode_batch(record, batch));
  carbon::PathOptions options;
  options.tags = size % 2;
  options.max_line_bytes = 200;
  std::string out;
  carbon::EncodeStats stats;
  carbon::append_lines(batch.metrics[0], options, 1700000000, out, stats);
  std::string_view rest(out);
  std::size_t lines = 0;
  while (!rest.empty()) {
    const auto newline = rest.find('\n');
    check(newline != std::string_view::npos);
    const auto line = rest.substr(0, newline);
    rest.remove_prefix(newline + 1);
    ++lines;
    check(line.size() + 1 <= options.max_line_bytes);
    const auto first = line.find(' ');
    const auto second = line.find(' ', first + 1);
    check(first != std::string_view::npos && second != std::string_view::npos);
    check(line.find(' ', second + 1) == std::string_view::npos);
    const auto name_and_tags = line.substr(0, first);
    for (const char c : name_and_tags) check(static_cast<unsigned char>(c) > ' ' && c != '\x7f');
    // Dots are fine in 1.1 tags; the path before them has no empty token.
    const auto path =
        name_and_tags.substr(0, options.tags ? name_and_tags.find(';') : std::string_view::npos);
    check(!path.empty() && path.front() != '.' && path.back() != '.' &&
          path.find("..") == std::string_view::npos);
    if (options.tags && path.size() < name_and_tags.size()) {
      for (auto tags = name_and_tags.substr(path.size()); !tags.empty();) {
        check(tags.front() == ';');
        tags.remove_prefix(1);
        const auto end = std::min(tags.find(';'), tags.size());
        const auto tag = tags.substr(0, end);
        const auto eq = tag.find('=');
        check(eq != std::string_view::npos && eq > 0 && eq + 1 < tag.size() && tag[eq + 1] != '~');
        tags.remove_prefix(end);
      }
    }
    check(line.substr(second + 1) == "1700000000");
  }
  check(lines == stats.lines);
  return 0;
}
