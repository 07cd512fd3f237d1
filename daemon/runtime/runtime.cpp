// Module runtime; see runtime.h.
#include "daemon/runtime/runtime.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <random>
#include <type_traits>

#include "common/log.h"

namespace bucky3::runtime {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

std::uint64_t cpu_ns() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const auto to_ns = [](const timeval& tv) {
    return static_cast<std::uint64_t>(tv.tv_sec) * 1'000'000'000ull +
           static_cast<std::uint64_t>(tv.tv_usec) * 1000ull;
  };
  return to_ns(usage.ru_utime) + to_ns(usage.ru_stime);
}

// Resident bytes from /proc/self/statm, kept open and re-read with pread: the
// heartbeat runs every second in every module, so it should cost next to nothing.
std::uint64_t rss_bytes() {
  static const int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  static const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  char buf[128];
  const ssize_t n = fd < 0 ? -1 : ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  buf[n] = '\0';
  unsigned long long size = 0, resident = 0;
  if (std::sscanf(buf, "%llu %llu", &size, &resident) != 2) return 0;
  return resident * page;
}

std::uint64_t max_rss_bytes() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;  // ru_maxrss is in KiB
}

}  // namespace

bool prepare_metric(const config::ModuleConfig& module, std::int64_t flush_time_ms,
                    Metric& metric) {
  if (!module.metadata.empty()) {
    // Both lists are sorted: merge, the metric's own tags win.
    std::vector<Tag> merged;
    merged.reserve(metric.metadata.size() + module.metadata.size());
    auto own = metric.metadata.begin();
    auto global = module.metadata.begin();
    while (own != metric.metadata.end() || global != module.metadata.end()) {
      if (global == module.metadata.end() ||
          (own != metric.metadata.end() && own->key < global->key)) {
        merged.push_back(std::move(*own++));
      } else if (own == metric.metadata.end() || global->key < own->key) {
        merged.push_back(*global++);
      } else {
        merged.push_back(std::move(*own++));
        ++global;
      }
    }
    metric.metadata = std::move(merged);
  }
  if (!module.filters.empty() && !config::apply_filters(module.filters, metric)) return false;
  if (module.add_timestamps && !metric.timestamp_ms) metric.timestamp_ms = flush_time_ms;
  return true;
}

ModuleRuntime::ModuleRuntime(const config::Config& config, const config::ModuleConfig& module)
    : config_(config),
      module_(module),
      signals_(io_, SIGTERM, SIGINT, SIGHUP),
      heartbeat_timer_(io_),
      flush_timer_(io_),
      started_(Clock::now()) {
  health_ = std::make_unique<shm::HealthBlock>(
      shm::HealthBlock::open(config.instance, shm::Access::read_write));
  const auto slot = health_->find(module.name);
  if (!slot) throw std::runtime_error("module " + module.name + " has no slot in the health block");
  slot_ = *slot;
  // A previous process of this module may have been killed mid-update.
  health_->attach_writer(slot_);
  // The first self-report comes one flush interval after the start (at most a
  // minute), then one a minute.
  last_self_report_ms_ =
      wall_clock_ms() - 60'000 +
      std::min<std::int64_t>(60'000, static_cast<std::int64_t>(module.flush_interval_s * 1000));

  if (module.role == config::ModuleRole::source) {
    for (const auto& destination : module.destinations) {
      Route route;
      route.destination = destination;
      route.segment = std::make_unique<shm::DestinationSegment>(
          shm::DestinationSegment::open(config.instance, destination, shm::Access::read_write));
      const auto ring = route.segment->ring_index(module.name);
      if (!ring)
        throw std::runtime_error("segment of " + destination + " has no ring for " + module.name);
      route.writer = std::make_unique<shm::RingWriter>(*route.segment, *ring);
      max_record_bytes_ =
          std::min(max_record_bytes_, shm::max_record_bytes(route.segment->ring_capacity()));
      routes_.push_back(std::move(route));
    }
  } else {
    own_segment_ = std::make_unique<shm::DestinationSegment>(
        shm::DestinationSegment::open(config.instance, module.name, shm::Access::read_write));
    for (std::size_t i = 0; i < own_segment_->ring_count(); ++i) {
      readers_.push_back(std::make_unique<shm::RingReader>(*own_segment_, i));
    }
  }

  signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    log::info("signal ", signo, ": stopping");
    request_stop();
  });
  heartbeat();
}

