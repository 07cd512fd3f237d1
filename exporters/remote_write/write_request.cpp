// Remote write 1.0 encoding; see write_request.h. The messages, from the spec:
//   WriteRequest { repeated TimeSeries timeseries = 1; }
//   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
//   Label        { string name = 1; string value = 2; }
//   Sample       { double value = 1; int64 timestamp = 2; }
#include "exporters/remote_write/write_request.h"

#include <snappy.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>

#include "exporters/prometheus/exposition.h"

namespace bucky3::remote_write {

namespace {

// Tags: (field number << 3) | wire type (0 varint, 1 fixed64, 2 length-delimited).
constexpr char kTagField1Bytes = 0x0A;
constexpr char kTagField2Bytes = 0x12;
constexpr char kTagField1Fixed64 = 0x09;
constexpr char kTagField2Varint = 0x10;

std::size_t varint_size(std::uint64_t v) {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

char* put_varint(char* p, std::uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

char* put_bytes_field(char* p, char tag, std::string_view bytes) {
  *p++ = tag;
  p = put_varint(p, bytes.size());
  std::memcpy(p, bytes.data(), bytes.size());
  return p + bytes.size();
}

std::size_t bytes_field_size(std::size_t length) {
  return 1 + varint_size(length) + length;
}

std::size_t label_size(const LabelView& label) {
  return bytes_field_size(label.name.size()) + bytes_field_size(label.value.size());
}

std::size_t sample_size(const SampleValue& sample) {
  // int64 negative values take ten bytes, as protobuf writes them.
  return 1 + 8 + 1 + varint_size(static_cast<std::uint64_t>(sample.timestamp_ms));
}

}  // namespace

double stale_nan() {
  return std::bit_cast<double>(kStaleNaNBits);
}

bool is_stale_nan(double value) {
  return std::bit_cast<std::uint64_t>(value) == kStaleNaNBits;
}

void WriteRequestEncoder::clear() {
  buffer_.clear();
  series_ = 0;
  samples_ = 0;
}

void encode_labels(std::span<const LabelView> labels, std::string& out) {
  std::size_t size = 0;
  for (const auto& label : labels) size += bytes_field_size(label_size(label));
  out.resize(size);
  char* p = out.data();
  for (const auto& label : labels) {
    *p++ = kTagField1Bytes;  // TimeSeries.labels
    p = put_varint(p, label_size(label));
    p = put_bytes_field(p, kTagField1Bytes, label.name);
    p = put_bytes_field(p, kTagField2Bytes, label.value);
  }
}

void WriteRequestEncoder::add_series_views(std::span<const LabelView> labels,
                                           std::span<const SampleValue> samples) {
  encode_labels(labels, labels_scratch_);
  add_series_encoded(labels_scratch_, samples);
}

void WriteRequestEncoder::add_series_encoded(std::string_view encoded_labels,
                                             std::span<const SampleValue> samples) {
  std::size_t series_size = encoded_labels.size();
  for (const auto& sample : samples) series_size += bytes_field_size(sample_size(sample));
  const std::size_t old_size = buffer_.size();
  buffer_.resize(old_size + bytes_field_size(series_size));
  char* p = buffer_.data() + old_size;
  *p++ = kTagField1Bytes;  // WriteRequest.timeseries
  p = put_varint(p, series_size);
  std::memcpy(p, encoded_labels.data(), encoded_labels.size());
  p += encoded_labels.size();
  for (const auto& sample : samples) {
    *p++ = kTagField2Bytes;  // TimeSeries.samples
    p = put_varint(p, sample_size(sample));
    *p++ = kTagField1Fixed64;
    // Protobuf's fixed64 is little-endian, as is every machine we build for.
    static_assert(std::endian::native == std::endian::little);
    std::memcpy(p, &sample.value, 8);
    p += 8;
    *p++ = kTagField2Varint;
    p = put_varint(p, static_cast<std::uint64_t>(sample.timestamp_ms));
  }
  ++series_;
  samples_ += samples.size();
}

void snappy_compress(std::string_view in, std::string& out) {
  out.resize(snappy::MaxCompressedLength(in.size()));
  std::size_t length = 0;
  snappy::RawCompress(in.data(), in.size(), out.data(), &length);
  out.resize(length);
}

bool snappy_uncompress(std::string_view in, std::string& out, std::size_t max_bytes) {
  std::size_t length = 0;
  if (!snappy::GetUncompressedLength(in.data(), in.size(), &length) || length > max_bytes) {
    return false;
  }
  out.resize(length);
  return snappy::RawUncompress(in.data(), in.size(), out.data());
}

namespace {

// A protobuf reader over one message's bytes.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}
  bool done() const { return rest_.empty(); }

  bool varint(std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (rest_.empty()) return false;
      const auto byte = static_cast<unsigned char>(rest_[0]);
      rest_.remove_prefix(1);
      v |= std::uint64_t{byte & 0x7Fu} << shift;
      if (byte < 0x80) return true;
    }
    return false;  // longer than ten bytes
  }

  bool fixed(std::size_t n, std::string_view& out) {
    if (rest_.size() < n) return false;
    out = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return true;
  }

  bool length_delimited(std::string_view& out) {
    std::uint64_t length = 0;
    if (!varint(length) || length > rest_.size()) return false;
    return fixed(static_cast<std::size_t>(length), out);
  }

  // Reads the next field's key; `field` and `wire` out.
  bool key(std::uint64_t& field, int& wire) {
    std::uint64_t k = 0;
    if (!varint(k)) return false;
    field = k >> 3;
    wire = static_cast<int>(k & 7);
    return field != 0;
  }

  // Skips a field of an unknown number; groups (3, 4) are refused.
  bool skip(int wire) {
    std::uint64_t v = 0;
    std::string_view s;
    switch (wire) {
      case 0: return varint(v);
      case 1: return fixed(8, s);
      case 2: return length_delimited(s);
      case 5: return fixed(4, s);
      default: return false;
    }
  }

 private:
  std::string_view rest_;
};

bool decode_label(std::string_view bytes, LabelView& label, std::string& error) {
  Reader r(bytes);
  while (!r.done()) {
    std::uint64_t field = 0;
    int wire = 0;
    if (!r.key(field, wire)) return error = "bad key in Label", false;
    if ((field == 1 || field == 2) && wire == 2) {
      if (!r.length_delimited(field == 1 ? label.name : label.value)) {
        return error = "truncated Label string", false;
      }
    } else if (!r.skip(wire)) {
      return error = "bad field in Label", false;
    }
  }
  return true;
}

bool decode_sample(std::string_view bytes, SampleValue& sample, std::string& error) {
  Reader r(bytes);
  while (!r.done()) {
    std::uint64_t field = 0;
    int wire = 0;
    if (!r.key(field, wire)) return error = "bad key in Sample", false;
    if (field == 1 && wire == 1) {
      std::string_view raw;
      if (!r.fixed(8, raw)) return error = "truncated Sample value", false;
      std::memcpy(&sample.value, raw.data(), 8);
    } else if (field == 2 && wire == 0) {
      std::uint64_t v = 0;
      if (!r.varint(v)) return error = "truncated Sample timestamp", false;
      sample.timestamp_ms = static_cast<std::int64_t>(v);
    } else if (!r.skip(wire)) {
      return error = "bad field in Sample", false;
    }
  }
  return true;
}

bool decode_series(std::string_view bytes, DecodedSeries& series, std::string& error) {
  Reader r(bytes);
  while (!r.done()) {
    std::uint64_t field = 0;
    int wire = 0;
    if (!r.key(field, wire)) return error = "bad key in TimeSeries", false;
    std::string_view inner;
    if ((field == 1 || field == 2) && wire == 2) {
      if (!r.length_delimited(inner)) return error = "truncated TimeSeries field", false;
      if (field == 1) {
        if (!decode_label(inner, series.labels.emplace_back(), error)) return false;
      } else if (!decode_sample(inner, series.samples.emplace_back(), error)) {
        return false;
      }
    } else if (!r.skip(wire)) {
      return error = "bad field in TimeSeries", false;
    }
  }
  return true;
}

}  // namespace

DecodeResult decode_write_request(std::string_view bytes) {
  DecodeResult result;
  Reader r(bytes);
  while (!r.done()) {
    std::uint64_t field = 0;
    int wire = 0;
    if (!r.key(field, wire)) {
      result.error = "bad key in WriteRequest";
      break;
    }
    if (field == 1 && wire == 2) {
      std::string_view inner;
      if (!r.length_delimited(inner)) {
        result.error = "truncated TimeSeries";
        break;
      }
      DecodedSeries series;
      if (!decode_series(inner, series, result.error)) break;
      result.series.push_back(std::move(series));
    } else if (!r.skip(wire)) {
      result.error = "bad field in WriteRequest";
      break;
    }
  }
  return result;
}

void append_text(std::string& out, std::span<const DecodedSeries> series) {
  for (const auto& s : series) {
    std::string_view name;
    for (const auto& label : s.labels) {
      if (label.name == "__name__") name = label.value;
    }
    for (const auto& sample : s.samples) {
      out += name;
      out.push_back('{');
      bool first = true;
      for (const auto& label : s.labels) {
        if (label.name == "__name__") continue;
        if (!first) out.push_back(',');
        first = false;
        out += label.name;
        out += "=\"";
        prometheus::append_label_value(out, label.value);
        out.push_back('"');
      }
      out += "} ";
      if (is_stale_nan(sample.value)) {
        out += "StaleNaN";
      } else {
        prometheus::append_number(out, sample.value);
      }
      char buffer[24];
      const auto result = std::to_chars(buffer, buffer + sizeof buffer, sample.timestamp_ms);
      out.push_back(' ');
      out.append(buffer, result.ptr);
      out.push_back('\n');
    }
  }
}

}  // namespace bucky3::remote_write
