// InfluxDB line protocol from decoded metrics: pure functions over buffers, no I/O.
// Rules and their reasons: docs/INFLUXDB.md.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "shm/batch_codec.h"

namespace bucky3::influxdb {

struct EncodeStats {
  std::size_t lines = 0;           // lines written
  std::size_t values_dropped = 0;  // NaN and infinities left out
  std::size_t lines_dropped = 0;   // nothing left to write (no finite value, empty bucket)
};

// Appends one line for `metric`, ending in '\n', to `out`: the bucket as the
// measurement, the non-empty tags in key order, one field per value (a single
// value is field `value`; integers with the `i` suffix, floats in shortest
// round-trip form), then the timestamp in nanoseconds when the metric has one.
// Returns false (and appends nothing) when the line is dropped.
bool append_line(const shm::MetricView& metric, std::string& out, EncodeStats& stats);

// The escapes of each part of a line (exposed for tests and the fuzzer).
void append_measurement(std::string_view text, std::string& out);  // `,` and space
void append_key(std::string_view text,
                std::string& out);  // tag keys and values, field keys: `,` `=` space
void append_number(const Number& value, std::string& out);  // "12i", "0.5"; precondition: finite

// Lines (one metric each) grouped into datagrams of at most `max_bytes`, cut
// between lines (a datagram ends with '\n'). A single line longer than
// `max_bytes` is left out and counted in `too_long`.
struct Datagram {
  std::string bytes;
  std::size_t lines = 0;
};
std::vector<Datagram> pack_datagrams(std::string_view lines, std::size_t max_bytes,
                                     std::size_t& too_long);

// Cuts a body of whole lines in two halves at a line boundary (HTTP 413);
// empty when it holds a single line.
std::vector<std::string> split_lines_in_two(std::string_view body);

}  // namespace bucky3::influxdb