ModuleRuntime::~ModuleRuntime() {
  stop_waiter();
}

void ModuleRuntime::count(shm::Counter counter, std::uint64_t delta) {
  health_->add(slot_, counter, delta);
}

void ModuleRuntime::set_level(shm::Counter counter, std::uint64_t value) {
  health_->set(slot_, counter, value);
}

void ModuleRuntime::record_error(std::string_view reason, std::string_view text) {
  health_->record_error(slot_, wall_clock_ms(), reason, text);
  health_->add(slot_, shm::Counter::errors, 1);
}

void ModuleRuntime::record_recent(std::string_view reason, std::string_view text) {
  health_->record_error(slot_, wall_clock_ms(), reason, text);
}

void ModuleRuntime::request_stop() {
  if (stop_requested_) return;
  stop_requested_ = true;
  for (auto& handler : stop_handlers_) handler();
  stop_waiter();
  // A destination hands on what is already in its rings, so a whole-agent stop
  // (sources stop first and flush) loses nothing; bounded by what is there now.
  if (batch_handler_ && !paused_) {
    for (int round = 0; round < 1000; ++round) {
      if (!drain_once()) break;
    }
  }
  stopping_ = true;
  flush_timer_.cancel();
  heartbeat_timer_.cancel();
  signals_.cancel();
  io_.stop();
}

void ModuleRuntime::heartbeat() {
  const auto now = wall_clock_ms();
  health_->heartbeat(slot_, now);
  health_->set(slot_, shm::Counter::cpu_ns, cpu_ns());
  health_->set(slot_, shm::Counter::rss_bytes, rss_bytes());
  if (module_.self_report) {
    maybe_self_report(now);
  } else if (!self_report_providers_.empty()) {
    publish_values(now, module_values());
  }
  heartbeat_timer_.expires_after(std::chrono::seconds(1));
  heartbeat_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !stopping_) heartbeat();
  });
}

void ModuleRuntime::maybe_self_report(std::int64_t now_ms) {
  if (!module_.self_report || now_ms - last_self_report_ms_ < 60'000) return;
  last_self_report_ms_ = now_ms;
  Metric metric;
  metric.bucket = "bucky3";
  metric.kind = MetricKind::sample;
  metric.set_tag("name", module_.name);
  metric.values.push_back({"cpu_seconds", static_cast<double>(cpu_ns()) / 1e9});
  metric.values.push_back({"max_rss_bytes", static_cast<std::int64_t>(max_rss_bytes())});
  metric.values.push_back(
      {"uptime_seconds", std::chrono::duration<double>(Clock::now() - started_).count()});
  const auto snapshot = health_->snapshot(slot_);
  // Every counter under its health-block name, but the two levels sent above as
  // cpu_seconds and max_rss_bytes.
  for (std::size_t i = 0; i < shm::counter_count; ++i) {
    const auto counter = static_cast<shm::Counter>(i);
    if (counter == shm::Counter::cpu_ns || counter == shm::Counter::rss_bytes) continue;
    metric.values.push_back(
        {std::string(shm::to_string(counter)), static_cast<std::int64_t>(snapshot.counters[i])});
  }
  // The health slot gets exactly what this report carries, so the two never disagree.
  auto values = module_values();
  publish_values(now_ms, values);
  metric.values.insert(metric.values.end(), std::make_move_iterator(values.begin()),
                       std::make_move_iterator(values.end()));
  std::vector<Metric> metrics;
  metrics.push_back(std::move(metric));
  if (module_.role == config::ModuleRole::source) {
    send_metrics(metrics, now_ms);
  } else if (self_report_handler_) {
    for (auto& m : metrics) prepare_metric(module_, now_ms, m);
    self_report_handler_(metrics);
  }
}

std::vector<Field> ModuleRuntime::module_values() {
  std::vector<Field> values;
  for (auto& provider : self_report_providers_) provider(values);
  return values;
}

void ModuleRuntime::publish_values(std::int64_t now_ms, const std::vector<Field>& values) {
  std::vector<shm::HealthValue> out;
  out.reserve(values.size());
  for (const auto& field : values) {
    // Providers give integers; a double would be stored rounded (and clamped).
    const auto value = std::visit(
        [](auto v) -> std::int64_t {
          if constexpr (std::is_same_v<decltype(v), double>) {
            if (!(v == v)) return 0;
            if (v >= 9.2e18) return INT64_MAX;
            if (v <= -9.2e18) return INT64_MIN;
            return std::llround(v);
          } else {
            return v;
          }
        },
        field.value);
    out.push_back({field.name, value});
  }
  health_->set_values(slot_, now_ms, out);
}

Clock::duration first_flush_delay(double flush_interval_s, bool randomize_startup,
                                  std::uint64_t seed) {
  if (!randomize_startup || flush_interval_s <= 3.0)
    return std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(flush_interval_s));
  // Spreads the flushes of many agents started together; DESIGN caps it at
  // one interval and 15 s.
  const double cap = std::min(flush_interval_s, 15.0);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(0.0, cap);
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(dist(rng)));
}

