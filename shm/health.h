// The health block /dev/shm/bucky3.<instance>.health: one slot per module with
// its process facts (written by the supervisor), its counters, heartbeat and
// last errors (written by the module), read by anyone while written.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shm/segment.h"

namespace bucky3::shm {

enum class ModuleState : std::uint32_t {
  empty,
  starting,
  running,
  backoff,
  stopping,
  stopped,
  failed
};
std::string_view to_string(ModuleState state);

// Module counters. rss_bytes and series are levels (set); the rest only grow (add).
enum class Counter : std::uint32_t {
  lines_in,
  lines_invalid,
  metrics_in,
  metrics_out,
  batches_out,
  drops_kernel,
  drops_series_cap,
  drops_ring_full,
  drops_buffer,
  drops_other,
  errors,
  bytes_in,
  bytes_out,
  cpu_ns,
  rss_bytes,
  series,
  retries,  // push destinations: attempts sent again after a failure
  count_
};
inline constexpr std::size_t counter_count = static_cast<std::size_t>(Counter::count_);
std::string_view to_string(Counter counter);  // "lines_in"

// Modules heartbeat every second, idle or not: a running module whose last
// heartbeat is older than this is stuck (bucky3-ring status, the inspector).
inline constexpr std::int64_t heartbeat_stale_after_ms = 5000;

inline constexpr std::size_t health_error_slots = 16;
inline constexpr std::size_t health_error_text_bytes = 200;
inline constexpr std::size_t health_error_reason_bytes = 64;
// A module's named values (what it self_reports beyond the counters): at most 64,
// names cut to 48 bytes.
inline constexpr std::size_t health_value_slots = 64;
inline constexpr std::size_t health_value_name_bytes = 48;

struct HealthValue {
  std::string name;
  std::int64_t value = 0;
  friend bool operator==(const HealthValue&, const HealthValue&) = default;
};

struct HealthSnapshot {
  std::string name, type;
  std::int32_t pid = 0;
  ModuleState state = ModuleState::empty;
  std::int64_t start_time_ms = 0, last_heartbeat_ms = 0;
  std::uint32_t restarts = 0;
  std::array<std::uint64_t, counter_count> counters{};
  struct Error {
    std::int64_t time_ms;
    std::string reason, text;
  };
  std::vector<Error> errors;       // oldest first, at most 16
  std::uint64_t errors_total = 0;  // errors ever recorded in this slot
  // The module's named values as last written (set_values), in its order, at most
  // 64; values_offered says how many it offered (more than values.size(): some
  // were cut). values_time_ms: when they were written, 0 never.
  std::vector<HealthValue> values;
  std::uint32_t values_offered = 0;
  std::int64_t values_time_ms = 0;
  // The process facts, the errors or the values were still being written after every retry
  // (a writer that died mid-update, or one stalled or writing without pause):
  // they are the last copy taken and may mix two updates. Never true otherwise.
  bool torn = false;
};

class HealthBlock {
 public:
  struct SlotSpec {
    std::string name, type;
  };
  // Replaces any stale block; mode 0600, or 0640 with the group. Throws ShmError.
  static HealthBlock create(std::string_view instance, const std::vector<SlotSpec>& modules,
                            const std::optional<std::string>& shm_group);
  // Throws ShmError when absent, not a health block or of another layout version.
  static HealthBlock open(std::string_view instance, Access access);
  static void remove(std::string_view instance);  // no error if absent

  HealthBlock(HealthBlock&&) noexcept;
  HealthBlock& operator=(HealthBlock&&) noexcept;
  ~HealthBlock();

  std::size_t slot_count() const;
  std::optional<std::size_t> find(std::string_view module_name) const;

  // Supervisor's fields (one writer: the supervisor). Readers see the four
  // together, never half of an update.
  void set_process(std::size_t slot, std::int32_t pid, ModuleState state,
                   std::int64_t start_time_ms, std::uint32_t restarts);
  void set_state(std::size_t slot, ModuleState state);

  // Module's fields (one writer per slot: the module's process).
  //
  // A module's process calls attach_writer once for its slot, before its first
  // write (ModuleRuntime's constructor does). A previous process of the module
  // killed inside record_error or set_values left that group's sequence odd:
  // attach_writer finishes the dead writer's section so readers stop reporting
  // `torn`. The errors stay (the entry that was being written is marked reason
  // "lost"); a half-written set of values is cleared until the next set_values.
  // Safe only while no other process writes the slot: the supervisor starts a
  // module again only after it has reaped the old process. Throws ShmError on a
  // read-only block.
  void attach_writer(std::size_t slot);
  void heartbeat(std::size_t slot, std::int64_t now_ms);
  void add(std::size_t slot, Counter counter, std::uint64_t delta);
  void set(std::size_t slot, Counter counter, std::uint64_t value);
  // Keeps the last 16; reason cut to 63 bytes, text to 200 (at a UTF-8 boundary).
  void record_error(std::size_t slot, std::int64_t now_ms, std::string_view reason,
                    std::string_view text);

  // Replaces the slot's named values with the first 64 of `values` (names cut to
  // 48 bytes at a UTF-8 boundary) and records values.size() as values_offered.
  // Readers see one whole set, never a mix of two.
  void set_values(std::size_t slot, std::int64_t now_ms, const std::vector<HealthValue>& values);

  // Safe while the slot is written: strings are never torn.
  HealthSnapshot snapshot(std::size_t slot) const;

 private:
  struct Mapping;
  explicit HealthBlock(std::unique_ptr<Mapping> mapping);
  std::unique_ptr<Mapping> mapping_;
};

}  // namespace bucky3::shm
