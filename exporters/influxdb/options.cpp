// influxdb_client's own option checks; see options.h.
#include "exporters/influxdb/options.h"

#include <array>
#include <string_view>

#include "daemon/config/config.h"

namespace bucky3::influxdb {

void check_influxdb_client(const config::ModuleConfig& module) {
  const auto& options = module.options;
  if (!options.has("token")) return;
  constexpr std::array<std::string_view, 4> v1_keys{"database", "retention_policy", "username",
                                                    "password"};
  for (const auto& entry : module.node.entries()) {
    for (const auto key : v1_keys) {
      if (entry.key == key) {
        entry.key_node.fail(module.node.path() + "." + entry.key,
                            "is an InfluxDB 1.x key; with token (2.x) use org and influx_bucket");
      }
    }
  }
  if (!options.has("org") || !options.has("influx_bucket")) {
    module.node.fail(module.node.path() + ".token", "needs org and influx_bucket (InfluxDB 2.x)");
  }
}

}  // namespace bucky3::influxdb
