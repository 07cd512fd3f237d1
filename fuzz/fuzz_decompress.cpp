// fuzz/fuzz_decompress.cpp — datagrams as the receiver sees them: detect, then
// decompress under the real cap and a tiny one. No Boost, no Qt.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "collectors/statsd/decompress.h"

using bucky3::statsd::Compression;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const char> datagram(reinterpret_cast<const char*>(data), size);
  // Shared across inputs, as the receiver reuses one buffer for every datagram.
  static std::string out;
  for (const std::size_t cap : {std::size_t{1} << 20, std::size_t{100}}) {
    const auto compression = bucky3::statsd::detect_compression(datagram);
    const auto error = bucky3::statsd::decompress(datagram, compression, cap, out);
    if (!error && out.size() > cap) std::abort();
  }
  // The first byte forces a decoder, so mutations need not keep a magic intact.
  if (size > 0) {
    const auto forced = static_cast<Compression>(data[0] % 4);
    const auto error = bucky3::statsd::decompress(datagram.subspan(1), forced, 4096, out);
    if (!error && out.size() > 4096) std::abort();
  }
  return 0;
}