FlushTick next_flush_tick(Clock::time_point grid_start, Clock::duration interval,
                          std::uint64_t index, Clock::time_point now) {
  // On the grid, not "now + interval", so ticks never drift; a tick that overran
  // skips the missed ones instead of firing in a burst.
  auto at = grid_start + interval * static_cast<std::int64_t>(index);
  if (at <= now) {
    const auto behind = (now - grid_start) / interval + 1;
    index = static_cast<std::uint64_t>(behind);
    at = grid_start + interval * behind;
  }
  return {at, index};
}

void ModuleRuntime::on_flush(std::function<void(std::int64_t)> handler) {
  flush_handler_ = std::move(handler);
  flush_interval_ = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(module_.flush_interval_s));
  flush_grid_start_ =
      Clock::now() + first_flush_delay(module_.flush_interval_s, module_.randomize_startup,
                                       std::random_device{}());
  flush_ticks_ = 0;
  schedule_flush(flush_grid_start_);
}

void ModuleRuntime::schedule_flush(Clock::time_point when) {
  flush_timer_.expires_at(when);
  flush_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    flush_handler_(wall_clock_ms());
    const auto next =
        next_flush_tick(flush_grid_start_, flush_interval_, flush_ticks_ + 1, Clock::now());
    flush_ticks_ = next.index;
    schedule_flush(next.at);
  });
}

void ModuleRuntime::write_batch(std::span<const Metric> batch) {
  if (batch.empty()) return;
  shm::encode_batch(batch, encode_buffer_);
  // A record may take at most half a ring. A batch of long-tagged metrics can
  // outgrow a small ring_size: split it rather than drop it.
  if (encode_buffer_.size() > max_record_bytes_ && batch.size() > 1) {
    const auto half = batch.size() / 2;
    write_batch(batch.first(half));
    write_batch(batch.subspan(half));
    return;
  }
  for (auto& route : routes_) {
    if (encode_buffer_.size() <= max_record_bytes_ && route.writer->try_write(encode_buffer_)) {
      health_->add(slot_, shm::Counter::batches_out, 1);
      health_->add(slot_, shm::Counter::bytes_out, encode_buffer_.size());
    } else {
      health_->add(slot_, shm::Counter::drops_ring_full, batch.size());
    }
  }
}

std::size_t ModuleRuntime::send_metrics(std::vector<Metric>& metrics, std::int64_t flush_time_ms) {
  std::size_t sent = 0;
  std::vector<Metric> batch;
  const std::size_t chunk = std::max<std::size_t>(1, module_.chunk_size);
  batch.reserve(std::min(chunk, metrics.size()));
  const auto send = [&] {
    write_batch(batch);
    sent += batch.size();
    batch.clear();
  };
  for (auto& metric : metrics) {
    if (!prepare_metric(module_, flush_time_ms, metric)) continue;
    batch.push_back(std::move(metric));
    if (batch.size() >= chunk) send();
  }
  send();
  metrics.clear();
  health_->add(slot_, shm::Counter::metrics_out, sent);
  return sent;
}

void ModuleRuntime::consume(BatchHandler handler) {
  batch_handler_ = std::move(handler);
  start_waiter();
}

