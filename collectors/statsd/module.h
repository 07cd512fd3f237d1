// statsd_server module: receiver → aggregator → incremental flush into the rings.
#pragma once

namespace bucky3::runtime {
class ModuleRuntime;
}

namespace bucky3::statsd {
int run_statsd_server(runtime::ModuleRuntime& runtime);
}
