// The health block; see health.h and docs/SHM.md. Every shared field is an
// atomic (strings too, as 8-byte words), so readers never race on plain bytes;
// the groups that must be read together sit behind seqlocks.
#include "shm/health.h"

#include <algorithm>
#include <boost/interprocess/mapped_region.hpp>
#include <cstring>
#include <thread>
#include <type_traits>

#include "shm/layout.h"
#include "shm/shm_file.h"

namespace bucky3::shm {

namespace bip = boost::interprocess;

namespace {

constexpr std::uint32_t health_layout_version = 3;  // 2: counter retries; 3: named values

// A short string stored as relaxed atomic words: torn only as a whole string,
// which the seqlock around it detects.
template <std::size_t Bytes>
struct AtomicText {
  static_assert(Bytes % 8 == 0);
  std::atomic<std::uint32_t> size;
  std::atomic<std::uint64_t> words[Bytes / 8];

  void store(std::string_view text) {
    text = text.substr(0, Bytes);
    for (std::size_t i = 0; i < Bytes / 8; ++i) {
      std::uint64_t word = 0;
      if (i * 8 < text.size())
        std::memcpy(&word, text.data() + i * 8, std::min<std::size_t>(8, text.size() - i * 8));
      words[i].store(word, std::memory_order_relaxed);
    }
    size.store(static_cast<std::uint32_t>(text.size()), std::memory_order_relaxed);
  }
  // A plain copy, taken inside the reader's seqlock window (no allocation there:
  // the shorter the window, the less often a busy writer makes the reader retry).
  struct Copy {
    std::uint32_t size;
    char bytes[Bytes];
    std::string str() const { return std::string(bytes, std::min<std::size_t>(size, Bytes)); }
  };
  void load(Copy& copy) const {
    for (std::size_t i = 0; i < Bytes / 8; ++i) {
      const auto word = words[i].load(std::memory_order_relaxed);
      std::memcpy(copy.bytes + i * 8, &word, 8);
    }
    copy.size = size.load(std::memory_order_relaxed);
  }
};

struct ErrorEntry {
  std::atomic<std::int64_t> time_ms;
  AtomicText<health_error_reason_bytes> reason;
  AtomicText<health_error_text_bytes> text;
};

struct ValueEntry {
  AtomicText<health_value_name_bytes> name;
  std::atomic<std::int64_t> value;
};

struct HealthSlot {
  char name[name_bytes];  // set by create(), never changed
  char type[name_bytes];
  // Supervisor's line. process_seq is a seqlock: odd while the supervisor
  // updates pid/state/start/restarts (see SeqWriter/read_consistent).
  alignas(64) std::atomic<std::uint32_t> process_seq;
  std::atomic<std::int32_t> pid;
  std::atomic<std::uint32_t> state;
  std::atomic<std::uint32_t> restarts;
  std::atomic<std::int64_t> start_time_ms;
  // Module's lines. Heartbeat and counters are single values: relaxed, a
  // reader wants each one's latest value, not an order between them.
  alignas(64) std::atomic<std::int64_t> last_heartbeat_ms;
  std::atomic<std::uint64_t> counters[counter_count];
  // errors_seq guards errors_total and the entries, as process_seq does.
  alignas(64) std::atomic<std::uint32_t> errors_seq;
  std::atomic<std::uint64_t> errors_total;
  ErrorEntry errors[health_error_slots];
  // The module's named values (set_values). values_seq guards the count, the
  // number offered, the time and the entries, as process_seq does.
  alignas(64) std::atomic<std::uint32_t> values_seq;
  std::atomic<std::uint32_t> values_count;    // entries in use, at most 64
  std::atomic<std::uint32_t> values_offered;  // values the module offered
  std::atomic<std::int64_t> values_time_ms;   // when written, 0 never
  ValueEntry values[health_value_slots];
};

struct HealthHeader {
  SegmentPrefix prefix;
  std::uint32_t slot_count;
  std::uint32_t slot_bytes;  // sizeof(HealthSlot) of the creator, checked on open
};

// Other processes and other builds read these bytes. A change to any number
// below (a new Counter too) is a new layout: bump health_layout_version
// (docs/SHM.md, "Layout versions"), then update the number.
static_assert(std::is_standard_layout_v<HealthSlot> && std::is_standard_layout_v<HealthHeader>);
static_assert(counter_count == 17, "a new counter moves the slot's fields: bump the version");
static_assert(sizeof(AtomicText<health_error_reason_bytes>) == 72);
static_assert(sizeof(AtomicText<health_error_text_bytes>) == 208);
static_assert(sizeof(ErrorEntry) == 288 && alignof(ErrorEntry) == 8);
static_assert(offsetof(ErrorEntry, time_ms) == 0 && offsetof(ErrorEntry, reason) == 8 &&
              offsetof(ErrorEntry, text) == 80);
static_assert(health_value_slots == 64 && health_value_name_bytes == 48);
static_assert(sizeof(AtomicText<health_value_name_bytes>) == 56);
static_assert(sizeof(ValueEntry) == 64 && alignof(ValueEntry) == 8);
static_assert(offsetof(ValueEntry, name) == 0 && offsetof(ValueEntry, value) == 56);
static_assert(sizeof(HealthSlot) == 9216 && alignof(HealthSlot) == 64);
static_assert(offsetof(HealthSlot, name) == 0 && offsetof(HealthSlot, type) == 64 &&
              offsetof(HealthSlot, process_seq) == 128 && offsetof(HealthSlot, pid) == 132 &&
              offsetof(HealthSlot, state) == 136 && offsetof(HealthSlot, restarts) == 140 &&
              offsetof(HealthSlot, start_time_ms) == 144 &&
              offsetof(HealthSlot, last_heartbeat_ms) == 192 &&
              offsetof(HealthSlot, counters) == 200 && offsetof(HealthSlot, errors_seq) == 384 &&
              offsetof(HealthSlot, errors_total) == 392 && offsetof(HealthSlot, errors) == 400 &&
              offsetof(HealthSlot, values_seq) == 5056 &&
              offsetof(HealthSlot, values_count) == 5060 &&
              offsetof(HealthSlot, values_offered) == 5064 &&
              offsetof(HealthSlot, values_time_ms) == 5072 && offsetof(HealthSlot, values) == 5080);
static_assert(sizeof(HealthHeader) == 32 && alignof(HealthHeader) == 8);
static_assert(offsetof(HealthHeader, prefix) == 0 && offsetof(HealthHeader, slot_count) == 24 &&
              offsetof(HealthHeader, slot_bytes) == 28);

constexpr std::size_t slots_offset = (sizeof(HealthHeader) + 63) / 64 * 64;

// Writer side of a seqlock; one writer per lock. A writer that died mid-update
// left the sequence odd: the next one keeps it odd while it writes and then
// makes it even (never odd again on an even count, which would invert the
// parity: readers would then take half-written data and refuse whole data).
// HealthBlock::attach_writer uses it to end a dead writer's section at once.
class SeqWriter {
 public:
  explicit SeqWriter(std::atomic<std::uint32_t>& seq) : seq_(seq) {
    // relaxed: we are the only writer.
    const auto s = seq_.load(std::memory_order_relaxed);
    begin_ = s % 2 == 0 ? s + 1 : s;
    seq_.store(begin_, std::memory_order_relaxed);
    // release fence: the odd value is visible before any field written after it
    // (pairs with the reader's acquire fence before its second load).
    std::atomic_thread_fence(std::memory_order_release);
  }
  ~SeqWriter() {
    // release: pairs with the reader's acquire first load; the fields are
    // visible before the even value.
    seq_.store(begin_ + 1, std::memory_order_release);
  }
  SeqWriter(const SeqWriter&) = delete;
  SeqWriter& operator=(const SeqWriter&) = delete;