void ModuleRuntime::resume_consuming() {
  if (!paused_) return;
  paused_ = false;
  asio::post(io_, [this] { drain_rings(); });
}

bool ModuleRuntime::drain_once() {
  // Bounded work per call so HTTP and timers interleave with a backlog.
  constexpr int kMaxBatchesPerCall = 64;
  int handled = 0;
  bool more = false;
  for (std::size_t ring = 0; ring < readers_.size(); ++ring) {
    auto& reader = *readers_[ring];
    while (handled < kMaxBatchesPerCall) {
      const auto record = reader.peek();
      if (!record) break;
      ++handled;
      if (const auto error = shm::decode_batch(*record, decoded_)) {
        // A corrupt record can never become readable: skip it, loudly.
        log::error("ring of ", own_segment_->source_name(ring),
                   ": undecodable batch skipped: ", error->reason, " at byte ", error->offset);
        record_error("undecodable batch", error->reason);
        reader.commit();
        continue;
      }
      if (!batch_handler_(own_segment_->source_name(ring), decoded_)) {
        paused_ = true;
        break;
      }
      health_->add(slot_, shm::Counter::metrics_in, decoded_.metrics.size());
      health_->add(slot_, shm::Counter::bytes_in, record->size());
      reader.commit();
    }
    if (paused_) break;
    if (handled >= kMaxBatchesPerCall) {
      more = true;
      break;
    }
  }
  return more && !paused_;
}

void ModuleRuntime::drain_rings() {
  if (stopping_ || paused_) return;
  if (drain_once()) {
    asio::post(io_, [this] { drain_rings(); });
    return;
  }
  if (paused_) return;
  {
    std::lock_guard lock(waiter_mutex_);
    drain_pending_ = false;
  }
  waiter_cv_.notify_one();
}

namespace {
// SIGUSR1 only interrupts the waiter's futex sleep at stop; nothing to do in it.
extern "C" void interrupt_waiter(int) {}
}  // namespace

void ModuleRuntime::start_waiter() {
  if (waiter_.joinable()) return;
  struct sigaction action {};
  action.sa_handler = interrupt_waiter;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: the futex wait returns with EINTR
  ::sigaction(SIGUSR1, &action, nullptr);
  waiter_done_.store(false, std::memory_order_relaxed);  // relaxed: the thread does not exist yet
  waiter_ = std::thread([this] {
    struct Done {
      std::atomic<bool>& done;
      // release: pairs with the acquire in stop_waiter(); nothing follows but the return.
      ~Done() { done.store(true, std::memory_order_release); }
    } done{waiter_done_};
    while (true) {
      {
        std::unique_lock lock(waiter_mutex_);
        waiter_cv_.wait(lock, [this] { return !drain_pending_ || waiter_exit_; });
        if (waiter_exit_) return;
      }
      // Long sleeps: a producer's doorbell wakes us at once, and stop_waiter()
      // interrupts the sleep with SIGUSR1, so the timeout only bounds a lost wake.
      own_segment_->wait_for_data(std::chrono::seconds(5));
      bool has_data = false;
      for (std::size_t i = 0; i < own_segment_->ring_count(); ++i) {
        const auto stats = own_segment_->ring_stats(i);
        if (stats.write_pos != stats.read_pos) has_data = true;
      }
      if (!has_data) continue;
      {
        std::lock_guard lock(waiter_mutex_);
        if (waiter_exit_) return;
        drain_pending_ = true;
      }
      asio::post(io_, [this] { drain_rings(); });
    }
  });
}

void ModuleRuntime::stop_waiter() {
  if (!waiter_.joinable()) return;
  {
    std::lock_guard lock(waiter_mutex_);
    waiter_exit_ = true;
  }
  waiter_cv_.notify_one();
  // A signal that lands just before the thread enters its futex sleep is lost,
  // so keep interrupting until the thread says it is out.
  // acquire: pairs with the waiter's release store; after it the thread only returns.
  while (!waiter_done_.load(std::memory_order_acquire)) {
    ::pthread_kill(waiter_.native_handle(), SIGUSR1);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  waiter_.join();
}

int ModuleRuntime::run() {
  io_.run();
  return 0;
}

}  // namespace bucky3::runtime
