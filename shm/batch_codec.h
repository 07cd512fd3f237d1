// Versioned binary encoding of one batch of metrics into one ring record, and
// a decoder that reads it in place (strings stay in the record) and trusts nothing.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "shm/metric.h"

namespace bucky3::shm {

// Bumped whenever the encoding changes; a decoder refuses other versions.
inline constexpr std::uint8_t batch_format_version = 1;

struct DecodeError {
  std::string reason;  // "tag count 9000 does not fit in the 12 bytes left"
  std::size_t offset;  // byte offset in the record where decoding stopped
};

struct FieldView {
  std::string_view name;  // empty for a single value
  bucky3::Number value;
};

// One decoded metric; every string_view points into the decoded record, so a
// view lives only as long as the record (in a ring: until RingReader::commit()).
struct MetricView {
  std::string_view bucket;
  std::optional<std::int64_t> timestamp_ms;
  bucky3::MetricKind kind = bucky3::MetricKind::unspecified;
  std::span<const TagView> metadata;  // sorted by key, as encoded
  std::span<const FieldView> values;

  bool has_single_value() const { return values.size() == 1 && values[0].name.empty(); }
  bucky3::Metric to_metric() const;  // an owning copy
};

// Reuse one DecodedBatch across decodes: its vectors keep their capacity, so a
// steady consumer decodes without allocating.
struct DecodedBatch {
  std::vector<MetricView> metrics;
  std::vector<TagView> tags;      // storage behind MetricView::metadata
  std::vector<FieldView> fields;  // storage behind MetricView::values
  void clear() {
    metrics.clear();
    tags.clear();
    fields.clear();
  }
};

// Encodes `metrics` into `out` (cleared first). Strings longer than 4 GiB - 1 and
// more than 2^32 - 1 tags or values per metric are not representable; they throw
// std::length_error (no real batch comes near).
void encode_batch(std::span<const bucky3::Metric> metrics, std::vector<std::byte>& out);

// Size encode_batch() would produce, without encoding.
std::size_t encoded_size(std::span<const bucky3::Metric> metrics);

// Decodes one record into `out` (cleared first). Checks every length and count
// against the bytes left, the kind, the value types and that no byte is left
// over; never reads outside `record`. On error `out` is left empty.
std::optional<DecodeError> decode_batch(std::span<const std::byte> record, DecodedBatch& out);

}  // namespace bucky3::shm
