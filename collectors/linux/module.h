// linux_stats module: collects /proc and /sys at every flush tick.
#pragma once

namespace bucky3::runtime {
class ModuleRuntime;
}

namespace bucky3::linux_stats {
int run_linux_stats(runtime::ModuleRuntime& runtime);
}
