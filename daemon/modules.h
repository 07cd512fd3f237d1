// The module registry: the entry point of each module type this build can run.
#pragma once
#include <string_view>

namespace bucky3::runtime {
class ModuleRuntime;
}

namespace bucky3::daemon {

using ModuleEntry = int (*)(runtime::ModuleRuntime&);

// nullptr when the type is valid in a config but not built into this binary.
ModuleEntry find_module_entry(std::string_view type);

}  // namespace bucky3::daemon
