// fuzz/fuzz_dump_reader.cpp — the .b3dump reader on arbitrary bytes, fed in pieces
// whose sizes come from the input: it must never crash or read out of bounds, and
// every error must say why.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "shm/dump.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using bucky3::shm::dump::Reader;
  // The first byte picks the piece size (1..256), so incremental paths get fuzzed too;
  // the seeds in fuzz/corpus/dump_reader/ are real dumps behind such a byte.
  const std::size_t piece = size ? std::size_t{data[0]} + 1 : 1;
  const auto* bytes = reinterpret_cast<const std::byte*>(data);
  std::size_t pos = size ? 1 : 0;
  Reader reader;
  bucky3::shm::dump::Item item;
  for (;;) {
    const auto status = reader.next(item);
    if (status == Reader::Status::item) continue;
    if (status == Reader::Status::need_more) {
      if (pos == size) {
        reader.finish();
        continue;
      }
      const auto n = std::min(piece, size - pos);
      reader.feed(std::span(bytes + pos, n));
      pos += n;
      continue;
    }
    if (status == Reader::Status::error && reader.error().empty()) std::abort();
    return 0;
  }
}
