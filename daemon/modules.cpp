// Module type → entry point. Types the config accepts but this build lacks map to nullptr.
#include "daemon/modules.h"

#include "collectors/linux/module/module.h"
#include "collectors/statsd/server.h"
#include "exporters/debug/module/module.h"
#include "exporters/prometheus/module/module.h"

namespace bucky3::daemon {

ModuleEntry find_module_entry(std::string_view type) {
  if (type == "debug_output") return &debug_output::run_debug_output;
  if (type == "statsd_server") return &statsd::run_statsd_server;
  if (type == "linux_stats") return &linux_stats::run_linux_stats;
  if (type == "prometheus_exporter") return &prometheus::run_prometheus_exporter;
  return nullptr;
}

}  // namespace bucky3::daemon