 private:
  std::atomic<std::uint32_t>& seq_;
  std::uint32_t begin_;
};

// Reader side: retries until a copy is not overlapped by a write (true). After
// many tries (a writer that died mid-update and was not restarted, or one that
// stalls or writes without pause) takes the last copy and says it may be torn (false).
template <class Read>
bool read_consistent(const std::atomic<std::uint32_t>& seq, Read read) {
  for (int attempt = 0; attempt < 10000; ++attempt) {
    // acquire: pairs with the writer's release store of the even value.
    const auto before = seq.load(std::memory_order_acquire);
    if (before % 2 != 0) {
      std::this_thread::yield();
      continue;
    }
    read();
    // acquire fence: our field loads happen before the second sequence load.
    std::atomic_thread_fence(std::memory_order_acquire);
    if (seq.load(std::memory_order_relaxed) == before) return true;
  }
  read();
  return false;
}

std::string_view fixed_name(const char (&bytes)[name_bytes]) {
  return std::string_view(bytes, strnlen(bytes, name_bytes));
}

// Cuts at most `limit` bytes without splitting a UTF-8 sequence.
std::string_view cut_utf8(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return text;
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

}  // namespace

std::string_view to_string(ModuleState state) {
  switch (state) {
    case ModuleState::empty: return "empty";
    case ModuleState::starting: return "starting";
    case ModuleState::running: return "running";
    case ModuleState::backoff: return "backoff";
    case ModuleState::stopping: return "stopping";
    case ModuleState::stopped: return "stopped";
    case ModuleState::failed: return "failed";
  }
  return "unknown";
}

std::string_view to_string(Counter counter) {
  static constexpr std::string_view names[] = {
      "lines_in",     "lines_invalid",    "metrics_in",      "metrics_out",  "batches_out",
      "drops_kernel", "drops_series_cap", "drops_ring_full", "drops_buffer", "drops_other",
      "errors",       "bytes_in",         "bytes_out",       "cpu_ns",       "rss_bytes",
      "series",       "retries"};
  static_assert(std::size(names) == counter_count);
  const auto i = static_cast<std::size_t>(counter);
  return i < counter_count ? names[i] : "unknown";
}

struct HealthBlock::Mapping {
  std::string name;
  Access access;
  bip::mapped_region region;
  HealthHeader* header() const { return static_cast<HealthHeader*>(region.get_address()); }
  HealthSlot& slot(std::size_t i) const {
    if (i >= header()->slot_count) {
      throw ShmError(name + ": no slot " + std::to_string(i) + " (it has " +
                     std::to_string(header()->slot_count) + ")");
    }
    return reinterpret_cast<HealthSlot*>(static_cast<std::byte*>(region.get_address()) +
                                         slots_offset)[i];
  }
};

HealthBlock::HealthBlock(std::unique_ptr<Mapping> mapping) : mapping_(std::move(mapping)) {}
HealthBlock::HealthBlock(HealthBlock&&) noexcept = default;
HealthBlock& HealthBlock::operator=(HealthBlock&&) noexcept = default;
HealthBlock::~HealthBlock() = default;

HealthBlock HealthBlock::create(std::string_view instance, const std::vector<SlotSpec>& modules,
                                const std::optional<std::string>& shm_group) {
  detail::check_name_part("instance", instance);
  for (const auto& module : modules) {
    detail::check_name_part("module name", module.name);
    detail::check_name_part("module type", module.type);
  }
  const std::string name = segment_name(instance, "health");
  const std::size_t total = slots_offset + modules.size() * sizeof(HealthSlot);
  auto mapping = std::make_unique<Mapping>(
      Mapping{name, Access::read_write, detail::create_mapping(name, total, shm_group)});
  // The file is fresh and zero-filled: every atomic starts at 0, every state empty.
  auto* header = mapping->header();
  header->prefix.layout_version = health_layout_version;
  header->prefix.header_bytes = static_cast<std::uint32_t>(slots_offset);
  header->prefix.total_bytes = total;
  header->slot_count = static_cast<std::uint32_t>(modules.size());
  header->slot_bytes = sizeof(HealthSlot);
  for (std::size_t i = 0; i < modules.size(); ++i) {
    auto& slot = mapping->slot(i);
    std::memcpy(slot.name, modules[i].name.data(), modules[i].name.size());
    std::memcpy(slot.type, modules[i].type.data(), modules[i].type.size());
  }
  // release: pairs with the acquire in check_prefix().
  header->prefix.magic.store(health_magic, std::memory_order_release);
  return HealthBlock(std::move(mapping));
}

HealthBlock HealthBlock::open(std::string_view instance, Access access) {
  const std::string name = segment_name(instance, "health");
  auto mapping =
      std::make_unique<Mapping>(Mapping{name, access, detail::open_mapping(name, access)});
  detail::check_prefix(name, mapping->region, health_magic, health_layout_version, "health block",
                       sizeof(HealthHeader));
  const auto* header = mapping->header();
  if (header->slot_bytes != sizeof(HealthSlot) ||
      header->prefix.total_bytes != slots_offset + header->slot_count * sizeof(HealthSlot)) {
    throw ShmError("/dev/shm/" + name + " is damaged: " + std::to_string(header->slot_count) +
                   " slots of " + std::to_string(header->slot_bytes) + " bytes do not add up to " +
                   std::to_string(header->prefix.total_bytes) + " bytes");
  }
  return HealthBlock(std::move(mapping));
}

void HealthBlock::remove(std::string_view instance) {
  detail::remove_file(segment_name(instance, "health"));
}

std::size_t HealthBlock::slot_count() const {
  return mapping_->header()->slot_count;
}

std::optional<std::size_t> HealthBlock::find(std::string_view module_name) const {
  for (std::size_t i = 0; i < slot_count(); ++i) {
    if (fixed_name(mapping_->slot(i).name) == module_name) return i;
  }
  return std::nullopt;
}

void HealthBlock::set_process(std::size_t slot, std::int32_t pid, ModuleState state,
                              std::int64_t start_time_ms, std::uint32_t restarts) {
  auto& s = mapping_->slot(slot);
  SeqWriter lock(s.process_seq);
  // relaxed: ordered by the seqlock's fences.
  s.pid.store(pid, std::memory_order_relaxed);
  s.state.store(static_cast<std::uint32_t>(state), std::memory_order_relaxed);
  s.start_time_ms.store(start_time_ms, std::memory_order_relaxed);
  s.restarts.store(restarts, std::memory_order_relaxed);
}

void HealthBlock::set_state(std::size_t slot, ModuleState state) {
  auto& s = mapping_->slot(slot);
  SeqWriter lock(s.process_seq);
  // relaxed: ordered by the seqlock's fences.
  s.state.store(static_cast<std::uint32_t>(state), std::memory_order_relaxed);
}

void HealthBlock::attach_writer(std::size_t slot) {
  if (mapping_->access != Access::read_write)
    throw ShmError(mapping_->name + ": attach_writer on a read-only block");
  auto& s = mapping_->slot(slot);
  // relaxed: we are the slot's only writer (the previous process is dead and
  // reaped), so these loads see its last stores (process exit and waitpid order them).
  if (s.errors_seq.load(std::memory_order_relaxed) % 2 != 0) {
    // record_error stores errors_total last, so the entries below it are whole;
    // the one at errors_total % 16 may be half-written (shown only once the ring
    // has wrapped). Say so in it rather than show a mix of two errors. The
    // SeqWriter keeps the odd value while we write and stores the next even one
    // with release: readers that see it even see the repaired entry too.
    SeqWriter lock(s.errors_seq);
    // relaxed: ordered by the seqlock's fences.
    auto& entry = s.errors[s.errors_total.load(std::memory_order_relaxed) % health_error_slots];
    entry.reason.store("lost");
    entry.text.store("the module's previous process was killed while it wrote this entry");
  }
  if (s.values_seq.load(std::memory_order_relaxed) % 2 != 0) {
    // Names and values may come from two sets: none until the next set_values
    // (values_time_ms 0 says "never written" to readers), inside the seqlock as above.
    SeqWriter lock(s.values_seq);
    // relaxed: ordered by the seqlock's fences.
    s.values_count.store(0, std::memory_order_relaxed);
    s.values_offered.store(0, std::memory_order_relaxed);
    s.values_time_ms.store(0, std::memory_order_relaxed);
  }
  // process_seq is the supervisor's: one supervisor writes it for the block's
  // whole life (a new supervisor creates a new block), so it is never left odd
  // for a later writer.
}

void HealthBlock::heartbeat(std::size_t slot, std::int64_t now_ms) {
  // relaxed: a single value; nobody orders other reads after it.
  mapping_->slot(slot).last_heartbeat_ms.store(now_ms, std::memory_order_relaxed);
}

void HealthBlock::add(std::size_t slot, Counter counter, std::uint64_t delta) {
  auto& value = mapping_->slot(slot).counters[static_cast<std::size_t>(counter)];
  // relaxed load + store, not fetch_add: one writer per slot, and no locked instruction
  // on the hot path.
  value.store(value.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
}

void HealthBlock::set(std::size_t slot, Counter counter, std::uint64_t value) {
  // relaxed: a single value.
  mapping_->slot(slot).counters[static_cast<std::size_t>(counter)].store(value,
                                                                         std::memory_order_relaxed);
}

void HealthBlock::record_error(std::size_t slot, std::int64_t now_ms, std::string_view reason,
                               std::string_view text) {
  auto& s = mapping_->slot(slot);
  SeqWriter lock(s.errors_seq);
  // relaxed: ordered by the seqlock's fences; we are the only writer.
  const auto total = s.errors_total.load(std::memory_order_relaxed);
  auto& entry = s.errors[total % health_error_slots];
  entry.time_ms.store(now_ms, std::memory_order_relaxed);
  entry.reason.store(cut_utf8(reason, health_error_reason_bytes - 1));
  entry.text.store(cut_utf8(text, health_error_text_bytes));
  s.errors_total.store(total + 1, std::memory_order_relaxed);
}

void HealthBlock::set_values(std::size_t slot, std::int64_t now_ms,
                             const std::vector<HealthValue>& values) {
  auto& s = mapping_->slot(slot);
  const auto kept = std::min(values.size(), health_value_slots);
  SeqWriter lock(s.values_seq);
  // relaxed: ordered by the seqlock's fences; we are the only writer.
  for (std::size_t i = 0; i < kept; ++i) {
    s.values[i].name.store(cut_utf8(values[i].name, health_value_name_bytes));
    s.values[i].value.store(values[i].value, std::memory_order_relaxed);
  }
  s.values_count.store(static_cast<std::uint32_t>(kept), std::memory_order_relaxed);
  s.values_offered.store(
      static_cast<std::uint32_t>(std::min<std::size_t>(values.size(), UINT32_MAX)),
      std::memory_order_relaxed);
  s.values_time_ms.store(now_ms, std::memory_order_relaxed);
}

HealthSnapshot HealthBlock::snapshot(std::size_t slot) const {
  const auto& s = mapping_->slot(slot);
  HealthSnapshot snap;
  snap.name = std::string(fixed_name(s.name));
  snap.type = std::string(fixed_name(s.type));
  bool consistent = read_consistent(s.process_seq, [&] {
    snap.pid = s.pid.load(std::memory_order_relaxed);
    snap.state = static_cast<ModuleState>(s.state.load(std::memory_order_relaxed));
    snap.start_time_ms = s.start_time_ms.load(std::memory_order_relaxed);
    snap.restarts = s.restarts.load(std::memory_order_relaxed);
  });
  if (static_cast<std::uint32_t>(snap.state) > static_cast<std::uint32_t>(ModuleState::failed)) {
    snap.state = ModuleState::failed;
  }
  snap.last_heartbeat_ms = s.last_heartbeat_ms.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < counter_count; ++i) {
    snap.counters[i] = s.counters[i].load(std::memory_order_relaxed);
  }
  // Copied word by word inside the seqlock window, turned into strings after it.
  struct EntryCopy {
    std::int64_t time_ms;
    decltype(ErrorEntry::reason)::Copy reason;
    decltype(ErrorEntry::text)::Copy text;
  };
  EntryCopy entries[health_error_slots];
  std::uint64_t total = 0;
  consistent &= read_consistent(s.errors_seq, [&] {
    total = s.errors_total.load(std::memory_order_relaxed);
    const auto kept = std::min<std::uint64_t>(total, health_error_slots);
    for (std::uint64_t k = 0; k < kept; ++k) {
      const auto& entry = s.errors[(total - kept + k) % health_error_slots];
      entries[k].time_ms = entry.time_ms.load(std::memory_order_relaxed);
      entry.reason.load(entries[k].reason);
      entry.text.load(entries[k].text);
    }
  });
  snap.errors_total = total;
  const auto kept = std::min<std::uint64_t>(total, health_error_slots);
  snap.errors.reserve(kept);
  for (std::uint64_t k = 0; k < kept; ++k)
    snap.errors.push_back({entries[k].time_ms, entries[k].reason.str(), entries[k].text.str()});
  // The values the same way: words inside the window, strings after it.
  struct ValueCopy {
    decltype(ValueEntry::name)::Copy name;
    std::int64_t value;
  };
  ValueCopy values[health_value_slots];
  std::uint32_t count = 0;
  consistent &= read_consistent(s.values_seq, [&] {
    // relaxed: ordered by read_consistent's acquire load and fence.
    count =
        std::min<std::uint32_t>(s.values_count.load(std::memory_order_relaxed), health_value_slots);
    snap.values_offered = s.values_offered.load(std::memory_order_relaxed);
    snap.values_time_ms = s.values_time_ms.load(std::memory_order_relaxed);
    for (std::uint32_t i = 0; i < count; ++i) {
      s.values[i].name.load(values[i].name);
      values[i].value = s.values[i].value.load(std::memory_order_relaxed);
    }
  });
  snap.values.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i)
    snap.values.push_back({values[i].name.str(), values[i].value});
  snap.torn = !consistent;
  return snap;
}

}  // namespace bucky3::shm
