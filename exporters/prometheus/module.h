// prometheus_exporter module: ring batches into the series store, served over HTTP.
#pragma once

namespace bucky3::runtime {
class ModuleRuntime;
}

namespace bucky3::prometheus {
int run_prometheus_exporter(runtime::ModuleRuntime& runtime);
}
