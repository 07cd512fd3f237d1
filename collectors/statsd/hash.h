// collectors/statsd/hash.h — the aggregator's 64-bit hash of series keys, set
// members and cached lines. Inline: it runs once or twice per line.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace bucky3::statsd {

inline std::uint64_t load64(const char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline std::uint64_t load32(const char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Folded 64x64->128 multiply: two multiplies per 16 bytes, good enough
// spread for a table indexed by the low bits and tagged by the high ones.
inline std::uint64_t fold(std::uint64_t a, std::uint64_t b) {
  const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}

inline std::uint64_t hash_bytes(const char* p, std::size_t n) {
  constexpr std::uint64_t k0 = 0xa0761d6478bd642fULL, k1 = 0xe7037ed1a0b428dbULL,
                          k2 = 0x8ebc6af09c88c6e3ULL;
  std::uint64_t h = k2 ^ n;
  while (n > 16) {
    h = fold(load64(p) ^ k0 ^ h, load64(p + 8) ^ k1);
    p += 16;
    n -= 16;
  }
  std::uint64_t a = 0, b = 0;
  if (n >= 8) {
    a = load64(p);
    b = load64(p + n - 8);  // overlaps `a` when n < 16
  } else if (n >= 4) {
    a = load32(p);
    b = load32(p + n - 4);
  } else if (n > 0) {
    a = (std::uint64_t(std::uint8_t(p[0])) << 16) | (std::uint64_t(std::uint8_t(p[n / 2])) << 8) |
        std::uint8_t(p[n - 1]);
  }
  return fold(fold(a ^ k0 ^ h, b ^ k1), k2 ^ n);
}

// A line cut around its value: the bytes before it and the bytes after it.
inline std::uint64_t line_hash(std::string_view prefix, std::string_view suffix) {
  return fold(hash_bytes(prefix.data(), prefix.size()) ^ 0x9E3779B97F4A7C15ULL,
              hash_bytes(suffix.data(), suffix.size()));
}

}  // namespace bucky3::statsd
