// A running agent seen read-only: its health block, its destination segments
// and a RingObserver on every ring. Re-attaches by itself when the agent
// restarts (the segments are replaced by new files). No Qt.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "inspector/instances.h"
#include "shm/batch_codec.h"
#include "shm/health.h"
#include "shm/segment.h"

namespace bucky3::inspector {

struct ModuleView {
  shm::HealthSnapshot health;
  double uptime_s = 0;  // 0 unless running
  double heartbeat_age_s = 0;
  bool stale = false;      // running, but no heartbeat for stale_after_s
  double in_per_s = 0;     // metrics_in (lines_in for a module counting only lines)
  double out_per_s = 0;    // metrics_out
  double cpu_percent = 0;  // of one core, since the previous refresh
};

struct RingView {
  std::string destination, source;
  shm::DestinationSegment::RingStats stats{};
  double records_per_s = 0, bytes_per_s = 0;
  std::deque<double> bytes_per_s_history;  // newest last, at most history_length
  std::uint64_t observer_overruns = 0;     // times the inspector fell a ring behind
  double fill() const {
    return stats.capacity ? double(stats.write_pos - stats.read_pos) / double(stats.capacity) : 0;
  }
};

class LiveSource {
 public:
  // Called for each record read from a ring: the destination/source of the ring,
  // the decoded batch, its size in bytes. `primary` is true for one ring per source
  // (a source writes the same batches to each of its destinations, so series are
  // fed from one ring only; talkers are counted per ring).
  using BatchHandler = std::function<void(const RingView& ring, const shm::DecodedBatch& batch,
                                          std::size_t bytes, std::int64_t now_ms, bool primary)>;

  // Heartbeats come every second; bucky3-ring status flags the same 5 s.
  static constexpr double stale_after_s = shm::heartbeat_stale_after_ms / 1000.0;
  static constexpr std::size_t history_length = 60;

  explicit LiveSource(std::string instance);
  ~LiveSource();

  void set_batch_handler(BatchHandler handler) { handler_ = std::move(handler); }

  // Attaches (or re-attaches after a restart) when needed, then reads every new
  // record of every ring. Cheap when nothing is new; call it several times a second.
  void drain(std::int64_t now_ms);
  // Snapshots the health block and the ring statistics, with rates since the
  // previous refresh.
  void refresh(std::int64_t now_ms);

  const std::string& instance() const { return instance_; }
  bool attached() const { return attached_; }
  // "attached to default: 3 modules, 2 destination segments", or why not.
  const std::string& status() const { return status_; }
  // Set while not attached because of permissions or another layout version.
  std::optional<InstanceState> problem() const { return problem_; }
  bool agent_running() const { return agent_running_; }
  std::uint64_t attach_count() const { return attach_count_; }  // grows at each (re)attach
  const std::vector<ModuleView>& modules() const { return modules_; }
  const std::vector<RingView>& rings() const { return rings_; }
  std::uint64_t records_read() const { return records_read_; }
  std::uint64_t decode_errors() const { return decode_errors_; }

 private:
  struct Attachment;
  bool try_attach(std::int64_t now_ms);
  bool replaced() const;  // a file we mapped is gone or is another file now
  void detach(std::string why);

  std::string instance_;
  BatchHandler handler_;
  std::unique_ptr<Attachment> attachment_;
  bool attached_ = false;
  bool agent_running_ = false;
  std::optional<InstanceState> problem_;
  std::string status_;
  std::int64_t last_attempt_ms_ = 0;
  std::uint64_t attach_count_ = 0;
  std::uint64_t records_read_ = 0, decode_errors_ = 0;
  std::vector<ModuleView> modules_;
  std::vector<RingView> rings_;
  std::int64_t last_refresh_ms_ = 0;
};

}  // namespace bucky3::inspector
