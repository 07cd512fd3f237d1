// remote_write_client module: ring batches to Prometheus remote write 1.0 receivers.
#pragma once

namespace bucky3::runtime {
class ModuleRuntime;
}

namespace bucky3::remote_write {
int run_remote_write_client(runtime::ModuleRuntime& runtime);
}
