// Batch codec; see batch_codec.h. Layout (all integers little-endian, no padding):
//   batch:  "B3BT" u8 version, u8 flags(0), u16 reserved(0), u32 metric_count, metrics...
//   metric: u8 kind, u8 flags(bit0: timestamp), u16 reserved(0), u32 tag_count,
//           u32 value_count, [i64 timestamp_ms], str bucket, (str key, str value)...,
//           (str name, u8 type(0 int64, 1 double), 8 bytes value)...
//   str:    u32 length, bytes
#include "shm/batch_codec.h"

#include <bit>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace bucky3::shm {

static_assert(std::endian::native == std::endian::little,
              "records are shared between processes of one little-endian host");

namespace {

constexpr char batch_magic[4] = {'B', '3', 'B', 'T'};
constexpr std::size_t batch_header_size = 12;
constexpr std::size_t metric_header_size = 12;
constexpr std::uint8_t metric_flag_timestamp = 1;
constexpr std::uint8_t value_type_int = 0;
constexpr std::uint8_t value_type_double = 1;
// Smallest encodings, used to bound counts before reserving anything.
constexpr std::size_t min_metric_size = metric_header_size + 4;
constexpr std::size_t min_tag_size = 8;
constexpr std::size_t min_field_size = 4 + 1 + 8;

class Writer {
 public:
  explicit Writer(std::vector<std::byte>& out) : out_(out) {}
  void bytes(const void* data, std::size_t size) {
    const auto* p = static_cast<const std::byte*>(data);
    out_.insert(out_.end(), p, p + size);
  }
  template <class T>
  void integer(T value) {
    bytes(&value, sizeof value);
  }
  void u32_count(std::size_t value) {
    if (value > std::numeric_limits<std::uint32_t>::max())
      throw std::length_error("batch_codec: count or length over 2^32 - 1");
    integer(static_cast<std::uint32_t>(value));
  }
  void string(std::string_view s) {
    u32_count(s.size());
    bytes(s.data(), s.size());
  }

 private:
  std::vector<std::byte>& out_;
};

class Reader {
 public:
  explicit Reader(std::span<const std::byte> in) : in_(in) {}
  std::size_t offset() const { return pos_; }
  std::size_t left() const { return in_.size() - pos_; }
  template <class T>
  bool integer(T& value) {
    if (left() < sizeof value) return false;
    std::memcpy(&value, in_.data() + pos_, sizeof value);
    pos_ += sizeof value;
    return true;
  }
  bool string(std::string_view& s) {
    std::uint32_t size = 0;
    if (!integer(size) || left() < size) return false;
    s = std::string_view(reinterpret_cast<const char*>(in_.data() + pos_), size);
    pos_ += size;
    return true;
  }

 private:
  std::span<const std::byte> in_;
  std::size_t pos_ = 0;
};

std::optional<DecodeError> fail(DecodedBatch& out, std::string reason, std::size_t offset) {
  out.clear();
  return DecodeError{std::move(reason), offset};
}

}  // namespace

bucky3::Metric MetricView::to_metric() const {
  bucky3::Metric metric;
  metric.bucket.assign(bucket);
  metric.timestamp_ms = timestamp_ms;
  metric.kind = kind;
  metric.metadata.reserve(metadata.size());
  for (const auto& tag : metadata)
    metric.metadata.push_back({std::string(tag.key), std::string(tag.value)});
  metric.values.reserve(values.size());
  for (const auto& field : values) metric.values.push_back({std::string(field.name), field.value});
  return metric;
}

std::size_t encoded_size(std::span<const bucky3::Metric> metrics) {
  std::size_t size = batch_header_size;
  for (const auto& metric : metrics) {
    size += metric_header_size + (metric.timestamp_ms ? 8 : 0) + 4 + metric.bucket.size();
    for (const auto& tag : metric.metadata) size += 8 + tag.key.size() + tag.value.size();
    for (const auto& field : metric.values) size += min_field_size + field.name.size();
  }
  return size;
}

void encode_batch(std::span<const bucky3::Metric> metrics, std::vector<std::byte>& out) {
  out.clear();
  out.reserve(encoded_size(metrics));
  Writer w(out);
  w.bytes(batch_magic, sizeof batch_magic);
  w.integer(batch_format_version);
  w.integer(std::uint8_t{0});
  w.integer(std::uint16_t{0});
  w.u32_count(metrics.size());
  for (const auto& metric : metrics) {
    w.integer(static_cast<std::uint8_t>(metric.kind));
    w.integer(static_cast<std::uint8_t>(metric.timestamp_ms ? metric_flag_timestamp : 0));
    w.integer(std::uint16_t{0});
    w.u32_count(metric.metadata.size());
    w.u32_count(metric.values.size());
    if (metric.timestamp_ms) w.integer(*metric.timestamp_ms);
    w.string(metric.bucket);
    for (const auto& tag : metric.metadata) {
      w.string(tag.key);
      w.string(tag.value);
    }
    for (const auto& field : metric.values) {
      w.string(field.name);
      if (const auto* i = std::get_if<std::int64_t>(&field.value)) {
        w.integer(value_type_int);
        w.integer(*i);
      } else {
        w.integer(value_type_double);
        w.integer(std::get<double>(field.value));
      }
    }
  }
}

