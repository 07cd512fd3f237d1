// prometheus_exporter module: batches from the rings refresh the series store;
// each scrape serves the cached series text plus the agent's own health, read
// from the health block and the ring headers (read-only).
#include "exporters/prometheus/module.h"

#include <malloc.h>

#include <map>
#include <optional>
#include <ostream>

#include "common/log.h"
#include "daemon/runtime/runtime.h"
#include "exporters/prometheus/health.h"
#include "exporters/prometheus/http_server.h"
#include "exporters/prometheus/series_store.h"

namespace bucky3::prometheus {
namespace {

using runtime::ModuleRuntime;
using shm::Counter;

// A module whose heartbeat is older than this is reported down.
constexpr std::int64_t kHeartbeatStaleMs = 10'000;

class Exporter {
 public:
  explicit Exporter(ModuleRuntime& runtime)
      : runtime_(runtime), store_(store_options(runtime.module())) {
    // Under `bucky3-ring replay --output` nothing listens: the final page of
    // series goes to that stream when the replay ends (docs/DUMP.md, "Replay").
    if (!runtime.replay_output()) {
      http_.emplace(runtime.io(), http_options(runtime.module()),
                    [this](bool gzip) { return page(gzip); });
      log::info("serving http on ", runtime.module().options.get_string("local_host"), " (port ",
                http_->port(), "), path /", runtime.module().options.get_string("http_path"));
    }
    runtime.consume([this](std::string_view, const shm::DecodedBatch& batch) {
      const auto now = SeriesStore::Clock::now();
      for (const auto& view : batch.metrics) store_.apply(view, now);
      runtime_.count(Counter::metrics_out, batch.metrics.size());
      return true;
    });
    runtime.on_self_report([this](std::vector<Metric>& metrics) {
      const auto now = SeriesStore::Clock::now();
      for (const auto& metric : metrics) store_.apply(metric, now);
    });
    runtime.add_self_report_values([this](std::vector<Field>& values) {
      const auto http = http_ ? http_->stats() : HttpStats{};
      const auto store = store_.stats();
      values.push_back({"scrapes", static_cast<std::int64_t>(http.scrapes)});
      values.push_back({"series_held", static_cast<std::int64_t>(store.series)});
      values.push_back({"sent_bytes", static_cast<std::int64_t>(http.sent_bytes)});
    });
    runtime.on_flush([this](std::int64_t) { on_flush(); });
    runtime.on_stop([this] {
      if (http_) http_->stop();
      if (auto* out = runtime_.replay_output()) {
        *out << *store_.text() << std::flush;
      }
    });
  }

 private:
  static StoreOptions store_options(const config::ModuleConfig& module) {
    StoreOptions options;
    options.values_timeout = std::chrono::milliseconds(
        static_cast<std::int64_t>(module.options.get_seconds("values_timeout") * 1000));
    options.max_series = static_cast<std::size_t>(module.options.get_int("max_series"));
    return options;
  }

  static HttpOptions http_options(const config::ModuleConfig& module) {
    HttpOptions options;
    options.local_host = module.options.get_string("local_host");
    options.http_path = module.options.get_string("http_path");
    options.max_connections = static_cast<std::size_t>(module.options.get_int("max_connections"));
    options.idle_timeout =
        std::chrono::seconds(static_cast<std::int64_t>(module.options.get_seconds("idle_timeout")));
    return options;
  }

  void on_flush() {
    store_.evict(SeriesStore::Clock::now());
    const auto stats = store_.stats();
    runtime_.set_level(Counter::series, stats.series);
    if (stats.series_dropped > last_series_dropped_) {
      runtime_.count(Counter::drops_series_cap, stats.series_dropped - last_series_dropped_);
      log::warning("max_series reached: ", stats.series_dropped - last_series_dropped_,
                   " new series dropped since the last flush");
      last_series_dropped_ = stats.series_dropped;
    }
  }

  ScrapePage page(bool gzip) {
    tail_.clear();
    render_health(tail_);
    return store_.page(gzip, tail_);
  }

