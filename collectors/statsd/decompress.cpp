// Streaming zlib/gzip/zstd decoders with an output cap; see decompress.h.
#include "collectors/statsd/decompress.h"

#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <climits>
#include <cstring>

namespace bucky3::statsd {
namespace {

constexpr DecompressError kTruncated{"truncated compressed data"};
constexpr DecompressError kTrailing{"trailing bytes after compressed data"};
constexpr DecompressError kOverCap{kOverMaxDatagramSize};

bool starts_with(std::span<const char> data, std::string_view magic) {
  return data.size() >= magic.size() && std::memcmp(data.data(), magic.data(), magic.size()) == 0;
}

// One decoder of each kind per thread, reset for every datagram: creating them
// costs a few allocations (zstd: ~100 KiB), too much for every datagram.
struct InflateState {
  z_stream stream{};
  bool ready = false;
  InflateState() { ready = inflateInit2(&stream, 15 + 32) == Z_OK; }
  ~InflateState() {
    if (ready) inflateEnd(&stream);
  }
};

struct ZstdState {
  ZSTD_DCtx* context = ZSTD_createDCtx();
  ~ZstdState() { ZSTD_freeDCtx(context); }
};

// The output grows as the decoder fills it, never past `limit`: max_output + 1,
// the extra byte telling "exactly at the cap" from "over it".
class Output {
 public:
  Output(std::string& out, std::size_t max_output, std::size_t input_size)
      : out_(out),
        limit_(max_output == SIZE_MAX ? max_output : max_output + 1),
        max_output_(max_output),
        first_size_(std::max<std::size_t>(4096, input_size * 4)) {
    out_.clear();
  }
  // Makes room after `produced`; false when the cap is reached.
  bool make_room() {
    if (produced_ < out_.size()) return true;
    if (produced_ >= limit_) return false;
    out_.resize(std::min(limit_, std::max(first_size_, produced_ * 2)));
    return true;
  }
  char* next() { return out_.data() + produced_; }
  std::size_t room() const { return out_.size() - produced_; }
  void advance_to(std::size_t produced) { produced_ = produced; }
  std::size_t produced() const { return produced_; }
  std::optional<DecompressError> finish() {
    out_.resize(std::min(produced_, out_.size()));
    if (produced_ > max_output_) return kOverCap;
    return std::nullopt;
  }

