// influxdb_client module: ring batches as line protocol to every remote host,
// over UDP or HTTP(S) (InfluxDB 1.x /write or 2.x /api/v2/write).
#pragma once

namespace bucky3::runtime {
class ModuleRuntime;
}

namespace bucky3::influxdb {
int run_influxdb_client(runtime::ModuleRuntime& runtime);
}
