// The one table of module types this build can run: type -> entry point. Adding a
// module is one line here (plus its schema in daemon/config/options.cpp); docs/INTERNALS.md.
// The supervisor passes check_module_config to the config loader.
#include "daemon/modules.h"

#include <array>
#include <utility>

#include "collectors/docker/module.h"
#include "collectors/linux/module.h"
#include "collectors/statsd/module.h"
#include "daemon/config/config.h"
#include "exporters/carbon/module.h"
#include "exporters/debug/module.h"
#include "exporters/influxdb/module.h"
#include "exporters/influxdb/options.h"
#include "exporters/prometheus/module.h"
#include "exporters/remote_write/module.h"
#include "exporters/remote_write/options.h"

namespace bucky3::daemon {

namespace {

using ModuleCheck = void (*)(const config::ModuleConfig&);

struct ModuleType {
  std::string_view type;
  ModuleEntry run;
  // For what config/ cannot check: OptionKind::yaml values, a protocol's own rules.
  ModuleCheck check = nullptr;
};

constexpr std::array<ModuleType, 8> kModules{{
    {"statsd_server", &statsd::run_statsd_server, &statsd::check_statsd_server},
    {"linux_stats", &linux_stats::run_linux_stats},
    {"docker_stats", &docker::run_docker_stats},
    {"prometheus_exporter", &prometheus::run_prometheus_exporter},
    {"influxdb_client", &influxdb::run_influxdb_client, &influxdb::check_influxdb_client},
    {"carbon_client", &carbon::run_carbon_client},
    {"remote_write_client", &remote_write::run_remote_write_client,
     &remote_write::check_remote_write_client},
    {"debug_output", &debug_output::run_debug_output},
}};

}  // namespace

std::vector<std::string_view> built_module_types() {
  std::vector<std::string_view> types;
  for (const auto& m : kModules) types.push_back(m.type);
  return types;
}

ModuleEntry find_module_entry(std::string_view type) {
  for (const auto& m : kModules) {
    if (m.type == type) return m.run;
  }
  return nullptr;
}

void check_module_config(const config::ModuleConfig& module) {
  for (const auto& m : kModules) {
    if (m.type == module.type && m.check) m.check(module);
  }
}

}  // namespace bucky3::daemon