  // Segments of every active destination, mapped read-only once.
  const shm::DestinationSegment* segment(const std::string& destination) {
    auto it = segments_.find(destination);
    if (it == segments_.end()) {
      try {
        it = segments_
                 .emplace(destination,
                          std::make_unique<shm::DestinationSegment>(shm::DestinationSegment::open(
                              runtime_.config().instance, destination, shm::Access::read_only)))
                 .first;
      } catch (const shm::ShmError& e) {
        return nullptr;
      }
    }
    return it->second.get();
  }

  void render_health(std::string& out) {
    const auto now = runtime::wall_clock_ms();
    auto& health = runtime_.health();
    modules_.clear();
    for (std::size_t slot = 0; slot < health.slot_count(); ++slot) {
      const auto s = health.snapshot(slot);
      const auto c = [&](Counter counter) { return s.counters[static_cast<std::size_t>(counter)]; };
      ModuleHealth m;
      m.name = s.name;
      m.type = s.type;
      m.up = s.state == shm::ModuleState::running && now - s.last_heartbeat_ms < kHeartbeatStaleMs;
      m.restarts = s.restarts;
      m.heartbeat_age_seconds =
          s.last_heartbeat_ms > 0 ? static_cast<double>(now - s.last_heartbeat_ms) / 1000 : 0;
      m.metrics_in = c(Counter::metrics_in);
      m.metrics_out = c(Counter::metrics_out);
      m.drops_kernel = c(Counter::drops_kernel);
      m.drops_series_cap = c(Counter::drops_series_cap);
      m.drops_ring_full = c(Counter::drops_ring_full);
      m.drops_buffer = c(Counter::drops_buffer);
      m.errors = s.errors_total;
      m.cpu_seconds = static_cast<double>(c(Counter::cpu_ns)) / 1e9;
      m.resident_memory_bytes = c(Counter::rss_bytes);
      modules_.push_back(std::move(m));
    }
    rings_.clear();
    for (const auto& module : runtime_.config().modules) {
      if (module.inactive || module.role != config::ModuleRole::destination) continue;
      const auto* seg = segment(module.name);
      if (seg == nullptr) continue;
      for (std::size_t ring = 0; ring < seg->ring_count(); ++ring) {
        const auto stats = seg->ring_stats(ring);
        RingHealth r;
        r.source = std::string(seg->source_name(ring));
        r.destination = module.name;
        r.used_bytes = stats.write_pos - stats.read_pos;
        r.capacity_bytes = stats.capacity;
        r.dropped_batches = stats.records_dropped;
        rings_.push_back(std::move(r));
      }
    }
    const auto http = http_ ? http_->stats() : HttpStats{};
    const auto store = store_.stats();
    ExporterHealth exporter;
    exporter.scrapes = http.scrapes;
    exporter.sent_bytes = http.sent_bytes;
    exporter.series = store.series;
    exporter.series_dropped = store.series_dropped;
    exporter.series_evicted = store.evicted;
    exporter.page_bytes = store.text_bytes;
    render_agent_health(modules_, rings_, exporter, out);
  }

  ModuleRuntime& runtime_;
  SeriesStore store_;
  std::optional<HttpServer> http_;  // none under replay --output
  std::string tail_;
  std::vector<ModuleHealth> modules_;
  std::vector<RingHealth> rings_;
  std::map<std::string, std::unique_ptr<shm::DestinationSegment>> segments_;
  std::uint64_t last_series_dropped_ = 0;
};

}  // namespace

int run_prometheus_exporter(ModuleRuntime& runtime) {
  // The page text and its gzip copy are rebuilt after every flush (10,000
  // series: ~1 MB each) while the previous ones may still be in flight. glibc
  // raises its mmap threshold to the size of the first such buffer it frees, so
  // later pages land in the heap, where the holes they leave made RSS swing by
  // two page sizes (21.9-24.2 MiB in a 30-minute soak). A fixed threshold (which
  // also turns off that adjustment) keeps every buffer over 128 KiB in its own
  // mapping, returned to the kernel when freed: RSS follows the live data
  // (docs/RELIABILITY.md, "Soak"). This process only: modules are forked.
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  Exporter exporter(runtime);
  return runtime.run();
}

}  // namespace bucky3::prometheus
