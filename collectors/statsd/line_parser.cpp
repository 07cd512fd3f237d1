// StatsD line parsing; see line_parser.h and docs/STATSD.md for the grammar.
#include "collectors/statsd/line_parser.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>

namespace bucky3::statsd {

void ParsedLine::clear() {
  kind = LineKind::metric;
  name = {};
  tags.clear();
  samples.clear();
  sample_rate = 1;
  timestamp_ms.reset();
  bucket = {};
  unescaped.clear();
}

namespace {

constexpr std::string_view kContainerTag = "container_id";

// Byte classes, so the scanners test one table entry per byte. Names and tag
// keys: a letter, then letters, digits, '_', '.', '-'.
constexpr std::uint8_t kLetter = 1, kNameChar = 2;
constexpr auto kClasses = [] {
  std::array<std::uint8_t, 256> table{};
  for (int c = 'a'; c <= 'z'; ++c) table[c] = kLetter | kNameChar;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = kLetter | kNameChar;
  for (int c = '0'; c <= '9'; ++c) table[c] = kNameChar;
  table['_'] = table['.'] = table['-'] = kNameChar;
  return table;
}();

bool is_letter(char c) {
  return kClasses[static_cast<std::uint8_t>(c)] & kLetter;
}
bool is_name_char(char c) {
  return kClasses[static_cast<std::uint8_t>(c)] & kNameChar;
}

bool is_ascii(std::string_view s) {
  const char* p = s.data();
  std::size_t n = s.size();
  // Eight bytes at a time: almost every line is ASCII and needs no more.
  while (n >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    if (word & 0x8080808080808080ULL) return false;
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    if (static_cast<unsigned char>(*p) & 0x80) return false;
    ++p;
    --n;
  }
  return true;
}

// from_chars rejects a leading '+', which clients do send.
bool parse_double(std::string_view text, double& value) {
  if (!text.empty() && text[0] == '+') {
    text.remove_prefix(1);
    if (!text.empty() && (text[0] == '+' || text[0] == '-')) return false;
  }
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size();
}

std::optional<SampleType> parse_type(std::string_view token) {
  if (token.size() == 1) {
    switch (token[0]) {
      case 'c': return SampleType::counter;
      case 'g': return SampleType::gauge;
      case 'h': return SampleType::histogram;
      case 'd': return SampleType::distribution;
      case 's': return SampleType::set;
      default: return std::nullopt;
    }
  }
  if (token == "ms") return SampleType::timer;
  return std::nullopt;
}

// True for the bytes that may follow a backslash as an escape in a tag value.
bool is_escape(char c) {
  return c == ',' || c == '\\' || c == 'n' || c == 'r' || c == 't';
}

// Decodes the escapes of a tag value into `out` (reserved by the caller so
// views into it stay valid). A backslash that starts no escape (`C:\Users`,
// `a\"b`, one at the end) is kept as written with the byte after it: DogStatsD
// clients send Windows paths and quotes unescaped, and dropping the line would
// lose their metrics.
void unescape(std::string_view raw, std::string& out) {
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '\\' && i + 1 < raw.size() && is_escape(raw[i + 1])) {
      switch (raw[++i]) {
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        default: c = raw[i]; break;  // ',' or '\\'
      }
    }
    out.push_back(c);
  }
}

// The end of the tag item starting at p: the next ',' not escaped.
const char* item_end(const char* p, const char* end) {
  while (p < end && *p != ',') p += (*p == '\\' && p + 1 < end) ? 2 : 1;
  return p;
}

// Parses "k:v,k2=v2,bare,k3=a\,b" (DogStatsD field or Telegraf name suffix),
// appending to out.tags in arrival order. One pass: keys are validated while
// they are scanned.
std::optional<ParseError> parse_tags(std::string_view text, ParsedLine& out) {
  const char* p = text.data();
  const char* const end = p + text.size();
  while (p < end) {
    if (*p == ',') {  // trailing or doubled comma
      ++p;
      continue;
    }
    const char* const item = p;
    const auto invalid_key = [&] {
      return ParseError{"invalid tag key", {item, std::size_t(item_end(item, end) - item)}};
    };
    if (!is_letter(*p)) return invalid_key();
    ++p;
    while (p < end && is_name_char(*p)) ++p;
    const std::string_view key(item, std::size_t(p - item));
    if (p == end || *p == ',') {
      out.tags.push_back({key, "true"});
      continue;
    }
    if (*p != '=' && *p != ':') return invalid_key();
    const char* const value_begin = ++p;
    // Only a real escape needs a decoded copy; other backslashes stay as written.
    bool escaped = false;
    while (p < end && *p != ',') {
      if (*p == '\\' && p + 1 < end) {
        escaped = escaped || is_escape(p[1]);
        ++p;  // the escaped byte may be ','
      }
      ++p;
    }
    std::string_view value(value_begin, std::size_t(p - value_begin));
    if (escaped) {
      const std::size_t start = out.unescaped.size();
      unescape(value, out.unescaped);
      value = std::string_view(out.unescaped).substr(start);
    }
    out.tags.push_back({key, value});
  }
  return std::nullopt;
}

