// docker_stats module: a Docker collection at every flush tick, the size listing
// every filesystem_interval, both on the module's loop.
#pragma once

namespace bucky3::runtime {
class ModuleRuntime;
}

namespace bucky3::docker {
int run_docker_stats(runtime::ModuleRuntime& runtime);
}
