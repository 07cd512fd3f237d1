// Compressed StatsD datagrams: recognise zlib, gzip and zstd by their magic and
// inflate them into a caller-owned buffer, never past a size cap. No I/O.
#pragma once
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace bucky3::statsd {

enum class Compression { none, zlib, gzip, zstd };

// Looks only at the first bytes: zlib (0x78 then 0x01/0x5e/0x9c/0xda, a valid
// FCHECK), gzip (1f 8b), zstd (28 b5 2f fd). Anything else is plain text: no
// StatsD line can start with these bytes.
Compression detect_compression(std::span<const char> data);

std::string_view to_string(Compression compression);  // "none", "zlib", "gzip", "zstd"

struct DecompressError {
  std::string_view reason;  // static text: "decompressed size over max_datagram_size"
};

// The reason given when the output would pass `max_output` bytes.
inline constexpr std::string_view kOverMaxDatagramSize = "decompressed size over max_datagram_size";

// Replaces `out` with the decompressed bytes of `in` (a copy for none). Streams,
// and stops as soon as the output would pass `max_output` bytes, so a compression
// bomb costs at most max_output bytes of `out` and the time to produce them.
// Concatenated gzip members and zstd frames are all decoded. `out` keeps its
// capacity across calls: pass the same string for every datagram. Reuses one
// decoder state per thread, so no call allocates once warmed up. On error `out`
// holds an unspecified prefix.
std::optional<DecompressError> decompress(std::span<const char> in, Compression compression,
                                          std::size_t max_output, std::string& out);

}  // namespace bucky3::statsd
