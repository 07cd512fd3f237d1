// What every module process runs on: its Asio loop, signals, heartbeats,
// flush ticks, routing of source batches into rings, draining of destination
// rings, and self_report. One ModuleRuntime per module process.
#pragma once
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "daemon/config/config.h"
#include "shm/batch_codec.h"
#include "shm/health.h"
#include "shm/metric.h"
#include "shm/segment.h"

namespace bucky3::runtime {

std::int64_t wall_clock_ms();

// Global metadata, filters, timestamps, in that order; false = filtered out.
// `metadata` is the module's resolved metadata (sorted); a metric's own tags win.
bool prepare_metric(const config::ModuleConfig& module, std::int64_t flush_time_ms, Metric& metric);

// The flush schedule, apart from the timer that follows it (unit-tested in test_runtime).
// The delay of the first tick: one interval; with randomize_startup and an interval
// over 3 s, a uniform draw from `seed` in [0, min(interval, 15 s)).
std::chrono::steady_clock::duration first_flush_delay(double flush_interval_s,
                                                      bool randomize_startup, std::uint64_t seed);
// Tick number `index` of the grid that starts at `grid_start` (tick 0), unless it is
// not after `now` (the tick before it overran): then the first grid tick after `now`.
struct FlushTick {
  std::chrono::steady_clock::time_point at;
  std::uint64_t index = 0;
};
FlushTick next_flush_tick(std::chrono::steady_clock::time_point grid_start,
                          std::chrono::steady_clock::duration interval, std::uint64_t index,
                          std::chrono::steady_clock::time_point now);

class ModuleRuntime {
 public:
  ModuleRuntime(const config::Config& config, const config::ModuleConfig& module);
  ~ModuleRuntime();
  ModuleRuntime(const ModuleRuntime&) = delete;
  ModuleRuntime& operator=(const ModuleRuntime&) = delete;

  boost::asio::io_context& io() { return io_; }
  const config::Config& config() const { return config_; }
  const config::ModuleConfig& module() const { return module_; }
  shm::HealthBlock& health() { return *health_; }
  std::size_t health_slot() const { return slot_; }

  // Counters and errors of this module's health slot.
  void count(shm::Counter counter, std::uint64_t delta = 1);
  void set_level(shm::Counter counter, std::uint64_t value);
  void record_error(std::string_view reason, std::string_view text);
  // Into the last-16 list only, without counting an error (e.g. an invalid
  // StatsD line, which has its own counter).
  void record_recent(std::string_view reason, std::string_view text);

  // Called once when SIGTERM, SIGINT or SIGHUP arrives, before the loop stops:
  // the module flushes what it holds. The loop then runs until it has no work.
  void on_stop(std::function<void()> handler) { stop_handlers_.push_back(std::move(handler)); }
  bool stopping() const { return stopping_; }
  void request_stop();

  // Flush ticks every flush_interval on a fixed grid (no drift), the first one
  // delayed at random when randomize_startup is set and the interval is over 3 s.
  // The argument is the wall-clock time of the tick in ms.
  void on_flush(std::function<void(std::int64_t now_ms)> handler);

  // --- sources --------------------------------------------------------------
  // Prepares (metadata, filters, add_timestamps) and sends metrics to every
  // destination this source routes to, in batches of at most chunk_size.
  // Consumes `metrics`. Returns the number of metrics sent.
  std::size_t send_metrics(std::vector<Metric>& metrics, std::int64_t flush_time_ms);

  // --- destinations ----------------------------------------------------------
  // Called on the loop for each batch from any ring; return true once the batch
  // is handed off (the read position then moves past it), false to leave it in
  // the ring and try again later (see resume_consuming()).
  using BatchHandler = std::function<bool(std::string_view source, const shm::DecodedBatch& batch)>;
  void consume(BatchHandler handler);
  // After a handler returned false: look at the rings again.
  void resume_consuming();