 private:
  std::string& out_;
  const std::size_t limit_;
  const std::size_t max_output_;
  const std::size_t first_size_;
  std::size_t produced_ = 0;
};

std::optional<DecompressError> inflate_into(std::span<const char> in, bool gzip,
                                            std::size_t max_output, std::string& out) {
  thread_local InflateState state;
  if (!state.ready) return DecompressError{"zlib initialisation failed"};
  if (in.size() > UINT_MAX) return kOverCap;
  z_stream& stream = state.stream;
  // 15: the largest window; +16 reads a gzip header and trailer instead of zlib's.
  if (inflateReset2(&stream, gzip ? 15 + 16 : 15) != Z_OK) {
    return DecompressError{"zlib reset failed"};
  }
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  stream.avail_in = static_cast<uInt>(in.size());
  Output output(out, max_output, in.size());
  for (;;) {
    if (!output.make_room()) return kOverCap;
    auto* begin = reinterpret_cast<Bytef*>(output.next());
    stream.next_out = begin;
    stream.avail_out = static_cast<uInt>(std::min<std::size_t>(output.room(), UINT_MAX));
    const int rc = inflate(&stream, Z_NO_FLUSH);
    output.advance_to(output.produced() + static_cast<std::size_t>(stream.next_out - begin));
    switch (rc) {
      case Z_OK: continue;
      case Z_STREAM_END:
        if (stream.avail_in == 0) return output.finish();
        // gzip allows several members back to back (cat a.gz b.gz).
        if (gzip && stream.avail_in >= 2 && stream.next_in[0] == 0x1f &&
            stream.next_in[1] == 0x8b) {
          inflateReset(&stream);
          continue;
        }
        return kTrailing;
      case Z_BUF_ERROR:
        // No progress: either the output is full (make room and go on) or the
        // input ended before the stream did.
        if (stream.avail_out == 0) continue;
        return kTruncated;
      case Z_NEED_DICT: return DecompressError{"zlib preset dictionary not supported"};
      case Z_MEM_ERROR: return DecompressError{"out of memory"};
      default:
        return gzip ? DecompressError{"corrupt gzip data"} : DecompressError{"corrupt zlib data"};
    }
  }
}

// A frame declares a window the decoder must allocate when its content size is
// not in the header; 2^23 (8 MiB) covers zstd's streaming levels up to 19, the
// cap keeps a hostile header from costing more.
// 27 is zstd's own default limit (ZSTD_WINDOWLOG_LIMIT_DEFAULT, not public API).
int zstd_window_log_max(std::size_t max_output) {
  int log = 23;
  while (log < 27 && (std::size_t{1} << log) < max_output) ++log;
  return log;
}

std::optional<DecompressError> zstd_into(std::span<const char> in, std::size_t max_output,
                                         std::string& out) {
  thread_local ZstdState state;
  if (state.context == nullptr) return DecompressError{"zstd initialisation failed"};
  // A frame that says up front it is too big costs nothing to refuse.
  const auto declared = ZSTD_getFrameContentSize(in.data(), in.size());
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR &&
      declared > max_output) {
    out.clear();
    return kOverCap;
  }
  ZSTD_DCtx_reset(state.context, ZSTD_reset_session_and_parameters);
  ZSTD_DCtx_setParameter(state.context, ZSTD_d_windowLogMax, zstd_window_log_max(max_output));
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  Output output(out, max_output, in.size());
  for (;;) {
    if (!output.make_room()) return kOverCap;
    ZSTD_outBuffer buffer{output.next(), output.room(), 0};
    const std::size_t rc = ZSTD_decompressStream(state.context, &buffer, &input);
    output.advance_to(output.produced() + buffer.pos);
    if (ZSTD_isError(rc)) {
      if (ZSTD_getErrorCode(rc) == ZSTD_error_frameParameter_windowTooLarge) {
        return DecompressError{"zstd window larger than allowed"};
      }
      return DecompressError{"corrupt zstd data"};
    }
    const bool input_done = input.pos == input.size;
    // 0: a frame is complete and flushed; more input may hold another frame.
    if (rc == 0 && input_done) return output.finish();
    if (input_done && buffer.pos < buffer.size) return kTruncated;
  }
}

}  // namespace

Compression detect_compression(std::span<const char> data) {
  if (data.size() >= 2) {
    const auto b0 = static_cast<unsigned char>(data[0]);
    const auto b1 = static_cast<unsigned char>(data[1]);
    // CMF 0x78: deflate with a 32 KiB window; FLG's level bits give the four
    // second bytes, and FCHECK makes CMF*256+FLG a multiple of 31.
    if (b0 == 0x78 && (b1 == 0x01 || b1 == 0x5e || b1 == 0x9c || b1 == 0xda) &&
        (b0 * 256 + b1) % 31 == 0) {
      return Compression::zlib;
    }
    if (b0 == 0x1f && b1 == 0x8b) return Compression::gzip;
  }
  if (starts_with(data, "\x28\xb5\x2f\xfd")) return Compression::zstd;
  return Compression::none;
}

std::string_view to_string(Compression compression) {
  switch (compression) {
    case Compression::none: return "none";
    case Compression::zlib: return "zlib";
    case Compression::gzip: return "gzip";
    case Compression::zstd: return "zstd";
  }
  return "unknown";
}

std::optional<DecompressError> decompress(std::span<const char> in, Compression compression,
                                          std::size_t max_output, std::string& out) {
  switch (compression) {
    case Compression::none:
      if (in.size() > max_output) {
        out.clear();
        return kOverCap;
      }
      out.assign(in.data(), in.size());
      return std::nullopt;
    case Compression::zlib: return inflate_into(in, false, max_output, out);
    case Compression::gzip: return inflate_into(in, true, max_output, out);
    case Compression::zstd: return zstd_into(in, max_output, out);
  }
  return DecompressError{"unknown compression"};
}

}  // namespace bucky3::statsd
