// The one table of module types this build can run: type -> entry point. Adding a
// module is one line here (plus its schema in daemon/config/options.cpp); docs/INTERNALS.md.
#include "daemon/modules.h"

#include <array>
#include <utility>

#include "collectors/linux/module.h"
#include "collectors/statsd/module.h"
#include "exporters/debug/module.h"
#include "exporters/prometheus/module.h"

namespace bucky3::daemon {

namespace {

constexpr std::array<std::pair<std::string_view, ModuleEntry>, 4> kModules{{
    {"statsd_server", &statsd::run_statsd_server},
    {"linux_stats", &linux_stats::run_linux_stats},
    {"prometheus_exporter", &prometheus::run_prometheus_exporter},
    {"debug_output", &debug_output::run_debug_output},
}};

}  // namespace

ModuleEntry find_module_entry(std::string_view type) {
  for (const auto& [name, entry] : kModules) {
    if (name == type) return entry;
  }
  return nullptr;
}

}  // namespace bucky3::daemon