  // Self-report metrics (bucket bucky3, tag name=<module>), built at most once a
  // minute when self_report is set. Sources emit them; destinations get them
  // through this hook as if they came from a ring.
  void on_self_report(std::function<void(std::vector<Metric>&)> handler) {
    self_report_handler_ = std::move(handler);
  }
  // Extra values a module adds to its self-report (e.g. scrapes served). The same
  // values go into the module's health slot (HealthSnapshot::values): each time the
  // module self_reports, the very values it reports; with self_report off, every
  // heartbeat (1 s).
  void add_self_report_values(std::function<void(std::vector<Field>&)> provider) {
    self_report_providers_.push_back(std::move(provider));
  }
  // What the providers give now, in order (the self-report's values after the
  // runtime's own and the counters).
  std::vector<Field> module_values();

  // `bucky3-ring replay --output`: the stream a push module writes, in order, every
  // payload it would have sent, instead of opening connections. nullptr in a live agent.
  std::ostream* replay_output() const { return replay_output_; }
  void set_replay_output(std::ostream* out) { replay_output_ = out; }

  // Runs the loop until stopped, then returns 0 (a clean exit) for the module's
  // entry point to return. A failure on the loop is an exception, not a status:
  // it leaves run(), and the supervisor's child turns it into exit status 1.
  int run();

 private:
  void heartbeat();
  void schedule_flush(std::chrono::steady_clock::time_point when);
  void maybe_self_report(std::int64_t now_ms);
  void publish_values(std::int64_t now_ms, const std::vector<Field>& values);
  void drain_rings();
  bool drain_once();  // true when more records wait
  void start_waiter();
  void stop_waiter();

  const config::Config& config_;
  const config::ModuleConfig& module_;
  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer heartbeat_timer_;
  boost::asio::steady_timer flush_timer_;
  std::unique_ptr<shm::HealthBlock> health_;
  std::size_t slot_ = 0;
  bool stop_requested_ = false;  // request_stop() ran (handlers may call it again)
  bool stopping_ = false;        // the loop is being torn down
  std::vector<std::function<void()>> stop_handlers_;
  std::function<void(std::int64_t)> flush_handler_;
  std::chrono::steady_clock::time_point flush_grid_start_;
  std::chrono::steady_clock::duration flush_interval_{};
  std::uint64_t flush_ticks_ = 0;
  std::chrono::steady_clock::time_point started_;
  std::int64_t last_self_report_ms_ = 0;
  std::function<void(std::vector<Metric>&)> self_report_handler_;
  std::vector<std::function<void(std::vector<Field>&)>> self_report_providers_;
  std::ostream* replay_output_ = nullptr;

  // Source side: one writer per destination this module routes to.
  struct Route {
    std::string destination;
    std::unique_ptr<shm::DestinationSegment> segment;
    std::unique_ptr<shm::RingWriter> writer;
  };
  std::vector<Route> routes_;
  std::vector<std::byte> encode_buffer_;
  std::size_t max_record_bytes_ = SIZE_MAX;  // the smallest limit of the rings written
  void write_batch(std::span<const Metric> batch);

  // Destination side.
  std::unique_ptr<shm::DestinationSegment> own_segment_;
  std::vector<std::unique_ptr<shm::RingReader>> readers_;
  BatchHandler batch_handler_;
  shm::DecodedBatch decoded_;
  bool paused_ = false;  // a handler refused a batch: wait for resume_consuming()
  // The waiter thread sleeps on the segment's futex doorbell, which Asio cannot
  // watch, and posts a drain to the loop. It never touches a ring itself.
  std::thread waiter_;
  std::mutex waiter_mutex_;
  std::condition_variable waiter_cv_;
  bool drain_pending_ = false;           // guarded by waiter_mutex_
  bool waiter_exit_ = false;             // guarded by waiter_mutex_
  std::atomic<bool> waiter_done_{true};  // the waiter thread has left its loop
};

}  // namespace bucky3::runtime
