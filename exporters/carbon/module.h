// carbon_client module: ring batches as Graphite plaintext over TCP to every remote host.
#pragma once

namespace bucky3::runtime {
class ModuleRuntime;
}

namespace bucky3::carbon {
int run_carbon_client(runtime::ModuleRuntime& runtime);
}
