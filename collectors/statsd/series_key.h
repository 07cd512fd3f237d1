// collectors/statsd/series_key.h — the canonical series key: kind, timestamp,
// bucket override, name and sorted tags, length-prefixed. Equal series give equal
// bytes, so one hash and one memcmp identify a series. Inline: built once per line.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

#include "collectors/statsd/line_parser.h"

namespace bucky3::statsd {

// The series kinds. ms, h and d share one: they produce the same metrics.
enum class SeriesKind : std::uint8_t { counter = 0, gauge = 1, set = 2, timer = 3 };

inline SeriesKind kind_of(SampleType type) {
  switch (type) {
    case SampleType::counter: return SeriesKind::counter;
    case SampleType::gauge: return SeriesKind::gauge;
    case SampleType::set: return SeriesKind::set;
    case SampleType::timer:
    case SampleType::histogram:
    case SampleType::distribution: return SeriesKind::timer;
  }
  return SeriesKind::counter;
}

inline constexpr std::int64_t kNoTimestamp = std::numeric_limits<std::int64_t>::min();

// The first byte is the kind, with this bit set when 8 bytes of timestamp
// follow: most series have none and keep the 8 bytes.
inline constexpr std::uint8_t kHasTimestamp = 0x80;

// A varint length, then the bytes. Writes through a raw pointer: the caller
// sized the buffer for the worst case.
inline char* put_string(char* out, std::string_view s) {
  std::size_t v = s.size();
  while (v >= 0x80) {
    *out++ = static_cast<char>(0x80 | (v & 0x7f));
    v >>= 7;
  }
  *out++ = static_cast<char>(v);
  if (!s.empty()) std::memcpy(out, s.data(), s.size());  // an empty view may hold nullptr
  return out + s.size();
}

inline std::string_view get_string(const char*& p) {
  std::size_t len = 0;
  int shift = 0;
  while (static_cast<std::uint8_t>(*p) & 0x80) {
    len |= std::size_t(static_cast<std::uint8_t>(*p) & 0x7f) << shift;
    shift += 7;
    ++p;
  }
  len |= std::size_t(static_cast<std::uint8_t>(*p)) << shift;
  ++p;
  const std::string_view s(p, len);
  p += len;
  return s;
}

// The key of `line`'s series, written into `scratch` (which only ever grows),
// with a kind byte of 0: the caller sets it per sample with set_key_kind().
inline std::string_view encode_key(const ParsedLine& line, std::int64_t timestamp_ms,
                                   std::string& scratch) {
  // A varint length takes at most 10 bytes.
  std::size_t worst = 1 + sizeof timestamp_ms + 20 + line.bucket.size() + line.name.size();
  for (const TagView& tag : line.tags) worst += 20 + tag.key.size() + tag.value.size();
  if (scratch.size() < worst) scratch.resize(worst);
  char* out = scratch.data();
  *out++ = 0;
  if (timestamp_ms != kNoTimestamp) {
    std::memcpy(out, &timestamp_ms, sizeof timestamp_ms);
    out += sizeof timestamp_ms;
  }
  out = put_string(out, line.bucket);
  out = put_string(out, line.name);
  for (const TagView& tag : line.tags) {
    out = put_string(out, tag.key);
    out = put_string(out, tag.value);
  }
  return std::string_view(scratch.data(), std::size_t(out - scratch.data()));
}

// Sets the kind byte of a key made by encode_key().
inline void set_key_kind(std::string& scratch, SeriesKind kind, std::int64_t timestamp_ms) {
  const std::uint8_t timestamp_flag = timestamp_ms == kNoTimestamp ? 0 : kHasTimestamp;
  scratch[0] = static_cast<char>(static_cast<std::uint8_t>(kind) | timestamp_flag);
}

inline SeriesKind key_kind(const char* key) {
  return static_cast<SeriesKind>(static_cast<std::uint8_t>(key[0]) & ~kHasTimestamp);
}

// A key's parts; the tags stay encoded, read them with get_string() in pairs.
struct KeyView {
  SeriesKind kind;
  std::int64_t timestamp_ms;
  std::string_view bucket;
  std::string_view name;
  const char* tags_begin;
  const char* tags_end;
};

inline KeyView decode_key(const char* key, std::size_t len) {
  KeyView view;
  view.kind = key_kind(key);
  const char* p = key + 1;
  view.timestamp_ms = kNoTimestamp;
  if (static_cast<std::uint8_t>(key[0]) & kHasTimestamp) {
    std::memcpy(&view.timestamp_ms, p, sizeof(std::int64_t));
    p += sizeof(std::int64_t);
  }
  view.bucket = get_string(p);
  view.name = get_string(p);
  view.tags_begin = p;
  view.tags_end = key + len;
  return view;
}

}  // namespace bucky3::statsd
