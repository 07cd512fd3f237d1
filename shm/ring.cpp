// The SPSC record ring: producer, consumer and observer cursors; see segment.h
// and docs/SHM.md. A record is an 8-byte RecordHeader and its payload, padded to
// 8 bytes; a record never wraps: when it does not fit before the end of the
// ring, a padding header fills the rest and the record starts at offset 0.
#include <atomic>
#include <bit>
#include <cstring>

#include "common/log.h"
#include "shm/futex.h"
#include "shm/layout.h"
#include "shm/segment.h"
#include "shm/shm_file.h"

namespace bucky3::shm {

namespace {

constexpr std::uint64_t framed_size(std::uint64_t payload) {
  return record_header_bytes + (payload + 7) / 8 * 8;
}

RecordHeader read_header(const std::byte* data, std::uint64_t offset) {
  RecordHeader header;
  std::memcpy(&header, data + offset, sizeof header);
  return header;
}

// The record bytes the producer writes and an observer may copy at the same
// time are accessed as 8-byte relaxed atomics on both sides (seqlock-style: the
// observer validates its copy against claim_pos afterwards), so the concurrent
// copy is not a data race in the C++ model and ThreadSanitizer has nothing to
// report. On x86-64 and arm64 a relaxed 8-byte atomic load or store is a plain
// mov/ldr/str: no fence, no locked instruction, and a load never writes, so it
// works through a read-only mapping. Records start 8-aligned and are padded to 8.
static_assert(std::atomic_ref<std::uint64_t>::is_always_lock_free &&
              std::atomic_ref<std::uint64_t>::required_alignment == 8);
static_assert(sizeof(RecordHeader) == 8 && record_header_bytes == 8);

std::atomic_ref<std::uint64_t> ring_word(const std::byte* at) {
  // const_cast: only load() is called on the words of a read-only mapping.
  return std::atomic_ref<std::uint64_t>(
      *reinterpret_cast<std::uint64_t*>(const_cast<std::byte*>(at)));
}

// Producer: `size` bytes to the 8-aligned `to`, the last word zero-padded.
void store_words(std::byte* to, const void* from, std::size_t size) {
  const auto* bytes = static_cast<const std::byte*>(from);
  // Four words a turn: atomic stores are never merged into vector stores, but
  // the loop's add, compare and branch are paid once per 32 bytes, not per 8
  // (docs/BENCHMARKS.md, "Before and after the restructuring").
  const std::byte* const end32 = bytes + size / 32 * 32;
  for (; bytes != end32; bytes += 32, to += 32) {
    std::uint64_t w0, w1, w2, w3;
    std::memcpy(&w0, bytes, 8);
    std::memcpy(&w1, bytes + 8, 8);
    std::memcpy(&w2, bytes + 16, 8);
    std::memcpy(&w3, bytes + 24, 8);
    // relaxed: published by the release store of write_pos; an observer
    // validates what it copied with claim_pos (acquire fence in next()).
    ring_word(to).store(w0, std::memory_order_relaxed);
    ring_word(to + 8).store(w1, std::memory_order_relaxed);
    ring_word(to + 16).store(w2, std::memory_order_relaxed);
    ring_word(to + 24).store(w3, std::memory_order_relaxed);
  }
  size %= 32;
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, bytes + i, 8);
    // relaxed: as above.
    ring_word(to + i).store(word, std::memory_order_relaxed);
  }
  if (i < size) {
    std::uint64_t word = 0;
    std::memcpy(&word, bytes + i, size - i);
    // relaxed: as above.
    ring_word(to + i).store(word, std::memory_order_relaxed);
  }
}

// Producer: a record header, one word.
void store_header(std::byte* to, const RecordHeader& header) {
  // relaxed: as in store_words().
  ring_word(to).store(std::bit_cast<std::uint64_t>(header), std::memory_order_relaxed);
}

// Observer: `size` bytes from the 8-aligned `from`, which the producer may be
// overwriting (the caller validates the copy with claim_pos).
void load_words(std::byte* to, const std::byte* from, std::size_t size) {
  std::size_t i = 0;
  // Four words a turn, as in store_words().
  for (; i + 32 <= size; i += 32) {
    // relaxed: the acquire fence in next() orders these loads before claim_pos's.
    const auto w0 = ring_word(from + i).load(std::memory_order_relaxed);
    const auto w1 = ring_word(from + i + 8).load(std::memory_order_relaxed);
    const auto w2 = ring_word(from + i + 16).load(std::memory_order_relaxed);
    const auto w3 = ring_word(from + i + 24).load(std::memory_order_relaxed);
    std::memcpy(to + i, &w0, 8);
    std::memcpy(to + i + 8, &w1, 8);
    std::memcpy(to + i + 16, &w2, 8);
    std::memcpy(to + i + 24, &w3, 8);
  }
  for (; i + 8 <= size; i += 8) {
    // relaxed: the acquire fence in next() orders these loads before claim_pos's.
    const auto word = ring_word(from + i).load(std::memory_order_relaxed);
    std::memcpy(to + i, &word, 8);
  }
  if (i < size) {
    // relaxed: as above.
    const auto word = ring_word(from + i).load(std::memory_order_relaxed);
    std::memcpy(to + i, &word, size - i);
  }
}

