// The module registry: the entry point of each module type this build can run.
#pragma once
#include <string_view>
#include <vector>

namespace bucky3::runtime {
class ModuleRuntime;
}
namespace bucky3::config {
struct ModuleConfig;
}

namespace bucky3::daemon {

using ModuleEntry = int (*)(runtime::ModuleRuntime&);

// The types this binary can run, in table order (bucky3 --help lists them).
std::vector<std::string_view> built_module_types();

// nullptr when the type is valid in a config but not built into this binary.
ModuleEntry find_module_entry(std::string_view type);

// The module type's own checks of its options (a config::ModuleCheck): throws
// config::ConfigError. Passed to the config loader, so --check and the
// supervisor report a module's errors at load, with file:line:col.
void check_module_config(const config::ModuleConfig& module);

}  // namespace bucky3::daemon
