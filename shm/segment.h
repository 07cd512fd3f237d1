// Destination segments in /dev/shm: one per destination module, one SPSC ring of
// variable-length records per source, a futex doorbell, and the cursors on a ring.
// Layout, memory orders and crash semantics: docs/SHM.md.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bucky3::shm {

struct SegmentLayout;  // shm/layout.h
struct RingHeader;

// "bucky3.<instance>.<suffix>"; the file is /dev/shm/<that>.
std::string segment_name(std::string_view instance, std::string_view suffix);

enum class Access { read_write, read_only };

// The message names the segment and what is wrong with it.
struct ShmError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct SegmentOptions {
  std::uint64_t ring_size_bytes = 8 << 20;  // per ring; rounded down to a multiple of 64
  std::optional<std::string> shm_group;     // set: mode 0640 and this group; else 0600
};

// Smallest ring_size_bytes accepted.
inline constexpr std::uint64_t min_ring_size_bytes = 256;
// Framing per record (a length word and a type word), and records start 8-aligned.
inline constexpr std::size_t record_header_bytes = 8;
// The largest record a ring of `ring_size_bytes` takes: half the ring (so a record
// always fits once the consumer has caught up, wherever the write position is), and
// at most 4 GiB - 8 (the record header's size field).
std::size_t max_record_bytes(std::uint64_t ring_size_bytes);

class DestinationSegment {
 public:
  // Creates /dev/shm/bucky3.<instance>.<destination> with one ring per source,
  // replacing a stale segment of that name. Throws ShmError.
  static DestinationSegment create(std::string_view instance, std::string_view destination,
                                   const std::vector<std::string>& sources,
                                   const SegmentOptions& options);
  // Throws ShmError when absent, not a destination segment, of another layout
  // version, or truncated. read_only maps it read-only: a write through it faults.
  static DestinationSegment open(std::string_view instance, std::string_view destination,
                                 Access access);
  static void remove(std::string_view instance,
                     std::string_view destination);  // no error if absent

  DestinationSegment(DestinationSegment&&) noexcept;
  DestinationSegment& operator=(DestinationSegment&&) noexcept;
  ~DestinationSegment();

  const std::string& name() const;  // "bucky3.<instance>.<destination>"
  std::string_view destination() const;
  Access access() const;
  std::size_t ring_count() const;
  std::uint64_t ring_capacity() const;  // bytes of each ring
  std::string_view source_name(std::size_t ring) const;
  std::optional<std::size_t> ring_index(std::string_view source) const;

  // Consumer side: returns at once when any ring holds a record not yet
  // committed by its reader; else sleeps until a producer publishes one, the
  // timeout passes or a signal arrives. Returns whether a record is there.
  // On a read-only segment (which cannot ring the doorbell) it polls every
  // millisecond for a new write position instead.
  bool wait_for_data(std::chrono::milliseconds timeout);

  struct RingStats {
    std::uint64_t capacity;         // bytes
    std::uint64_t write_pos;        // bytes ever published; never wraps
    std::uint64_t read_pos;         // bytes ever committed by the reader
    std::uint64_t records_written;  // records published
    std::uint64_t records_dropped;  // records refused because the ring was full (or too big)
    std::uint64_t bytes_written;    // payload bytes published
    std::uint64_t bytes_dropped;    // payload bytes of the refused records
  };
  RingStats ring_stats(std::size_t ring) const;

 private:
  // The raw layout, for the cursors below and for tests that fake a crash
  // (tests/support/shm_access.h).
  friend class RingWriter;
  friend class RingReader;
  friend class RingObserver;
  friend struct SegmentTestAccess;
  RingHeader& ring_header(std::size_t ring) const;
  std::byte* ring_data(std::size_t ring) const;
  SegmentLayout& layout() const;

  struct Mapping;
  explicit DestinationSegment(std::unique_ptr<Mapping> mapping);
  std::unique_ptr<Mapping> mapping_;
};

// The producer of one ring (one per source process and destination). Never blocks.
// Keeps raw pointers into the mapping: the segment must outlive it (moving the
// segment is fine, the mapping stays where it is).
class RingWriter {
 public:
  RingWriter(DestinationSegment& segment, std::size_t ring);  // throws ShmError if read-only
  // Publishes `record` whole or not at all; false = dropped (ring full or record
  // over max_record_bytes), counted in the ring header.
  [[nodiscard]] bool try_write(std::span<const std::byte> record);

 private:
  RingHeader* header_;
  std::byte* data_;
  std::uint64_t capacity_;
  std::uint64_t cached_read_;  // a lower bound of read_pos, saves loading the consumer's line
  struct Doorbell* doorbell_;
};

// The one consumer of a ring. Reads records in place; commits separately, after
// the hand-off, so a restarted consumer resumes at the last commit.
class RingReader {
 public:
  RingReader(DestinationSegment& segment, std::size_t ring);  // throws ShmError if read-only
  // The oldest uncommitted record, in place; valid until commit(). Peeking again
  // without a commit returns the same record.
  [[nodiscard]] std::optional<std::span<const std::byte>> peek();
  // Advances past the record of the last peek() (no-op without one).
  void commit();
  // Records not yet committed, in bytes including framing (bench_ring_dump's wake figures).
  std::uint64_t backlog_bytes() const;

 private:
  RingHeader* header_;
  const std::byte* data_;
  std::uint64_t capacity_;
  std::uint64_t read_;                 // our read_pos; we are its only writer
  std::uint64_t cached_write_;         // last write_pos seen
  std::optional<std::uint64_t> next_;  // read_pos after the peeked record
  std::string ring_name_;
};

// A read-only follower of the newest records of a ring: never writes to the
// segment, works on a read-only mapping, and notices when the producer wrapped
// over the bytes it was reading.
class RingObserver {
 public:
  RingObserver(const DestinationSegment& segment,
               std::size_t ring);  // starts at the write position
  enum class Result {
    record,   // `copy` holds the next record
    none,     // nothing new
    overrun,  // records were overwritten before or while copying; skipped to the write position
  };
  [[nodiscard]] Result next(std::vector<std::byte>& copy);
  std::uint64_t position() const { return cursor_; }
  std::uint64_t overruns() const { return overruns_; }  // times next() returned overrun

 private:
  const RingHeader* header_;
  const std::byte* data_;
  std::uint64_t capacity_;
  std::uint64_t cursor_;
  std::uint64_t overruns_ = 0;
};

}  // namespace bucky3::shm
