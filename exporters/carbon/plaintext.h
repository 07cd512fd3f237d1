// Graphite plaintext ("path value timestamp\n") from decoded metrics: pure
// functions over buffers, no I/O. Rules and their reasons: docs/CARBON.md.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "shm/batch_codec.h"

namespace bucky3::carbon {

struct PathOptions {
  std::vector<std::string> name_mapping{"bucket", "host", "name"};
  std::string prefix;  // "" or "servers": "servers.<path>"
  bool tags = false;   // Graphite 1.1 tags: "path;key=value;..." for the unmapped tags
  std::size_t max_line_bytes = 16000;  // carbon closes a connection sending a longer line
};

struct EncodeStats {
  std::size_t lines = 0;
  std::size_t values_dropped = 0;   // NaN and infinities
  std::size_t lines_too_long = 0;   // dropped: past max_line_bytes
  std::size_t metrics_dropped = 0;  // metrics of which no line was written
};

// Appends one line per value of `metric` to `out`. The path is the values of
// the name_mapping keys present (`bucket` is the bucket), in the given order,
// then the other tags' values in key order (tags: true makes those `;k=v`
// tags instead), then the value's name for named values; empty tokens are
// left out. `now_s` is the timestamp of a metric without its own.
void append_lines(const shm::MetricView& metric, const PathOptions& options, std::int64_t now_s,
                  std::string& out, EncodeStats& stats);

// A path token as Python Bucky3 wrote it, `/ . * [ ]` to `_`, and also `;`
// (carbon 1.1 reads tags after it), whitespace and control characters (they
// would break the line).
void append_token(std::string_view token, std::string& out);
// A Graphite 1.1 tag key or value: also `;` (and `=` in keys) to `_`, and a
// value starting with `~` gets `_` first.
void append_tag_key(std::string_view key, std::string& out);
void append_tag_value(std::string_view value, std::string& out);

}  // namespace bucky3::carbon
