// statsd_server module: receiver → aggregator → incremental flush into the rings.
#pragma once

namespace bucky3::runtime {
class ModuleRuntime;
}
namespace bucky3::config {
struct ModuleConfig;
}

namespace bucky3::statsd {
int run_statsd_server(runtime::ModuleRuntime& runtime);
// The checks config/ cannot make (histogram_bins); throws config::ConfigError.
void check_statsd_server(const config::ModuleConfig& module);
}  // namespace bucky3::statsd
