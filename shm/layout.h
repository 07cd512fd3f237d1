// The bytes of a destination segment, shared by every process that maps it.
// Internal to shm/; docs/SHM.md draws the same layout.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace bucky3::shm {

// "B3RINGS" + NUL read as a little-endian u64; the health block has its own.
inline constexpr std::uint64_t destination_magic = 0x0053474e49523342ULL;
inline constexpr std::uint64_t health_magic = 0x48544c4145483342ULL;  // "B3HEALTH"
inline constexpr std::uint32_t destination_layout_version = 1;
inline constexpr std::size_t name_bytes = 64;  // names are at most 63 bytes, NUL-padded

static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
              "positions are shared between processes");
static_assert(std::atomic<std::uint32_t>::is_always_lock_free, "the doorbell is a futex word");

// What every Bucky3 segment starts with, so open() can say what it found.
struct SegmentPrefix {
  // Stored last, with release, once the rest is initialised; pairs with the
  // acquire load in open(). 0 = still being created.
  std::atomic<std::uint64_t> magic;
  std::uint32_t layout_version;
  std::uint32_t header_bytes;  // bytes before the first ring's data (or the first slot)
  std::uint64_t total_bytes;   // the size the creator gave the file
};

// The consumer's doorbell, one per segment, shared by all its rings.
struct Doorbell {
  // The futex word (FUTEX_WAIT/WAKE without FUTEX_PRIVATE_FLAG: it lives in a
  // shared mapping). A producer increments it, with release, when it finds a
  // sleeper; the consumer loads it, with acquire, before its last look at the rings.
  alignas(64) std::atomic<std::uint32_t> sequence;
  // 1 while the consumer is about to sleep or sleeps. Only the consumer stores
  // it; the seq_cst fences on both sides (after this store; after a producer's
  // write_pos store) make sure that either the producer sees 1 or the consumer
  // sees the new record.
  std::atomic<std::uint32_t> sleepers;
};

struct SegmentLayout {
  SegmentPrefix prefix;
  std::uint32_t ring_count;
  std::uint32_t reserved;
  std::uint64_t ring_capacity;  // bytes of data per ring, a multiple of 64
  char destination[name_bytes];
  Doorbell doorbell;
};

// Control block of one ring; written by exactly one producer and one consumer.
struct RingHeader {
  // Producer's cache line: only the producer stores these.
  // Bytes ever published; never wraps. Stored with release after the record's
  // bytes (pairs with the acquire loads in RingReader::peek, RingObserver::next
  // and wait_for_data), so a record is visible whole or not at all.
  alignas(64) std::atomic<std::uint64_t> write_pos;
  // End of the bytes the producer may be writing right now (>= write_pos).
  // Stored relaxed, then a release fence, before the bytes are written; an
  // observer reads it after an acquire fence to tell whether the bytes it
  // copied may have been overwritten (seqlock-style).
  std::atomic<std::uint64_t> claim_pos;
  // Statistics, relaxed: read by observers for display only.
  std::atomic<std::uint64_t> records_written;
  std::atomic<std::uint64_t> bytes_written;
  std::atomic<std::uint64_t> records_dropped;
  std::atomic<std::uint64_t> bytes_dropped;
  // Consumer's cache line: only the consumer stores it.
  // Bytes ever committed; stored with release once the consumer is done with
  // every byte before it (pairs with the producer's acquire load before it
  // reuses the space).
  alignas(64) std::atomic<std::uint64_t> read_pos;
};

struct RingDescriptor {
  char source[name_bytes];
  std::uint64_t data_offset;  // from the start of the segment
  RingHeader header;
};

// A record starts 8-aligned with this header; its payload follows.
struct RecordHeader {
  std::uint32_t size;  // payload bytes (for padding: bytes skipped after the header)
  std::uint32_t type;
};
inline constexpr std::uint32_t record_type_data = 0x52443342;     // "B3DR"
inline constexpr std::uint32_t record_type_padding = 0x50443342;  // "B3DP": skip to the ring's end

// Other processes and other builds read these bytes. A change to any number
// below is a new layout: bump destination_layout_version (docs/SHM.md, "Layout
// versions"), then update the number.
static_assert(std::is_standard_layout_v<SegmentLayout> &&
              std::is_standard_layout_v<RingDescriptor>);
static_assert(sizeof(SegmentPrefix) == 24 && alignof(SegmentPrefix) == 8);
static_assert(offsetof(SegmentPrefix, magic) == 0 && offsetof(SegmentPrefix, layout_version) == 8 &&
              offsetof(SegmentPrefix, header_bytes) == 12 &&
              offsetof(SegmentPrefix, total_bytes) == 16);
static_assert(sizeof(Doorbell) == 64 && alignof(Doorbell) == 64);
static_assert(offsetof(Doorbell, sequence) == 0 && offsetof(Doorbell, sleepers) == 4);
static_assert(sizeof(SegmentLayout) == 192 && alignof(SegmentLayout) == 64);
static_assert(offsetof(SegmentLayout, prefix) == 0 && offsetof(SegmentLayout, ring_count) == 24 &&
              offsetof(SegmentLayout, reserved) == 28 &&
              offsetof(SegmentLayout, ring_capacity) == 32 &&
              offsetof(SegmentLayout, destination) == 40 &&
              offsetof(SegmentLayout, doorbell) == 128);
static_assert(sizeof(RingHeader) == 128 && alignof(RingHeader) == 64);
static_assert(offsetof(RingHeader, write_pos) == 0 && offsetof(RingHeader, claim_pos) == 8 &&
              offsetof(RingHeader, records_written) == 16 &&
              offsetof(RingHeader, bytes_written) == 24 &&
              offsetof(RingHeader, records_dropped) == 32 &&
              offsetof(RingHeader, bytes_dropped) == 40 && offsetof(RingHeader, read_pos) == 64);
static_assert(sizeof(RingDescriptor) == 256 && alignof(RingDescriptor) == 64);
static_assert(offsetof(RingDescriptor, source) == 0 &&
              offsetof(RingDescriptor, data_offset) == 64 &&
              offsetof(RingDescriptor, header) == 128);
static_assert(sizeof(RecordHeader) == 8 && alignof(RecordHeader) == 4);
static_assert(offsetof(RecordHeader, size) == 0 && offsetof(RecordHeader, type) == 4);

}  // namespace bucky3::shm
