// fuzz/fuzz_batch_decoder.cpp — decode_batch() on arbitrary bytes: it must never
// read out of bounds (ASan) and what it accepts must survive a re-encode.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "shm/batch_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // A copy of exactly `size` bytes, so any read past the end hits ASan's redzone.
  const std::vector<std::byte> record(reinterpret_cast<const std::byte*>(data),
                                      reinterpret_cast<const std::byte*>(data) + size);
  static bucky3::shm::DecodedBatch decoded;  // reused, as consumers do
  if (bucky3::shm::decode_batch(record, decoded)) return 0;
  // Accepted: the views must re-encode to the very same bytes.
  std::vector<bucky3::Metric> metrics;
  metrics.reserve(decoded.metrics.size());
  for (const auto& view : decoded.metrics) metrics.push_back(view.to_metric());
  std::vector<std::byte> again;
  bucky3::shm::encode_batch(metrics, again);
  if (again != record) std::abort();
  return 0;
}
