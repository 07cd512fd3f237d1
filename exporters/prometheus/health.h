// The agent's own health as exposition text (bucky3_module_*, bucky3_ring_*,
// bucky3_exporter_*), the way statsd_exporter and node_exporter users expect it.
#pragma once
#include <cstdint>
#include <span>
#include <string>

namespace bucky3::prometheus {

// One module slot of the health block, mapped by the module glue.
struct ModuleHealth {
  std::string name;  // label module
  std::string type;  // label type
  bool up = false;
  std::uint64_t restarts = 0;
  double heartbeat_age_seconds = 0;
  std::uint64_t metrics_in = 0;
  std::uint64_t metrics_out = 0;
  std::uint64_t drops_kernel = 0;      // cause="kernel": the UDP socket's drops
  std::uint64_t drops_series_cap = 0;  // cause="series_cap": max_series
  std::uint64_t drops_ring_full = 0;   // cause="ring_full": batches a full ring refused
  std::uint64_t drops_buffer = 0;      // cause="buffer": buffer_limit of push destinations
  std::uint64_t errors = 0;
  double cpu_seconds = 0;
  std::uint64_t resident_memory_bytes = 0;
};

struct RingHealth {
  std::string source;       // producing module
  std::string destination;  // consuming module
  std::uint64_t used_bytes = 0;
  std::uint64_t capacity_bytes = 0;
  std::uint64_t dropped_batches = 0;
};

// This exporter's own counters (HttpServer::stats(), SeriesStore::stats()).
struct ExporterHealth {
  std::uint64_t scrapes = 0;
  std::uint64_t sent_bytes = 0;
  std::uint64_t series = 0;
  std::uint64_t series_dropped = 0;
  std::uint64_t series_evicted = 0;
  std::uint64_t page_bytes = 0;  // uncompressed series text
};

// Appends every family with HELP and TYPE (counters end in _total), grouped.
void render_agent_health(std::span<const ModuleHealth> modules, std::span<const RingHealth> rings,
                         const ExporterHealth& exporter, std::string& out);

}  // namespace bucky3::prometheus
