// fuzz_line_protocol: arbitrary buckets, tags, field names and values through the
// encoder; every line must scan back, the way InfluxDB's parser scans it (a
// backslash takes the next byte with it), into the same number of tags and fields.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "exporters/influxdb/line_protocol.h"

using namespace bucky3;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

// Splits the input at 0xff bytes: bucket, then key/value pairs, then field names.
std::vector<std::string_view> pieces(std::string_view data) {
  std::vector<std::string_view> out;
  while (true) {
    const auto cut = data.find('\xff');
    out.push_back(data.substr(0, cut));
    if (cut == std::string_view::npos) break;
    data.remove_prefix(cut + 1);
  }
  return out;
}

// Counts the unescaped `sep` bytes of `section` up to the first unescaped `end`.
struct Scan {
  std::size_t separators = 0;
  std::size_t length = 0;
};
Scan scan(std::string_view text, char sep, char end) {
  Scan out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '\\') {
      i += 2;
      continue;
    }
    if (text[i] == end) break;
    if (text[i] == sep) ++out.separators;
    ++i;
  }
  out.length = std::min(i, text.size());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = pieces(std::string_view(reinterpret_cast<const char*>(data), size));
  if (parts.size() < 2) return 0;
  Metric m;
  m.bucket = std::string(parts[0]);
  std::size_t i = 1;
  for (; i + 1 < parts.size() && i < 9; i += 2)
    m.metadata.push_back({std::string(parts[i]), std::string(parts[i + 1])});
  normalize_metadata(m.metadata);
  std::size_t n = 0;
  for (; i < parts.size(); ++i, ++n) {
    const auto name = std::string(parts[i]);
    if (n % 3 == 0) {
      m.values.push_back({name, static_cast<std::int64_t>(name.size()) - 3});
    } else if (n % 3 == 1) {
      m.values.push_back({name, name.empty() ? NAN : 1.0 / static_cast<double>(name.size())});
    } else {
      m.values.push_back({name, name.size() > 4 ? INFINITY : -0.5});
    }
  }
  if (m.values.empty()) m.values.push_back({"", 1.0});
  if (size % 2) m.timestamp_ms = static_cast<std::int64_t>(size) * 1000;

  std::vector<std::byte> record;
  shm::encode_batch(std::span<const Metric>(&m, 1), record);
  shm::DecodedBatch batch;
  check(!shm::decode_batch(record, batch));
  std::string out;
  influxdb::EncodeStats stats;
  const bool written = influxdb::append_line(batch.metrics[0], out, stats);

  std::size_t tags = 0, fields = 0;
  for (const auto& tag : m.metadata) tags += !tag.key.empty() && !tag.value.empty();
  for (const auto& field : m.values) {
    fields += std::holds_alternative<std::int64_t>(field.value) ||
              std::isfinite(std::get<double>(field.value));
  }
  if (!written) {
    check(out.empty());
    check(fields == 0 || m.bucket.empty());
    return 0;
  }
  check(out.back() == '\n');
  check(out.find('\n') == out.size() - 1);
  check(out.find('\r') == std::string::npos);
  std::string_view line(out.data(), out.size() - 1);
  // measurement[,tags] — up to the first unescaped space.
  const auto head = scan(line, ',', ' ');
  check(head.length > 0 && head.length < line.size());
  check(head.separators == tags);
  line.remove_prefix(head.length + 1);
  // fields — up to the next unescaped space (the timestamp) or the end.
  const auto body = scan(line, ',', ' ');
  check(body.separators + 1 == fields);
  const auto ts =
      line.substr(std::min(line.size(), body.length + (body.length < line.size() ? 1 : 0)));
  check(ts.empty() == (body.length == line.size()));
  for (const char c : ts) check(c >= '0' && c <= '9');
  return 0;
}