std::optional<ParseError> parse_values(std::string_view values, SampleType type, ParsedLine& out) {
  std::size_t pos = 0;
  while (true) {
    const std::size_t colon = values.find(':', pos);
    const std::string_view text = values.substr(pos, colon - pos);
    Sample sample;
    sample.type = type;
    if (type == SampleType::set) {
      if (text.empty()) return ParseError{"set member is empty", text};
      sample.member = text;
    } else {
      if (!parse_double(text, sample.value)) return ParseError{"value is not a number", text};
      if (!std::isfinite(sample.value)) return ParseError{"value is not finite", text};
      sample.delta = type == SampleType::gauge && (text[0] == '+' || text[0] == '-');
    }
    out.samples.push_back(sample);
    if (colon == std::string_view::npos) return std::nullopt;
    pos = colon + 1;
  }
}

// Sorts by key keeping arrival order among equal keys, then keeps the last of
// each run. Insertion sort: lines carry a handful of tags.
void normalize(std::vector<TagView>& tags) {
  for (std::size_t i = 1; i < tags.size(); ++i) {
    TagView t = tags[i];
    std::size_t j = i;
    while (j > 0 && tags[j - 1].key > t.key) {
      tags[j] = tags[j - 1];
      --j;
    }
    tags[j] = t;
  }
  std::size_t kept = 0;
  for (std::size_t i = 0; i < tags.size(); ++i) {
    if (kept > 0 && tags[kept - 1].key == tags[i].key) {
      tags[kept - 1] = tags[i];
    } else {
      tags[kept++] = tags[i];
    }
  }
  tags.resize(kept);
}

}  // namespace

bool parse_value(std::string_view text, double& value) {
  return parse_double(text, value) && std::isfinite(value);
}

bool is_valid_utf8(std::string_view bytes) {
  if (is_ascii(bytes)) return true;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto* end = p + bytes.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t len;
    std::uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) < len) return false;
    for (std::size_t i = 1; i < len; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    p += len;
  }
  return true;
}

std::optional<std::int64_t> parse_timestamp_ms(std::string_view text) {
  double value;
  if (!parse_double(text, value) || !std::isfinite(value) || value < 0) return std::nullopt;
  // 1e11 s is year 5138 and 1e11 ms is 1973: no real clock is ambiguous.
  const double ms = value >= 1e11 ? value : value * 1000;
  if (ms > 9e18) return std::nullopt;  // would not fit an int64
  return static_cast<std::int64_t>(std::llround(ms));
}

