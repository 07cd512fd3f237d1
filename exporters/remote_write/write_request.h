// Prometheus remote write 1.0: the protobuf WriteRequest (TimeSeries, Label, Sample),
// encoded by hand on the hot path, snappy block compression, and a decoder for the
// readable rendering (replay, tests). Pure functions over buffers; no I/O.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bucky3::remote_write {

// The spec's staleness marker: a NaN with this exact bit pattern ends a series.
inline constexpr std::uint64_t kStaleNaNBits = 0x7ff0000000000002ULL;
double stale_nan();
bool is_stale_nan(double value);

struct LabelView {
  std::string_view name;
  std::string_view value;
};

struct SampleValue {
  double value = 0;
  std::int64_t timestamp_ms = 0;
};

// The labels of one series as serialized TimeSeries.labels fields, replacing `out`.
// Written in the order given: the caller sorts them (prometheus::series_labels() does).
// Equal label sets give equal bytes, so this is also the series' identity key.
void encode_labels(std::span<const LabelView> labels, std::string& out);

// `labels` with `extra`, when set, put at position `extra_at` (a named value's
// `value="<field>"` label, see prometheus::field_label_index()), into `out`.
template <class LabelLike>
void label_views(std::span<const LabelLike> labels, std::optional<LabelView> extra,
                 std::size_t extra_at, std::vector<LabelView>& out) {
  out.clear();
  for (std::size_t i = 0; i <= labels.size(); ++i) {
    if (extra && i == extra_at) out.push_back(*extra);
    if (i < labels.size()) out.push_back({labels[i].name, labels[i].value});
  }
}

// Builds one serialized WriteRequest, series after series. Reuses its buffer across
// requests.
class WriteRequestEncoder {
 public:
  void clear();
  // One TimeSeries from labels already encoded by encode_labels().
  void add_series_encoded(std::string_view encoded_labels, std::span<const SampleValue> samples);
  void add_series_views(std::span<const LabelView> labels, std::span<const SampleValue> samples);
  template <class LabelLike>
  void add_series(std::span<const LabelLike> labels, std::span<const SampleValue> samples,
                  std::optional<LabelView> extra = std::nullopt, std::size_t extra_at = 0) {
    label_views(labels, extra, extra_at, scratch_);
    add_series_views(scratch_, samples);
  }

  std::string_view bytes() const { return buffer_; }
  std::size_t series() const { return series_; }
  std::size_t samples() const { return samples_; }

 private:
  std::string buffer_;
  std::vector<LabelView> scratch_;
  std::string labels_scratch_;
  std::size_t series_ = 0;
  std::size_t samples_ = 0;
};

// Snappy block format (what remote write's `Content-Encoding: snappy` means), into `out`.
void snappy_compress(std::string_view in, std::string& out);
// Back again; false when `in` is not valid snappy or decompresses past `max_bytes`.
bool snappy_uncompress(std::string_view in, std::string& out, std::size_t max_bytes);

// A decoded TimeSeries; views into the decoded buffer.
struct DecodedSeries {
  std::vector<LabelView> labels;
  std::vector<SampleValue> samples;
};

struct DecodeResult {
  std::vector<DecodedSeries> series;
  std::string error;  // empty when the bytes were a valid WriteRequest
};

// Reads the timeseries of a serialized WriteRequest (unknown fields, e.g. metadata,
// skipped as protobuf does). On malformed input, `error` says why and `series` holds
// what came before.
DecodeResult decode_write_request(std::string_view bytes);

// The readable rendering of one WriteRequest (replay output, docs/REMOTE_WRITE.md):
// one sample per line, `<__name__>{<other labels as sent>} <value> <timestamp_ms>`,
// label values escaped as on an exposition page, values in shortest round-trip form,
// `NaN`, `+Inf`, `-Inf`, and `StaleNaN` for the staleness marker.
void append_text(std::string& out, std::span<const DecodedSeries> series);

}  // namespace bucky3::remote_write
