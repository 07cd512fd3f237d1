// One scrape's response body as shared immutable chunks, so a cached page is sent
// to any number of clients without a copy and a slow client pins no memory of its own.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bucky3::prometheus {

struct ScrapePage {
  // The body is these chunks, concatenated.
  std::vector<std::shared_ptr<const std::string>> chunks;
  bool gzip = false;  // the chunks form one gzip member (Content-Encoding: gzip)
  std::size_t size() const;
  std::string joined() const;  // for tests and tools
};

// A cached gzip prefix: the gzip header and the deflated text, ended with a sync
// flush so that any tail can be deflated later and spliced after it.
struct GzipPrefix {
  std::shared_ptr<const std::string> bytes;
  std::uint32_t crc = 0;        // CRC-32 of the uncompressed text
  std::uint64_t text_size = 0;  // uncompressed length
};

GzipPrefix gzip_prefix(std::string_view text, int level = 1);

// The rest of the member: `tail` deflated as the final blocks, then the gzip trailer.
std::string gzip_finish(const GzipPrefix& prefix, std::string_view tail, int level = 1);

}  // namespace bucky3::prometheus
