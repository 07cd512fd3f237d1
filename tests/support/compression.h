// Test support: compressing what a test sends (zlib, gzip, zstd, bombs included)
// and gunzipping what it receives. Header-only; `Bytes` is std::string or
// QByteArray. A test using it links ZLIB::ZLIB (and PkgConfig::ZSTD for zstd).
#pragma once
#include <zlib.h>
#include <zstd.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bucky3::test {

// Streams `repeat` copies of `chunk` through deflate at level 9, so a 100 MB bomb
// never exists uncompressed in the test. window_bits 15: zlib, 31: gzip. Empty
// when zlib refuses to start.
template <class Bytes>
Bytes deflate_stream(const Bytes& chunk, int repeat, int window_bits) {
  z_stream stream{};
  if (deflateInit2(&stream, 9, Z_DEFLATED, window_bits, 9, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  Bytes out;
  std::vector<char> buffer(1 << 16);
  for (int i = 0; i < repeat; ++i) {
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(chunk.data()));
    stream.avail_in = uInt(chunk.size());
    const int flush = i + 1 == repeat ? Z_FINISH : Z_NO_FLUSH;
    int rc = Z_OK;
    do {
      stream.next_out = reinterpret_cast<Bytef*>(buffer.data());
      stream.avail_out = uInt(buffer.size());
      rc = deflate(&stream, flush);
      out.append(buffer.data(), buffer.size() - stream.avail_out);
    } while (stream.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
  }
  deflateEnd(&stream);
  return out;
}

// One zstd frame of `text` whose header carries the content size. Empty on error.
template <class Bytes>
Bytes zstd_frame(const Bytes& text, int level) {
  Bytes out;
  out.resize(ZSTD_compressBound(std::size_t(text.size())));
  const auto n = ZSTD_compress(out.data(), std::size_t(out.size()), text.data(),
                               std::size_t(text.size()), level);
  out.resize(ZSTD_isError(n) ? 0 : n);
  return out;
}

// Streams `repeat` copies of `chunk` without a pledged size: the frame header has
// no content size, so only the decoder's own cap stops a bomb.
template <class Bytes>
Bytes zstd_stream(const Bytes& chunk, int repeat) {
  ZSTD_CCtx* context = ZSTD_createCCtx();
  Bytes out;
  std::vector<char> buffer(1 << 16);
  for (int i = 0; i < repeat; ++i) {
    ZSTD_inBuffer input{chunk.data(), std::size_t(chunk.size()), 0};
    const auto mode = i + 1 == repeat ? ZSTD_e_end : ZSTD_e_continue;
    std::size_t remaining = 0;
    do {
      ZSTD_outBuffer output{buffer.data(), buffer.size(), 0};
      remaining = ZSTD_compressStream2(context, &output, &input, mode);
      out.append(buffer.data(), output.pos);
    } while (mode == ZSTD_e_end ? remaining != 0 : input.pos < input.size);
  }
  ZSTD_freeCCtx(context);
  return out;
}

// The text of a whole gzip stream, or "<corrupt gzip>" when it is not exactly one.
inline std::string gunzip(std::string_view in) {
  z_stream stream{};
  inflateInit2(&stream, 16 + 15);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  stream.avail_in = uInt(in.size());
  std::string out;
  std::vector<char> buffer(1 << 16);
  int result = Z_OK;
  while (result == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer.data());
    stream.avail_out = uInt(buffer.size());
    result = inflate(&stream, Z_NO_FLUSH);
    out.append(buffer.data(), buffer.size() - stream.avail_out);
  }
  inflateEnd(&stream);
  return result == Z_STREAM_END && stream.avail_in == 0 ? out : "<corrupt gzip>";
}

}  // namespace bucky3::test