std::optional<DecodeError> decode_batch(std::span<const std::byte> record, DecodedBatch& out) {
  out.clear();
  Reader r(record);
  char magic[4];
  if (r.left() < batch_header_size) {
    return fail(
        out, "record of " + std::to_string(record.size()) + " bytes is shorter than a batch header",
        0);
  }
  std::memcpy(magic, record.data(), sizeof magic);
  if (std::memcmp(magic, batch_magic, sizeof magic) != 0)
    return fail(out, "not a batch (bad magic)", 0);
  std::uint32_t skip4 = 0;
  r.integer(skip4);
  std::uint8_t version = 0, flags = 0;
  std::uint16_t reserved = 0;
  r.integer(version);
  if (version != batch_format_version) {
    return fail(out,
                "batch format version " + std::to_string(version) + ", this build reads " +
                    std::to_string(batch_format_version),
                4);
  }
  r.integer(flags);
  r.integer(reserved);
  if (flags != 0 || reserved != 0) return fail(out, "unknown batch flags", 5);
  std::uint32_t metric_count = 0;
  r.integer(metric_count);
  if (metric_count > r.left() / min_metric_size) {
    return fail(out,
                "metric count " + std::to_string(metric_count) + " does not fit in " +
                    std::to_string(r.left()) + " bytes",
                8);
  }
  out.metrics.reserve(metric_count);
  // Spans are set once all tags and fields are in place: the vectors may move while growing.
  struct Ranges {
    std::size_t tags_begin, tag_count, fields_begin, field_count;
  };
  thread_local std::vector<Ranges> ranges;
  ranges.clear();
  for (std::uint32_t m = 0; m < metric_count; ++m) {
    const std::size_t metric_offset = r.offset();
    std::uint8_t kind = 0, metric_flags = 0;
    std::uint16_t metric_reserved = 0;
    std::uint32_t tag_count = 0, field_count = 0;
    if (!r.integer(kind) || !r.integer(metric_flags) || !r.integer(metric_reserved) ||
        !r.integer(tag_count) || !r.integer(field_count)) {
      return fail(out, "truncated metric header", metric_offset);
    }
    if (kind > static_cast<std::uint8_t>(bucky3::MetricKind::sample)) {
      return fail(out, "unknown metric kind " + std::to_string(kind), metric_offset);
    }
    if ((metric_flags & ~metric_flag_timestamp) != 0 || metric_reserved != 0) {
      return fail(out, "unknown metric flags", metric_offset + 1);
    }
    MetricView view;
    view.kind = static_cast<bucky3::MetricKind>(kind);
    if (metric_flags & metric_flag_timestamp) {
      std::int64_t ts = 0;
      if (!r.integer(ts)) return fail(out, "truncated timestamp", r.offset());
      view.timestamp_ms = ts;
    }
    if (!r.string(view.bucket)) return fail(out, "truncated bucket", r.offset());
    if (tag_count > r.left() / min_tag_size) {
      return fail(out,
                  "tag count " + std::to_string(tag_count) + " does not fit in " +
                      std::to_string(r.left()) + " bytes",
                  metric_offset + 4);
    }
    const std::size_t tags_begin = out.tags.size();
    for (std::uint32_t t = 0; t < tag_count; ++t) {
      TagView tag;
      if (!r.string(tag.key) || !r.string(tag.value)) return fail(out, "truncated tag", r.offset());
      out.tags.push_back(tag);
    }
    if (field_count > r.left() / min_field_size) {
      return fail(out,
                  "value count " + std::to_string(field_count) + " does not fit in " +
                      std::to_string(r.left()) + " bytes",
                  metric_offset + 8);
    }
    const std::size_t fields_begin = out.fields.size();
    for (std::uint32_t f = 0; f < field_count; ++f) {
      FieldView field;
      std::uint8_t type = 0;
      if (!r.string(field.name) || !r.integer(type))
        return fail(out, "truncated value", r.offset());
      if (type == value_type_int) {
        std::int64_t i = 0;
        if (!r.integer(i)) return fail(out, "truncated value", r.offset());
        field.value = i;
      } else if (type == value_type_double) {
        double d = 0;
        if (!r.integer(d)) return fail(out, "truncated value", r.offset());
        field.value = d;
      } else {
        return fail(out, "unknown value type " + std::to_string(type), r.offset() - 1);
      }
      out.fields.push_back(field);
    }
    out.metrics.push_back(view);
    ranges.push_back({tags_begin, tag_count, fields_begin, field_count});
  }
  if (r.left() != 0) {
    return fail(out, std::to_string(r.left()) + " bytes left over after the last metric",
                r.offset());
  }
  for (std::size_t i = 0; i < out.metrics.size(); ++i) {
    const auto& range = ranges[i];
    out.metrics[i].metadata =
        std::span<const TagView>(out.tags).subspan(range.tags_begin, range.tag_count);
    out.metrics[i].values =
        std::span<const FieldView>(out.fields).subspan(range.fields_begin, range.field_count);
  }
  return std::nullopt;
}

}  // namespace bucky3::shm
