// The .b3dump capture format: ring records with their capture time and source, in
// zstd-compressed frames between a header and a trailer. A writer over an ostream
// and an incremental reader fed bytes as they come (a file, a pipe, stdin), both
// pure: no shm, no terminal. Byte layout: docs/DUMP.md.
#pragma once
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace bucky3::shm::dump {

// "B3DUMP\r\n": the \r\n catches a file mangled by a text-mode transfer.
inline constexpr char file_magic[8] = {'B', '3', 'D', 'U', 'M', 'P', '\r', '\n'};
// Bumped whenever the layout changes; a reader refuses other versions.
inline constexpr std::uint16_t format_version = 1;
// Limits the reader enforces before allocating (a writer never comes near them).
inline constexpr std::uint32_t max_frame_bytes = 64u << 20;  // compressed and decompressed
inline constexpr std::uint32_t max_header_bytes = 64u << 10;
inline constexpr std::size_t max_name_bytes = 255;  // instance, ring, source, host

struct Header {
  std::string instance;  // the agent's instance ("default")
  std::string ring;      // the destination module whose segment was observed
  std::string source;    // "" = every source of that destination; else the one captured
  std::string host;      // gethostname() of the capturing host
  std::int64_t capture_start_ms = 0;  // Unix ms when the capture started
  std::string writer;                 // "bucky3-ring 0.1.0"
  friend bool operator==(const Header&, const Header&) = default;
};

// One ring record as the observer copied it: a batch in the batch codec's format
// (shm/batch_codec.h). The dump does not decode it; a reader hands it on as is.
struct Record {
  std::int64_t capture_time_ms = 0;  // Unix ms when the observer read it
  std::string source;                // the ring's source module
  std::vector<std::byte> batch;
  friend bool operator==(const Record&, const Record&) = default;
};

// The producer lapped the observer: these records (and bytes) of `source` were
// overwritten before they could be copied, so they are not in the dump.
struct Missed {
  std::int64_t time_ms = 0;
  std::string source;
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
  friend bool operator==(const Missed&, const Missed&) = default;
};

// Written by close(); totals the reader checks against what it read.
struct Trailer {
  std::int64_t end_time_ms = 0;
  std::uint64_t frames = 0;
  std::uint64_t records = 0;
  std::uint64_t missed_records = 0;
  friend bool operator==(const Trailer&, const Trailer&) = default;
};

// What the reader returns one at a time: the header first, the trailer last.
using Item = std::variant<Header, Record, Missed, Trailer>;

// A write failure of the underlying stream, or a use after close().
struct WriteError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct WriterOptions {
  int zstd_level = 1;                  // fast: a capture must keep up with the ring
  std::size_t frame_bytes = 1u << 20;  // a frame is closed once its content reaches this
};

class Writer {
 public:
  // Writes the header at once. The stream must outlive the writer. Throws WriteError.
  Writer(std::ostream& out, const Header& header, const WriterOptions& options = {});
  ~Writer();  // does NOT close: a dump without close() reads as truncated, on purpose
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Buffer an entry; a full frame is compressed and written. Throw WriteError.
  void add_record(std::int64_t capture_time_ms, std::string_view source,
                  std::span<const std::byte> batch);
  void add_missed(std::int64_t time_ms, std::string_view source, std::uint64_t records,
                  std::uint64_t bytes);
  // Ends the current frame (if it holds anything) and flushes the stream, so a
  // reader on the other end of a pipe sees everything added so far.
  void flush();
  // flush(), then the trailer. Nothing may be added afterwards.
  void close(std::int64_t end_time_ms);

  std::uint64_t records() const { return records_; }
  std::uint64_t missed_records() const { return missed_records_; }
  std::uint64_t frames() const { return frames_; }
  std::uint64_t bytes_written() const { return bytes_written_; }  // on the stream so far

 private:
  void check_open() const;
  void write_bytes(const void* data, std::size_t size);
  void end_frame();

  std::ostream& out_;
  WriterOptions options_;
  std::vector<std::byte> content_;     // entries of the frame being built
  std::vector<std::byte> compressed_;  // reused
  struct Compressor;
  std::unique_ptr<Compressor> compressor_;
  std::uint64_t records_ = 0, missed_records_ = 0, frames_ = 0, bytes_written_ = 0;
  bool closed_ = false;
};

// Incremental reader: feed() bytes in any pieces, call next() until it says it
// needs more; finish() once the input ended. Every malformed or short input is
// an error with a message naming the byte offset, never a crash or an overread.
class Reader {
 public:
  Reader();
  ~Reader();
  Reader(Reader&&) noexcept;
  Reader& operator=(Reader&&) noexcept;

  void feed(std::span<const std::byte> bytes);
  void finish();  // no more input: what is incomplete now is a truncation
  // Puts the reader in the error state with this message: for whoever feeds it
  // and fails to read its input ("cannot read: Input/output error").
  void set_error(std::string message);

  enum class Status {
    item,       // `item` holds the next header, record, missed count or trailer
    need_more,  // feed more bytes (or finish())
    end,        // the trailer was read and checked; nothing follows
    error,      // error() says why; the reader stays in this state
  };
  Status next(Item& item);

  // Set once the header was read.
  const std::optional<Header>& header() const;
  const std::string& error() const;  // "truncated: ..." / "corrupt: ..." / "not a .b3dump ..."
  bool truncated() const;            // the error is a cut (the data before it is intact)
  std::uint64_t offset() const;      // bytes of input consumed so far
  std::uint64_t records_read() const;
  std::uint64_t frames_read() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Pulls from a file descriptor (a file, a pipe, stdin) into a Reader: read(2)
// returns what is there, so a live `dump -o -` streams through without waiting
// for a buffer to fill. `fd` is not closed.
class FdReader {
 public:
  explicit FdReader(int fd) : fd_(fd) {}
  // Blocks in read(2) until an item, the end or an error. A read(2) failure is
  // an error of the Reader ("cannot read: ...").
  Reader::Status next(Item& item);
  Reader& reader() { return reader_; }

 private:
  int fd_;
  Reader reader_;
  std::vector<std::byte> buffer_ = std::vector<std::byte>(64 * 1024);
};

}  // namespace bucky3::shm::dump
