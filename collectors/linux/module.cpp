// linux_stats module: one collection per flush tick, sent on through the rings.
#include "collectors/linux/module.h"

#include "collectors/linux/collector.h"
#include "daemon/runtime/runtime.h"

namespace bucky3::linux_stats {

namespace {
LinuxOptions linux_options(const config::ModuleConfig& module) {
  const auto& o = module.options;
  LinuxOptions options;
  options.procfs_root = o.get_string("procfs_root");
  const auto list = [&](const char* key, std::vector<std::string>& out) {
    if (o.has(key)) out = o.get_string_list(key);
  };
  list("disk_whitelist", options.disk_whitelist);
  list("disk_blacklist", options.disk_blacklist);
  list("filesystem_whitelist", options.filesystem_whitelist);
  list("filesystem_blacklist", options.filesystem_blacklist);
  list("interface_whitelist", options.interface_whitelist);
  list("interface_blacklist", options.interface_blacklist);
  return options;
}
}  // namespace

int run_linux_stats(runtime::ModuleRuntime& runtime) {
  LinuxCollector collector(linux_options(runtime.module()));
  std::vector<Metric> metrics;
  runtime.on_flush([&](std::int64_t now_ms) {
    metrics.clear();
    collector.collect(now_ms, metrics);
    runtime.count(shm::Counter::metrics_in, metrics.size());
    runtime.send_metrics(metrics, now_ms);
  });
  return runtime.run();
}

}  // namespace bucky3::linux_stats
