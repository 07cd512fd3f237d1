// libFuzzer target: the WriteRequest decoder and the text rendering never crash, and
// whatever decodes re-encodes to bytes that decode to the same series.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "exporters/remote_write/write_request.h"

using namespace bucky3::remote_write;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // The same bytes as a snappy body, bounded as a receiver would bound it.
  std::string raw;
  if (snappy_uncompress(input, raw, 1 << 20)) (void)decode_write_request(raw);

  const auto decoded = decode_write_request(input);
  std::string text;
  append_text(text, decoded.series);
  WriteRequestEncoder encoder;
  for (const auto& series : decoded.series) encoder.add_series_views(series.labels, series.samples);
  const auto again = decode_write_request(encoder.bytes());
  if (!again.error.empty() || again.series.size() != decoded.series.size()) std::abort();
  for (std::size_t i = 0; i < again.series.size(); ++i) {
    const auto& a = again.series[i];
    const auto& b = decoded.series[i];
    if (a.labels.size() != b.labels.size() || a.samples.size() != b.samples.size()) std::abort();
    for (std::size_t j = 0; j < a.labels.size(); ++j) {
      if (a.labels[j].name != b.labels[j].name || a.labels[j].value != b.labels[j].value)
        std::abort();
    }
    for (std::size_t j = 0; j < a.samples.size(); ++j) {
      if (std::memcmp(&a.samples[j].value, &b.samples[j].value, 8) != 0 ||
          a.samples[j].timestamp_ms != b.samples[j].timestamp_ms) {
        std::abort();
      }
    }
  }
  return 0;
}