namespace {

// Step 1: the name, validated as it is scanned, and Telegraf-style tags after it
// (`name,k=v:1|c`; the common line has none). Sets `colon` to the ':' that ends them.
std::optional<ParseError> parse_name(std::string_view line, ParsedLine& out, std::size_t& colon) {
  const char* p = line.data();
  const char* const end = p + line.size();
  if (p < end && is_letter(*p)) {
    ++p;
    while (p < end && is_name_char(*p)) ++p;
  }
  if (p < end && *p == ':' && p != line.data()) {
    colon = std::size_t(p - line.data());
    out.name = line.substr(0, colon);
    return std::nullopt;
  }
  if (p < end && *p == ',' && p != line.data()) {
    out.name = line.substr(0, std::size_t(p - line.data()));
    colon = line.find(':', out.name.size());
    if (colon == std::string_view::npos) return ParseError{"no ':' after the name", line};
    return parse_tags(line.substr(out.name.size() + 1, colon - out.name.size() - 1), out);
  }
  colon = line.find(':');
  if (colon == std::string_view::npos) return ParseError{"no ':' after the name", line};
  const std::string_view head = line.substr(0, colon);
  return ParseError{"invalid name", head.substr(0, head.find(','))};
}

// Step 2: "v[:v...]|type[:v[:v...]|type...]", the samples; a type segment with a
// ':' continues with the next sample's values. Leaves `rest` at the fields.
std::optional<ParseError> parse_samples(std::string_view& rest, ParsedLine& out) {
  while (true) {
    const std::size_t bar = rest.find('|');
    if (bar == std::string_view::npos) return ParseError{"no '|' and type after the value", rest};
    const std::string_view values = rest.substr(0, bar);
    rest = rest.substr(bar + 1);
    std::size_t type_end = 0;  // types are one or two bytes: no search needed
    while (type_end < rest.size() && rest[type_end] != ':' && rest[type_end] != '|') ++type_end;
    if (type_end == rest.size()) type_end = std::string_view::npos;
    const std::string_view type_token = rest.substr(0, type_end);
    const auto type = parse_type(type_token);
    if (!type) return ParseError{"unknown type", type_token};
    if (auto error = parse_values(values, *type, out)) return error;
    if (type_end == std::string_view::npos) {
      rest = {};
      return std::nullopt;
    }
    const bool more_samples = rest[type_end] == ':';
    rest = rest.substr(type_end + 1);
    if (!more_samples) return std::nullopt;
  }
}

// `|@0.5`: applies to every sample of the line.
std::optional<ParseError> parse_sample_rate(std::string_view field, ParsedLine& out) {
  double rate;
  if (!parse_double(field.substr(1), rate) || !(rate > 0 && rate <= 1)) {
    return ParseError{"sample rate is not in (0, 1]", field};
  }
  out.sample_rate = rate;
  return std::nullopt;
}

// Step 3: the fields after the last type, in any order: `|@rate`, `|#tags`,
// `|T<ts>`, `|c:<container>` (added as tag container_id, after the other tags);
// unknown ones (`|e:`, `|card:`, ...) are skipped.
std::optional<ParseError> parse_fields(std::string_view rest, ParsedLine& out) {
  std::optional<std::string_view> container;
  while (!rest.empty()) {
    const std::size_t bar = rest.find('|');
    const std::string_view field = rest.substr(0, bar);
    rest = bar == std::string_view::npos ? std::string_view{} : rest.substr(bar + 1);
    if (field.empty()) continue;
    switch (field[0]) {
      case '@':
        if (auto error = parse_sample_rate(field, out)) return error;
        break;
      case '#':
        if (auto error = parse_tags(field.substr(1), out)) return error;
        break;
      case 'T': {
        const auto ts = parse_timestamp_ms(field.substr(1));
        if (!ts) return ParseError{"timestamp is not a number", field};
        out.timestamp_ms = ts;
        break;
      }
      case 'c':
        if (field.size() > 1 && field[1] == ':') container = field.substr(2);
        break;
      default: break;  // |e:, |card: and whatever comes next
    }
  }
  if (container) out.tags.push_back({kContainerTag, *container});
  return std::nullopt;
}

// Step 4: sorts the tags, keeps the last of each key, and takes the special
// tags `timestamp` and `bucket` out of the set.
std::optional<ParseError> finish_tags(ParsedLine& out) {
  normalize(out.tags);
  std::size_t kept = 0;
  for (std::size_t i = 0; i < out.tags.size(); ++i) {
    const TagView tag = out.tags[i];
    if (tag.key == "timestamp") {
      const auto ts = parse_timestamp_ms(tag.value);
      if (!ts) return ParseError{"timestamp is not a number", tag.value};
      out.timestamp_ms = ts;
    } else if (tag.key == "bucket") {
      if (tag.value.empty()) return ParseError{"bucket is empty", tag.key};
      out.bucket = tag.value;
    } else {
      out.tags[kept++] = tag;
    }
  }
  out.tags.resize(kept);
  return std::nullopt;
}

}  // namespace

std::optional<ParseError> parse_line(std::string_view line, ParsedLine& out) {
  out.clear();
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.starts_with("_sc|")) {
    out.kind = LineKind::service_check;
    return std::nullopt;
  }
  if (line.starts_with("_e{")) {
    out.kind = LineKind::event;
    return std::nullopt;
  }
  if (!is_valid_utf8(line)) return ParseError{"line is not valid UTF-8", line};
  // Unescaped values are never longer than the line: one reserve, and views
  // into `unescaped` stay valid.
  out.unescaped.reserve(line.size());
  std::size_t colon = 0;
  if (auto error = parse_name(line, out, colon)) return error;
  std::string_view rest = line.substr(colon + 1);
  if (auto error = parse_samples(rest, out)) return error;
  if (auto error = parse_fields(rest, out)) return error;
  return finish_tags(out);
}

}  // namespace bucky3::statsd