RecordHeader observe_header(const std::byte* data, std::uint64_t offset) {
  RecordHeader header;
  load_words(reinterpret_cast<std::byte*>(&header), data + offset, sizeof header);
  return header;
}

void check_writable(const DestinationSegment& segment, const char* role) {
  if (segment.access() != Access::read_write) {
    throw ShmError(segment.name() + ": a " + role + " needs a read-write mapping");
  }
}

}  // namespace

RingWriter::RingWriter(DestinationSegment& segment, std::size_t ring)
    : header_(&segment.ring_header(ring)),
      data_(segment.ring_data(ring)),
      capacity_(segment.ring_capacity()),
      doorbell_(&segment.layout().doorbell) {
  check_writable(segment, "ring writer");
  detail::populate(data_, capacity_, detail::Populate::write,
                   segment.name() + " ring " + std::string(segment.source_name(ring)));
  // acquire: pairs with the consumer's release store; a lower bound is enough.
  cached_read_ = header_->read_pos.load(std::memory_order_acquire);
  // A restarted producer appends after the last published record; whatever a
  // crashed predecessor wrote past write_pos was never visible and is overwritten.
}

bool RingWriter::try_write(std::span<const std::byte> record) {
  // relaxed: we are the only writer of write_pos and of the statistics.
  const auto write = header_->write_pos.load(std::memory_order_relaxed);
  const auto framed = framed_size(record.size());
  const auto offset = write % capacity_;
  const auto to_end = capacity_ - offset;
  const auto needed = framed <= to_end ? framed : to_end + framed;
  bool fits = record.size() <= max_record_bytes(capacity_);
  if (fits && write + needed - cached_read_ > capacity_) {
    // acquire: pairs with the release in RingReader::commit(); the consumer is
    // done with every byte before read_pos, so we may overwrite them.
    cached_read_ = header_->read_pos.load(std::memory_order_acquire);
    fits = write + needed - cached_read_ <= capacity_;
  }
  if (!fits) {
    header_->records_dropped.store(header_->records_dropped.load(std::memory_order_relaxed) + 1,
                                   std::memory_order_relaxed);
    header_->bytes_dropped.store(
        header_->bytes_dropped.load(std::memory_order_relaxed) + record.size(),
        std::memory_order_relaxed);
    return false;
  }
  // relaxed store + release fence: an observer that copies any of the bytes
  // below and then (after its acquire fence) loads claim_pos sees this claim.
  header_->claim_pos.store(write + needed, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  auto at = offset;
  if (framed > to_end) {
    const RecordHeader padding{static_cast<std::uint32_t>(to_end - record_header_bytes),
                               record_type_padding};
    store_header(data_ + at, padding);
    at = 0;
  }
  const RecordHeader header{static_cast<std::uint32_t>(record.size()), record_type_data};
  store_header(data_ + at, header);
  store_words(data_ + at + record_header_bytes, record.data(), record.size());
  // release: pairs with the acquire in RingReader::peek() and RingObserver::next();
  // the record's bytes are visible before the new position is. A crash before
  // this store leaves nothing visible.
  header_->write_pos.store(write + needed, std::memory_order_release);
  header_->records_written.store(header_->records_written.load(std::memory_order_relaxed) + 1,
                                 std::memory_order_relaxed);
  header_->bytes_written.store(
      header_->bytes_written.load(std::memory_order_relaxed) + record.size(),
      std::memory_order_relaxed);
  // seq_cst fence: pairs with the one in wait_for_data() after the consumer's
  // sleepers store; either we see the sleeper or it sees our write_pos.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (doorbell_->sleepers.load(std::memory_order_relaxed) != 0) {
    // release: pairs with the consumer's acquire load of the sequence.
    doorbell_->sequence.fetch_add(1, std::memory_order_release);
    detail::futex_wake_all(doorbell_->sequence);
  }
  return true;
}

