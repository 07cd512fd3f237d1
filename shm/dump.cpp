// .b3dump writer and incremental reader; the bytes are drawn in docs/DUMP.md.
#include "shm/dump.h"

#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <ostream>

namespace bucky3::shm::dump {

namespace {

// Little-endian tags, as the bytes read in a hex dump.
constexpr std::uint32_t frame_tag = 0x5a463342;    // "B3FZ": a zstd frame of entries
constexpr std::uint32_t trailer_tag = 0x52543342;  // "B3TR"
constexpr std::uint8_t entry_record = 1;
constexpr std::uint8_t entry_missed = 2;
constexpr std::size_t prefix_bytes = 16;      // magic, version, flags, header length
constexpr std::size_t frame_head_bytes = 16;  // tag, compressed, content, crc
constexpr std::uint32_t trailer_body_bytes = 32;
constexpr std::size_t trailer_bytes = 4 + 4 + trailer_body_bytes + 4;

void put_u8(std::vector<std::byte>& out, std::uint8_t v) {
  out.push_back(std::byte{v});
}
void put_u16(std::vector<std::byte>& out, std::uint16_t v) {
  for (int i = 0; i < 2; ++i) out.push_back(std::byte(static_cast<std::uint8_t>(v >> (8 * i))));
}
void put_u32(std::vector<std::byte>& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(std::byte(static_cast<std::uint8_t>(v >> (8 * i))));
}
void put_u64(std::vector<std::byte>& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(std::byte(static_cast<std::uint8_t>(v >> (8 * i))));
}
void put_bytes(std::vector<std::byte>& out, const void* data, std::size_t size) {
  const auto* p = static_cast<const std::byte*>(data);
  out.insert(out.end(), p, p + size);
}
void put_str(std::vector<std::byte>& out, std::string_view s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  put_bytes(out, s.data(), s.size());
}

std::uint32_t crc_of(const std::byte* data, std::size_t size) {
  return static_cast<std::uint32_t>(
      ::crc32(0L, reinterpret_cast<const Bytef*>(data), static_cast<uInt>(size)));
}

void check_name(std::string_view what, std::string_view value) {
  if (value.size() > max_name_bytes) {
    throw WriteError(std::string(what) + " is " + std::to_string(value.size()) +
                     " bytes, over the dump's limit of " + std::to_string(max_name_bytes));
  }
}

// Bounds-checked reads from a span; every failure sets `failed` and returns 0.
struct Cursor {
  std::span<const std::byte> data;
  std::size_t pos = 0;
  bool failed = false;

