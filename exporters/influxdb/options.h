// exporters/influxdb/options.h — what influxdb_client's keys mean together,
// beyond their kinds in the schema, checked at config load.
#pragma once

namespace bucky3::config {
struct ModuleConfig;
}

namespace bucky3::influxdb {

// The module's check hook (daemon/modules.cpp). InfluxDB 2.x (`token`) and 1.x
// (`database`, `retention_policy`, `username`, `password`) are two APIs: with a
// token, a 1.x key would be silently ignored, so it is refused, and `org` and
// `influx_bucket` are required. Throws config::ConfigError at the offending node.
void check_influxdb_client(const config::ModuleConfig& module);

}  // namespace bucky3::influxdb
