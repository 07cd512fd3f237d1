// Destination segments and the consumer's doorbell; see segment.h and docs/SHM.md.
#include "shm/segment.h"

#include <algorithm>
#include <boost/interprocess/mapped_region.hpp>
#include <cstring>
#include <thread>

#include "shm/futex.h"
#include "shm/layout.h"
#include "shm/shm_file.h"
#include "shm/wait_stats.h"

namespace bucky3::shm {

namespace bip = boost::interprocess;

std::string segment_name(std::string_view instance, std::string_view suffix) {
  std::string name = "bucky3.";
  name.append(instance).append(".").append(suffix);
  return name;
}

std::size_t max_record_bytes(std::uint64_t ring_size_bytes) {
  // The record header holds the size in 32 bits; no batch comes near 4 GiB anyway.
  constexpr std::uint64_t header_limit = 0xffffffffULL / 8 * 8;
  return static_cast<std::size_t>(
      std::min(ring_size_bytes / 2 - record_header_bytes, header_limit));
}

struct DestinationSegment::Mapping {
  std::string name;
  Access access;
  bip::mapped_region region;
  SegmentLayout* layout() const { return static_cast<SegmentLayout*>(region.get_address()); }
  RingDescriptor* rings() const {
    return reinterpret_cast<RingDescriptor*>(static_cast<std::byte*>(region.get_address()) +
                                             sizeof(SegmentLayout));
  }
};

namespace {

constexpr std::size_t align_up(std::size_t n, std::size_t a) {
  return (n + a - 1) / a * a;
}

std::size_t header_bytes_for(std::size_t ring_count) {
  return align_up(sizeof(SegmentLayout) + ring_count * sizeof(RingDescriptor), 4096);
}

std::string_view fixed_name(const char (&bytes)[name_bytes]) {
  return std::string_view(bytes, strnlen(bytes, name_bytes));
}

}  // namespace

DestinationSegment::DestinationSegment(std::unique_ptr<Mapping> mapping)
    : mapping_(std::move(mapping)) {}
DestinationSegment::DestinationSegment(DestinationSegment&&) noexcept = default;
DestinationSegment& DestinationSegment::operator=(DestinationSegment&&) noexcept = default;
DestinationSegment::~DestinationSegment() = default;

DestinationSegment DestinationSegment::create(std::string_view instance,
                                              std::string_view destination,
                                              const std::vector<std::string>& sources,
                                              const SegmentOptions& options) {
  detail::check_name_part("instance", instance);
  detail::check_name_part("destination", destination);
  for (const auto& source : sources) detail::check_name_part("source", source);
  const std::string name = segment_name(instance, destination);
  const std::uint64_t capacity = options.ring_size_bytes / 64 * 64;
  if (capacity < min_ring_size_bytes) {
    throw ShmError(name + ": ring size " + std::to_string(options.ring_size_bytes) +
                   " bytes is below the minimum of " + std::to_string(min_ring_size_bytes));
  }
  const std::size_t header_bytes = header_bytes_for(sources.size());
  const std::size_t total = header_bytes + sources.size() * capacity;

  auto mapping = std::make_unique<Mapping>(
      Mapping{name, Access::read_write, detail::create_mapping(name, total, options.shm_group)});
  // The file is fresh and zero-filled; atomics of zero bytes are valid zero atomics.
  auto* layout = mapping->layout();
  layout->prefix.layout_version = destination_layout_version;
  layout->prefix.header_bytes = static_cast<std::uint32_t>(header_bytes);
  layout->prefix.total_bytes = total;
  layout->ring_count = static_cast<std::uint32_t>(sources.size());
  layout->ring_capacity = capacity;
  std::memcpy(layout->destination, destination.data(), destination.size());
  for (std::size_t i = 0; i < sources.size(); ++i) {
    auto& ring = mapping->rings()[i];
    std::memcpy(ring.source, sources[i].data(), sources[i].size());
    ring.data_offset = header_bytes + i * capacity;
  }
  // release: pairs with the acquire in check_prefix(); an opener that sees the
  // magic sees the whole header.
  layout->prefix.magic.store(destination_magic, std::memory_order_release);
  return DestinationSegment(std::move(mapping));
}

DestinationSegment DestinationSegment::open(std::string_view instance, std::string_view destination,
                                            Access access) {
  const std::string name = segment_name(instance, destination);
  auto mapping =
      std::make_unique<Mapping>(Mapping{name, access, detail::open_mapping(name, access)});
  detail::check_prefix(name, mapping->region, destination_magic, destination_layout_version,
                       "destination segment", sizeof(SegmentLayout));
  const auto* layout = mapping->layout();
  const std::string file = "/dev/shm/" + name;
  if (layout->prefix.header_bytes < header_bytes_for(layout->ring_count) ||
      layout->ring_capacity < min_ring_size_bytes || layout->ring_capacity % 64 != 0 ||
      layout->prefix.header_bytes + layout->ring_count * layout->ring_capacity !=
          layout->prefix.total_bytes) {
    throw ShmError(file + " is damaged: " + std::to_string(layout->ring_count) + " rings of " +
                   std::to_string(layout->ring_capacity) + " bytes do not add up to " +
                   std::to_string(layout->prefix.total_bytes) + " bytes");
  }
  for (std::size_t i = 0; i < layout->ring_count; ++i) {
    if (mapping->rings()[i].data_offset !=
        layout->prefix.header_bytes + i * layout->ring_capacity) {
      throw ShmError(file + " is damaged: ring " + std::to_string(i) + " is misplaced");
    }
  }
  return DestinationSegment(std::move(mapping));
}

void DestinationSegment::remove(std::string_view instance, std::string_view destination) {
  detail::remove_file(segment_name(instance, destination));
}

const std::string& DestinationSegment::name() const {
  return mapping_->name;
}
std::string_view DestinationSegment::destination() const {
  return fixed_name(mapping_->layout()->destination);
}
Access DestinationSegment::access() const {
  return mapping_->access;
}
std::size_t DestinationSegment::ring_count() const {
  return mapping_->layout()->ring_count;
}
std::uint64_t DestinationSegment::ring_capacity() const {
  return mapping_->layout()->ring_capacity;
}

std::string_view DestinationSegment::source_name(std::size_t ring) const {
  return fixed_name(mapping_->rings()[ring].source);
}

std::optional<std::size_t> DestinationSegment::ring_index(std::string_view source) const {
  for (std::size_t i = 0; i < ring_count(); ++i) {
    if (source_name(i) == source) return i;
  }
  return std::nullopt;
}

RingHeader& DestinationSegment::ring_header(std::size_t ring) const {
  if (ring >= ring_count()) {
    throw ShmError(mapping_->name + ": no ring " + std::to_string(ring) + " (it has " +
                   std::to_string(ring_count()) + ")");
  }
  return mapping_->rings()[ring].header;
}

std::byte* DestinationSegment::ring_data(std::size_t ring) const {
  return static_cast<std::byte*>(mapping_->region.get_address()) +
         mapping_->rings()[ring].data_offset;
}

SegmentLayout& DestinationSegment::layout() const {
  return *mapping_->layout();
}

DestinationSegment::RingStats DestinationSegment::ring_stats(std::size_t ring) const {
  const auto& h = ring_header(ring);
  // relaxed: figures for display; each is exact, together they are a near snapshot.
  RingStats stats{};
  stats.capacity = ring_capacity();
  stats.write_pos = h.write_pos.load(std::memory_order_relaxed);
  stats.read_pos = h.read_pos.load(std::memory_order_relaxed);
  stats.records_written = h.records_written.load(std::memory_order_relaxed);
  stats.records_dropped = h.records_dropped.load(std::memory_order_relaxed);
  stats.bytes_written = h.bytes_written.load(std::memory_order_relaxed);
  stats.bytes_dropped = h.bytes_dropped.load(std::memory_order_relaxed);
  return stats;
}

namespace {

bool any_unread(const SegmentLayout& layout, const RingDescriptor* rings) {
  for (std::size_t i = 0; i < layout.ring_count; ++i) {
    // acquire: pairs with the producer's release store; relaxed read_pos: we
    // are the consumer, the only one that stores it.
    if (rings[i].header.write_pos.load(std::memory_order_acquire) !=
        rings[i].header.read_pos.load(std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

}  // namespace

WaitStats& thread_wait_stats() {
  thread_local WaitStats stats;
  return stats;
}

bool DestinationSegment::wait_for_data(std::chrono::milliseconds timeout) {
  auto& layout = *mapping_->layout();
  const auto* rings = mapping_->rings();
  if (mapping_->access == Access::read_only) {
    if (any_unread(layout, rings)) return true;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<std::uint64_t> seen(layout.ring_count);
    for (std::size_t i = 0; i < seen.size(); ++i) {
      // relaxed: only compared with later loads; the acquire below orders the bytes.
      seen[i] = rings[i].header.write_pos.load(std::memory_order_relaxed);
    }
    for (;;) {
      for (std::size_t i = 0; i < seen.size(); ++i) {
        // acquire: pairs with the producer's release; the caller reads the record next.
        if (rings[i].header.write_pos.load(std::memory_order_acquire) != seen[i]) return true;
      }
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  auto& stats = thread_wait_stats();
  ++stats.calls;
  if (any_unread(layout, rings)) {
    ++stats.early;
    return true;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // A short spin catches a producer that is about to publish, without a syscall
  // on either side; it is bounded so an idle consumer still sleeps at once.
  for (int spin = 0; spin < 200; ++spin) {
    __builtin_ia32_pause();
    if (any_unread(layout, rings)) {
      ++stats.early;
      return true;
    }
  }
  // Why no wake is lost (docs/SHM.md, "Why no wake-up is lost"): a producer
  // stores write_pos, then a seq_cst fence, then loads sleepers; we store
  // sleepers, then a seq_cst fence, then load write_pos (the last look). Of two
  // seq_cst fences one comes first in their single total order, so either the
  // producer sees our 1 (and rings, below) or our last look sees its record.
  // A ring that comes after our last look changes `sequence`, which we loaded
  // before that look, so FUTEX_WAIT either returns EAGAIN at once or is queued
  // before the FUTEX_WAKE (the kernel compares under the queue's lock).
  auto& bell = layout.doorbell;
  // relaxed + seq_cst fence: the store half of our side of the Dekker pair; the
  // fence pairs with the seq_cst fence in RingWriter::try_write between its
  // write_pos store and its sleepers load. Only the consumer stores sleepers.
  bell.sleepers.store(1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  // acquire: pairs with the producer's release fetch_add; loaded before the last
  // look, so a ring after that look makes FUTEX_WAIT return at once (EAGAIN),
  // and a ring we see here comes after its record, which the look then finds.
  const auto sequence = bell.sequence.load(std::memory_order_acquire);
  if (any_unread(layout, rings)) {
    ++stats.last_look;
  } else {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left > std::chrono::nanoseconds::zero()) {
      ++stats.sleeps;
      const int outcome = detail::futex_wait(bell.sequence, sequence, left);
      const bool timed_out = outcome == ETIMEDOUT;
      if (outcome == 0) ++stats.woken;
      if (outcome == EAGAIN) ++stats.word_changed;
      if (outcome == EINTR) ++stats.interrupted;
      if (timed_out) ++stats.timeouts;
      if (timed_out && any_unread(layout, rings)) ++stats.timeouts_with_data;
    }
  }
  // relaxed: a stale 1 only costs a producer one needless FUTEX_WAKE. A producer
  // that reads this 0 instead of our 1 and so does not ring is ordered, by the
  // same fences, before our next call's last look, which then sees its record
  // (the next call stores 1 after this 0, and the producer did not see that 1).
  bell.sleepers.store(0, std::memory_order_relaxed);
  return any_unread(layout, rings);
}

}  // namespace bucky3::shm
