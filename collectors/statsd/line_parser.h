// collectors/statsd/line_parser.h — one StatsD/DogStatsD/Telegraf line to its samples,
// tags and special fields. Pure: no I/O, no allocation once the scratch is warm.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shm/metric.h"

namespace bucky3::statsd {

enum class SampleType : std::uint8_t { counter, gauge, timer, histogram, distribution, set };

enum class LineKind : std::uint8_t { metric, service_check, event };

struct Sample {
  double value = 0;         // 0 for sets
  std::string_view member;  // sets only: the member, a string
  SampleType type = SampleType::counter;
  bool delta = false;  // gauges only: the value had a leading '+' or '-'
};

// Everything one line says. Reused across lines: clear() keeps the capacity, so
// a warm ParsedLine parses without allocating.
struct ParsedLine {
  LineKind kind = LineKind::metric;
  std::string_view name;
  // Sorted by key, keys unique (the last one given wins), `timestamp` and
  // `bucket` taken out, `|c:<id>` added as `container_id`.
  // Values unescaped; they point into the line or into `unescaped`.
  std::vector<TagView> tags;
  std::vector<Sample> samples;
  double sample_rate = 1;                    // in (0, 1]; applies to every sample of the line
  std::optional<std::int64_t> timestamp_ms;  // from `|T` or tag `timestamp=`
  std::string_view bucket;                   // tag `bucket=`; empty when not given
  std::string unescaped;                     // backing bytes for tag values that held escapes

  void clear();
};

struct ParseError {
  std::string_view reason;  // a string literal: "value is not a number"
  std::string_view field;   // offending bytes, inside the line
};

// Parses one line (no '\n'; a trailing '\r' is ignored). Fields after the last
// type (`|@rate`, `|#tags`, `|T<ts>`, `|c:<id>`, unknown ones) apply to every
// sample. Service checks (`_sc|`) and events (`_e{`) only set `kind`. On error
// `out` is left partly filled and must not be used.
std::optional<ParseError> parse_line(std::string_view line, ParsedLine& out);

// A sample's value as parse_line() reads it (a leading '+' allowed, finite
// only). For callers that re-read a value of a line already parsed once.
bool parse_value(std::string_view text, double& value);

// True for bytes that form valid UTF-8 (no overlongs, surrogates or > U+10FFFF).
bool is_valid_utf8(std::string_view bytes);

// A timestamp as sent (`|T`, `timestamp=`) to milliseconds: ≥ 1e11 is already
// milliseconds, else seconds. nullopt when not a finite, non-negative number.
std::optional<std::int64_t> parse_timestamp_ms(std::string_view text);

}  // namespace bucky3::statsd
