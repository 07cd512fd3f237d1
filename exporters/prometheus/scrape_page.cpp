// Scrape bodies and the spliced gzip member; see scrape_page.h.
#include "exporters/prometheus/scrape_page.h"

#include <zlib.h>

#include <stdexcept>

namespace bucky3::prometheus {

std::size_t ScrapePage::size() const {
  std::size_t total = 0;
  for (const auto& chunk : chunks) total += chunk->size();
  return total;
}

std::string ScrapePage::joined() const {
  std::string out;
  out.reserve(size());
  for (const auto& chunk : chunks) out += *chunk;
  return out;
}

namespace {

// Raw deflate (no zlib/gzip framing) of `text` appended to `out`. Z_SYNC_FLUSH ends
// on a byte boundary without a final block, so another raw stream may follow it:
// the decoder just sees more blocks. Z_FINISH writes the final block.
void deflate_raw(std::string& out, std::string_view text, int level, int flush) {
  z_stream stream{};
  // -15: raw deflate with a 32 KiB window.
  if (deflateInit2(&stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  stream.avail_in = static_cast<uInt>(text.size());
  const std::size_t start = out.size();
  out.resize(start + deflateBound(&stream, static_cast<uLong>(text.size())) + 16);
  stream.next_out = reinterpret_cast<Bytef*>(out.data() + start);
  stream.avail_out = static_cast<uInt>(out.size() - start);
  const int result = deflate(&stream, flush);
  const std::size_t produced = stream.total_out;
  deflateEnd(&stream);
  if (result == Z_STREAM_ERROR || stream.avail_in != 0) throw std::runtime_error("deflate failed");
  out.resize(start + produced);
}

void append_le32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

}  // namespace

GzipPrefix gzip_prefix(std::string_view text, int level) {
  // RFC 1952 header: magic, deflate, no flags, no mtime, no extra flags, OS unknown.
  std::string bytes("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
  deflate_raw(bytes, text, level, Z_SYNC_FLUSH);
  GzipPrefix prefix;
  prefix.crc = static_cast<std::uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(text.data()), static_cast<uInt>(text.size())));
  prefix.text_size = text.size();
  prefix.bytes = std::make_shared<const std::string>(std::move(bytes));
  return prefix;
}

std::string gzip_finish(const GzipPrefix& prefix, std::string_view tail, int level) {
  std::string out;
  deflate_raw(out, tail, level, Z_FINISH);
  const auto tail_crc =
      crc32(0, reinterpret_cast<const Bytef*>(tail.data()), static_cast<uInt>(tail.size()));
  const auto crc = crc32_combine(prefix.crc, tail_crc, static_cast<z_off_t>(tail.size()));
  append_le32(out, static_cast<std::uint32_t>(crc));
  // ISIZE is the length modulo 2^32.
  append_le32(out, static_cast<std::uint32_t>(prefix.text_size + tail.size()));
  return out;
}

}  // namespace bucky3::prometheus
