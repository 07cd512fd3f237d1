// debug_output: prints every metric it reads from its rings to stdout.
#pragma once

namespace bucky3::runtime {
class ModuleRuntime;
}

namespace bucky3::debug_output {
int run_debug_output(runtime::ModuleRuntime& runtime);
}