RingReader::RingReader(DestinationSegment& segment, std::size_t ring)
    : header_(&segment.ring_header(ring)),
      data_(segment.ring_data(ring)),
      capacity_(segment.ring_capacity()),
      ring_name_(segment.name() + " ring " + std::string(segment.source_name(ring))) {
  check_writable(segment, "ring reader");
  detail::populate(data_, capacity_, detail::Populate::read, ring_name_);
  // relaxed: we are the only writer of read_pos; a restarted consumer resumes
  // at its predecessor's last commit.
  read_ = header_->read_pos.load(std::memory_order_relaxed);
  // acquire: pairs with the producer's release store.
  cached_write_ = header_->write_pos.load(std::memory_order_acquire);
}

std::optional<std::span<const std::byte>> RingReader::peek() {
  if (read_ == cached_write_) {
    // acquire: pairs with the release in RingWriter::try_write(); the bytes
    // before write_pos are complete.
    cached_write_ = header_->write_pos.load(std::memory_order_acquire);
    if (read_ == cached_write_) return std::nullopt;
  }
  auto position = read_;
  auto offset = position % capacity_;
  auto header = read_header(data_, offset);
  if (header.type == record_type_padding && capacity_ - offset < cached_write_ - position) {
    position += capacity_ - offset;
    offset = 0;
    header = read_header(data_, offset);
  }
  const auto framed = framed_size(header.size);
  if (header.type != record_type_data || header.size > max_record_bytes(capacity_) ||
      position + framed > cached_write_) {
    // Only a damaged segment gets here: skip what is there rather than stop the pipeline.
    log::error(ring_name_, ": damaged record header at position ", position, ", skipping ",
               cached_write_ - read_, " bytes");
    read_ = cached_write_;
    next_.reset();
    // release: as in commit().
    header_->read_pos.store(read_, std::memory_order_release);
    return std::nullopt;
  }
  next_ = position + framed;
  return std::span<const std::byte>(data_ + offset + record_header_bytes, header.size);
}

void RingReader::commit() {
  if (!next_) return;
  read_ = *next_;
  next_.reset();
  // release: pairs with the acquire in RingWriter::try_write(); we are done
  // with every byte before read_, the producer may reuse them.
  header_->read_pos.store(read_, std::memory_order_release);
}

std::uint64_t RingReader::backlog_bytes() const {
  // acquire: as in peek(); a figure for the caller, not a promise.
  return header_->write_pos.load(std::memory_order_acquire) - read_;
}

RingObserver::RingObserver(const DestinationSegment& segment, std::size_t ring)
    : header_(&segment.ring_header(ring)),
      data_(segment.ring_data(ring)),
      capacity_(segment.ring_capacity()),
      // acquire: pairs with the producer's release store; a record boundary.
      cursor_(header_->write_pos.load(std::memory_order_acquire)) {}

RingObserver::Result RingObserver::next(std::vector<std::byte>& copy) {
  // acquire: pairs with the release in RingWriter::try_write(); the bytes
  // before write are complete (unless overwritten since, checked below).
  const auto write = header_->write_pos.load(std::memory_order_acquire);
  const auto skip = [&] {
    // acquire: as above; write_pos is always a record boundary.
    cursor_ = header_->write_pos.load(std::memory_order_acquire);
    ++overruns_;
    return Result::overrun;
  };
  if (cursor_ == write) return Result::none;
  if (write - cursor_ > capacity_) return skip();
  auto position = cursor_;
  auto offset = position % capacity_;
  auto header = observe_header(data_, offset);
  if (header.type == record_type_padding && capacity_ - offset < write - position) {
    position += capacity_ - offset;
    offset = 0;
    header = observe_header(data_, offset);
  }
  const auto framed = framed_size(header.size);
  // A header read while the producer laps us may be bytes of a newer record:
  // besides the size and position, a record never runs past the ring's end.
  const bool sane = header.type == record_type_data && header.size <= max_record_bytes(capacity_) &&
                    position + framed <= write && offset + framed <= capacity_;
  if (sane) {
    copy.resize(header.size);
    load_words(copy.data(), data_ + offset + record_header_bytes, header.size);
  }
  // acquire fence + relaxed load: pairs with the producer's release fence after
  // its claim_pos store. If any byte we copied came from a write that started
  // after we loaded `write`, we see its claim here.
  std::atomic_thread_fence(std::memory_order_acquire);
  const auto claim = header_->claim_pos.load(std::memory_order_relaxed);
  // The producer overwrites absolute position p only while writing p + capacity,
  // so nothing at or after cursor_ was touched while claim <= cursor_ + capacity.
  if (!sane || claim > cursor_ + capacity_) return skip();
  cursor_ = position + framed;
  return Result::record;
}

}  // namespace bucky3::shm