  std::size_t left() const { return data.size() - pos; }
  bool take(std::size_t n) {
    if (failed || left() < n) {
      failed = true;
      return false;
    }
    return true;
  }
  std::uint64_t uint(int bytes) {
    if (!take(static_cast<std::size_t>(bytes))) return 0;
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i)
      v |= std::uint64_t(std::to_integer<std::uint8_t>(data[pos + i])) << (8 * i);
    pos += static_cast<std::size_t>(bytes);
    return v;
  }
  std::string str(std::size_t limit, std::string& why, const char* what) {
    const auto size = uint(4);
    if (failed) {
      why = std::string("the length of ") + what + " is cut off";
      return {};
    }
    if (size > limit || size > left()) {
      failed = true;
      why = std::string(what) + " claims " + std::to_string(size) + " bytes, " +
            (size > limit ? "over the limit of " + std::to_string(limit)
                          : "but only " + std::to_string(left()) + " are left");
      return {};
    }
    std::string s(reinterpret_cast<const char*>(data.data() + pos), size);
    pos += size;
    return s;
  }
};

std::string hex_bytes(std::span<const std::byte> bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (const auto b : bytes) {
    const auto v = std::to_integer<unsigned>(b);
    if (!out.empty()) out += ' ';
    out += digits[v >> 4];
    out += digits[v & 15];
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------- writer

struct Writer::Compressor {
  ZSTD_CCtx* ctx = ZSTD_createCCtx();
  ~Compressor() { ZSTD_freeCCtx(ctx); }
};

Writer::Writer(std::ostream& out, const Header& header, const WriterOptions& options)
    : out_(out), options_(options), compressor_(std::make_unique<Compressor>()) {
  if (!compressor_->ctx) throw WriteError("cannot create a zstd context");
  ZSTD_CCtx_setParameter(compressor_->ctx, ZSTD_c_compressionLevel, options_.zstd_level);
  // zstd's own content checksum: a flipped bit inside a frame is caught even when
  // the frame's crc32 was damaged in the same place.
  ZSTD_CCtx_setParameter(compressor_->ctx, ZSTD_c_checksumFlag, 1);
  check_name("instance", header.instance);
  check_name("ring", header.ring);
  check_name("source", header.source);
  check_name("host", header.host);
  check_name("writer", header.writer);
  std::vector<std::byte> body;
  put_str(body, header.instance);
  put_str(body, header.ring);
  put_str(body, header.source);
  put_str(body, header.host);
  put_u64(body, static_cast<std::uint64_t>(header.capture_start_ms));
  put_str(body, header.writer);
  std::vector<std::byte> head;
  put_bytes(head, file_magic, sizeof file_magic);
  put_u16(head, format_version);
  put_u16(head, 0);  // flags
  put_u32(head, static_cast<std::uint32_t>(body.size()));
  put_bytes(head, body.data(), body.size());
  put_u32(head, crc_of(body.data(), body.size()));
  write_bytes(head.data(), head.size());
  out_.flush();
  if (!out_) throw WriteError("cannot write the dump header");
}

Writer::~Writer() = default;

void Writer::check_open() const {
  if (closed_) throw WriteError("the dump is already closed");
}

void Writer::write_bytes(const void* data, std::size_t size) {
  out_.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out_) throw WriteError("cannot write to the dump: " + std::string(std::strerror(errno)));
  bytes_written_ += size;
}

void Writer::add_record(std::int64_t capture_time_ms, std::string_view source,
                        std::span<const std::byte> batch) {
  check_open();
  check_name("source", source);
  const std::size_t entry = 1 + 8 + 4 + source.size() + 4 + batch.size();
  if (entry > max_frame_bytes) {
    throw WriteError("a record of " + std::to_string(batch.size()) +
                     " bytes is over the dump's frame limit of 64 MiB");
  }
  if (content_.size() + entry > max_frame_bytes) end_frame();
  put_u8(content_, entry_record);
  put_u64(content_, static_cast<std::uint64_t>(capture_time_ms));
  put_str(content_, source);
  put_u32(content_, static_cast<std::uint32_t>(batch.size()));
  put_bytes(content_, batch.data(), batch.size());
  ++records_;
  if (content_.size() >= options_.frame_bytes) end_frame();
}

void Writer::add_missed(std::int64_t time_ms, std::string_view source, std::uint64_t records,
                        std::uint64_t bytes) {
  check_open();
  check_name("source", source);
  put_u8(content_, entry_missed);
  put_u64(content_, static_cast<std::uint64_t>(time_ms));
  put_str(content_, source);
  put_u64(content_, records);
  put_u64(content_, bytes);
  missed_records_ += records;
  if (content_.size() >= options_.frame_bytes) end_frame();
}

void Writer::end_frame() {
  if (content_.empty()) return;
  compressed_.resize(ZSTD_compressBound(content_.size()));
  const auto size = ZSTD_compress2(compressor_->ctx, compressed_.data(), compressed_.size(),
                                   content_.data(), content_.size());
  if (ZSTD_isError(size)) throw WriteError(std::string("zstd: ") + ZSTD_getErrorName(size));
  std::vector<std::byte> head;
  put_u32(head, frame_tag);
  put_u32(head, static_cast<std::uint32_t>(size));
  put_u32(head, static_cast<std::uint32_t>(content_.size()));
  put_u32(head, crc_of(compressed_.data(), size));
  write_bytes(head.data(), head.size());
  write_bytes(compressed_.data(), size);
  content_.clear();
  ++frames_;
}

void Writer::flush() {
  check_open();
  end_frame();
  out_.flush();
  if (!out_) throw WriteError("cannot write to the dump: " + std::string(std::strerror(errno)));
}

void Writer::close(std::int64_t end_time_ms) {
  flush();
  std::vector<std::byte> body;
  put_u64(body, static_cast<std::uint64_t>(end_time_ms));
  put_u64(body, frames_);
  put_u64(body, records_);
  put_u64(body, missed_records_);
  std::vector<std::byte> trailer;
  put_u32(trailer, trailer_tag);
  put_u32(trailer, trailer_body_bytes);
  put_bytes(trailer, body.data(), body.size());
  put_u32(trailer, crc_of(body.data(), body.size()));
  write_bytes(trailer.data(), trailer.size());
  out_.flush();
  if (!out_) throw WriteError("cannot write to the dump: " + std::string(std::strerror(errno)));
  closed_ = true;
}

// ---------------------------------------------------------------- reader

struct Reader::State {
  enum class Stage { header, frames, content, done, failed } stage = Stage::header;
  std::vector<std::byte> input;  // bytes fed and not yet consumed start at input_pos
  std::size_t input_pos = 0;
  std::uint64_t consumed = 0;  // absolute offset of input[input_pos]
  bool finished = false;
  std::optional<Header> header;
  std::string error;
  bool truncated = false;
  // The frame being walked.
  std::vector<std::byte> content;
  std::size_t content_pos = 0;
  std::uint64_t frame_offset = 0;
  std::uint64_t entry_index = 0;
  std::uint64_t frames = 0, records = 0, missed_records = 0;
  ZSTD_DCtx* dctx = nullptr;

  ~State() { ZSTD_freeDCtx(dctx); }

  std::span<const std::byte> available() const {
    return std::span<const std::byte>(input).subspan(input_pos);
  }
  void consume(std::size_t n) {
    input_pos += n;
    consumed += n;
    // Compact once the consumed part dominates, so a long stream does not grow the buffer.
    if (input_pos > 65536 && input_pos * 2 > input.size()) {
      input.erase(input.begin(), input.begin() + static_cast<std::ptrdiff_t>(input_pos));
      input_pos = 0;
    }
  }
  Status fail(std::string message, bool cut = false) {
    stage = Stage::failed;
    error = std::move(message);
    truncated = cut;
    return Status::error;
  }
  Status read_header(Item& item);
  Status read_block(Item& item);
  Status read_entry(Item& item);
};

Reader::Reader() : state_(std::make_unique<State>()) {}
Reader::~Reader() = default;
Reader::Reader(Reader&&) noexcept = default;
Reader& Reader::operator=(Reader&&) noexcept = default;

void Reader::feed(std::span<const std::byte> bytes) {
  state_->input.insert(state_->input.end(), bytes.begin(), bytes.end());
}

void Reader::finish() {
  state_->finished = true;
}
void Reader::set_error(std::string message) {
  state_->fail(std::move(message));
}

const std::optional<Header>& Reader::header() const {
  return state_->header;
}
const std::string& Reader::error() const {
  return state_->error;
}
bool Reader::truncated() const {
  return state_->truncated;
}
std::uint64_t Reader::offset() const {
  return state_->consumed;
}
std::uint64_t Reader::records_read() const {
  return state_->records;
}
std::uint64_t Reader::frames_read() const {
  return state_->frames;
}

Reader::Status Reader::next(Item& item) {
  auto& s = *state_;
  using Stage = State::Stage;
  switch (s.stage) {
    case Stage::header: return s.read_header(item);
    case Stage::frames: return s.read_block(item);
    case Stage::content: return s.read_entry(item);
    case Stage::done:
      if (!s.available().empty()) {
        return s.fail("corrupt: " + std::to_string(s.available().size()) +
                      " bytes follow the trailer at byte " + std::to_string(s.consumed));
      }
      return Status::end;
    case Stage::failed: return Status::error;
  }
  return Status::error;
}

Reader::Status Reader::State::read_header(Item& item) {
  const auto in = available();
  // Check the magic as soon as its bytes arrive, so garbage on stdin is named at once.
  const auto magic_seen = std::min(in.size(), sizeof file_magic);
  if (magic_seen > 0 && std::memcmp(in.data(), file_magic, magic_seen) != 0) {
    if (in.size() >= 7 && std::memcmp(in.data(), "B3DUMP\n", 7) == 0) {
      return fail(
          "not a .b3dump file: it starts with \"B3DUMP\\n\", as if a text-mode copy "
          "turned \\r\\n into \\n");
    }
    return fail("not a .b3dump file: it starts with " + hex_bytes(in.first(magic_seen)));
  }
  if (in.size() < prefix_bytes) {
    if (!finished) return Status::need_more;
    if (in.empty()) return fail("truncated: the input is empty, not a .b3dump file", true);
    return fail(
        "truncated: the dump ends inside its header, after " + std::to_string(in.size()) + " bytes",
        true);
  }
  Cursor c{in.subspan(sizeof file_magic)};
  const auto version = c.uint(2);
  const auto flags = c.uint(2);
  const auto body_size = c.uint(4);
  if (version != format_version) {
    return fail("dump format version " + std::to_string(version) + ", this build reads version " +
                std::to_string(format_version));
  }
  if (flags != 0) return fail("corrupt: unknown header flags " + std::to_string(flags));
  if (body_size > max_header_bytes) {
    return fail("corrupt: the header claims " + std::to_string(body_size) + " bytes (limit " +
                std::to_string(max_header_bytes) + ")");
  }
  const auto total = prefix_bytes + body_size + 4;
  if (in.size() < total) {
    if (!finished) return Status::need_more;
    return fail("truncated: the dump ends inside its header (" + std::to_string(in.size()) +
                    " of its " + std::to_string(total) + " bytes)",
                true);
  }
  const auto body = in.subspan(prefix_bytes, body_size);
  Cursor crc_cursor{in.subspan(prefix_bytes + body_size, 4)};
  if (crc_cursor.uint(4) != crc_of(body.data(), body.size())) {
    return fail("corrupt: the header fails its checksum");
  }
  Cursor b{body};
  Header h;
  std::string why;
  h.instance = b.str(max_name_bytes, why, "the instance name");
  h.ring = b.str(max_name_bytes, why, "the ring name");
  h.source = b.str(max_name_bytes, why, "the source name");
  h.host = b.str(max_name_bytes, why, "the host name");
  h.capture_start_ms = static_cast<std::int64_t>(b.uint(8));
  h.writer = b.str(max_name_bytes, why, "the writer name");
  if (b.failed) return fail("corrupt: header: " + (why.empty() ? "cut short" : why));
  if (b.left() != 0) {
    return fail("corrupt: header: " + std::to_string(b.left()) + " unexpected bytes at its end");
  }
  consume(total);
  header = h;
  item = std::move(h);
  stage = Stage::frames;
  return Status::item;
}

Reader::Status Reader::State::read_block(Item& item) {
  const auto in = available();
  const auto at = std::to_string(consumed);
  if (in.size() < 4) {
    if (!finished) return Status::need_more;
    if (in.empty()) {
      return fail("truncated: the dump ends after frame " + std::to_string(frames) + " at byte " +
                      at +
                      " without its trailer (cut at a frame boundary, or the capture was killed "
                      "before it closed the file)",
                  true);
    }
    return fail("truncated: cut at byte " + std::to_string(consumed + in.size()) +
                    ", inside the head of the block at byte " + at,
                true);
  }
  Cursor c{in};
  const auto tag = static_cast<std::uint32_t>(c.uint(4));
  if (tag == trailer_tag) {
    if (in.size() < trailer_bytes) {
      if (!finished) return Status::need_more;
      return fail("truncated: cut inside the trailer at byte " + at + " (" +
                      std::to_string(in.size()) + " of its " + std::to_string(trailer_bytes) +
                      " bytes)",
                  true);
    }
    const auto body_size = c.uint(4);
    if (body_size != trailer_body_bytes) {
      return fail("corrupt: the trailer at byte " + at + " claims " + std::to_string(body_size) +
                  " bytes, not " + std::to_string(trailer_body_bytes));
    }
    const auto body = in.subspan(8, trailer_body_bytes);
    Trailer t;
    t.end_time_ms = static_cast<std::int64_t>(c.uint(8));
    t.frames = c.uint(8);
    t.records = c.uint(8);
    t.missed_records = c.uint(8);
    if (c.uint(4) != crc_of(body.data(), body.size())) {
      return fail("corrupt: the trailer at byte " + at + " fails its checksum");
    }
    if (t.frames != frames || t.records != records || t.missed_records != missed_records) {
      return fail("corrupt: the trailer counts " + std::to_string(t.frames) + " frames, " +
                  std::to_string(t.records) + " records and " + std::to_string(t.missed_records) +
                  " missed; the file holds " + std::to_string(frames) + ", " +
                  std::to_string(records) + " and " + std::to_string(missed_records));
    }
    consume(trailer_bytes);
    item = t;
    stage = Stage::done;
    return Status::item;
  }
  if (tag != frame_tag) {
    return fail("corrupt: unknown block tag " + hex_bytes(in.first(4)) + " at byte " + at);
  }
  const auto frame_number = std::to_string(frames + 1);
  if (in.size() < frame_head_bytes) {
    if (!finished) return Status::need_more;
    return fail("truncated: cut inside the head of frame " + frame_number + " at byte " + at, true);
  }
  const auto compressed_size = c.uint(4);
  const auto content_size = c.uint(4);
  const auto crc = static_cast<std::uint32_t>(c.uint(4));
  if (compressed_size > max_frame_bytes || content_size > max_frame_bytes || content_size == 0) {
    return fail("corrupt: frame " + frame_number + " at byte " + at + " claims " +
                std::to_string(compressed_size) + " compressed and " +
                std::to_string(content_size) + " content bytes (limit " +
                std::to_string(max_frame_bytes) + ", content at least 1)");
  }
  if (in.size() < frame_head_bytes + compressed_size) {
    if (!finished) return Status::need_more;
    return fail("truncated: cut inside frame " + frame_number + ", which starts at byte " + at +
                    " and is " + std::to_string(frame_head_bytes + compressed_size) +
                    " bytes long; the input ends " + std::to_string(in.size()) + " bytes into it",
                true);
  }
  const auto compressed = in.subspan(frame_head_bytes, compressed_size);
  if (crc != crc_of(compressed.data(), compressed.size())) {
    return fail("corrupt: frame " + frame_number + " at byte " + at + " fails its checksum");
  }
  const auto declared = ZSTD_getFrameContentSize(compressed.data(), compressed.size());
  if (declared != content_size) {
    return fail("corrupt: frame " + frame_number + " at byte " + at +
                ": the zstd frame does not declare the content size in the frame head");
  }
  if (!dctx) dctx = ZSTD_createDCtx();
  if (!dctx) return fail("cannot create a zstd context");
  content.resize(content_size);
  const auto size = ZSTD_decompressDCtx(dctx, content.data(), content.size(), compressed.data(),
                                        compressed.size());
  if (ZSTD_isError(size) || size != content_size) {
    return fail("corrupt: frame " + frame_number + " at byte " + at + " does not decompress: " +
                (ZSTD_isError(size) ? ZSTD_getErrorName(size) : "wrong size"));
  }
  frame_offset = consumed;
  consume(frame_head_bytes + compressed_size);
  ++frames;
  content_pos = 0;
  entry_index = 0;
  stage = Stage::content;
  return read_entry(item);
}

Reader::Status Reader::State::read_entry(Item& item) {
  if (content_pos == content.size()) {
    stage = Stage::frames;
    return read_block(item);
  }
  Cursor c{std::span<const std::byte>(content), content_pos};
  ++entry_index;
  const auto where = [&] {
    return "corrupt: frame " + std::to_string(frames) + " at byte " + std::to_string(frame_offset) +
           ", entry " + std::to_string(entry_index) + ": ";
  };
  std::string why;
  const auto type = c.uint(1);
  const auto time = static_cast<std::int64_t>(c.uint(8));
  if (c.failed) return fail(where() + "cut short");
  if (type == entry_record) {
    Record r;
    r.capture_time_ms = time;
    r.source = c.str(max_name_bytes, why, "the source name");
    const auto size = c.uint(4);
    if (c.failed) return fail(where() + (why.empty() ? "cut short" : why));
    if (size > c.left()) {
      return fail(where() + "the record claims " + std::to_string(size) + " bytes, only " +
                  std::to_string(c.left()) + " are left in the frame");
    }
    r.batch.assign(content.begin() + static_cast<std::ptrdiff_t>(c.pos),
                   content.begin() + static_cast<std::ptrdiff_t>(c.pos + size));
    content_pos = c.pos + size;
    ++records;
    item = std::move(r);
    return Status::item;
  }
  if (type == entry_missed) {
    Missed m;
    m.time_ms = time;
    m.source = c.str(max_name_bytes, why, "the source name");
    m.records = c.uint(8);
    m.bytes = c.uint(8);
    if (c.failed) return fail(where() + (why.empty() ? "cut short" : why));
    content_pos = c.pos;
    missed_records += m.records;
    item = std::move(m);
    return Status::item;
  }
  return fail(where() + "unknown entry type " + std::to_string(type));
}

Reader::Status FdReader::next(Item& item) {
  for (;;) {
    const auto status = reader_.next(item);
    if (status != Reader::Status::need_more) return status;
    const auto n = ::read(fd_, buffer_.data(), buffer_.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      // Surface the failure through the reader, so callers have one error path.
      const std::string message = std::string("cannot read: ") + std::strerror(errno);
      reader_.set_error(message);
      return Reader::Status::error;
    }
    if (n == 0) {
      reader_.finish();
    } else {
      reader_.feed(std::span<const std::byte>(buffer_.data(), static_cast<std::size_t>(n)));
    }
  }
}

}  // namespace bucky3::shm::dump
