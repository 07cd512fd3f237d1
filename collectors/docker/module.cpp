// docker_stats module: collections run as coroutines on the runtime's loop, so
// heartbeats and signals go on while the engine is slow; a tick that finds the
// previous collection still running is skipped (and logged once).
#include "collectors/docker/module.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <exception>

#include "collectors/docker/collector.h"
#include "collectors/docker/engine_json.h"
#include "common/log.h"
#include "daemon/runtime/runtime.h"

namespace bucky3::docker {

namespace {

namespace asio = boost::asio;

std::chrono::milliseconds milliseconds(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

DockerOptions docker_options(const config::ModuleConfig& module) {
  const auto& o = module.options;
  DockerOptions options;
  options.docker_socket = o.get_string("docker_socket");
  if (o.has("api_version")) {
    options.api_version = o.get_string("api_version");
    if (!parse_api_version(options.api_version)) {
      log::warning("api_version \"", options.api_version,
                   "\" is not a version like 1.44: negotiating instead");
      options.api_version.clear();
    }
  }
  options.procfs_root = o.get_string("procfs_root");
  options.sysfs_root = o.get_string("sysfs_root");
  for (auto& [name, tag] : o.get_string_map("env_mapping")) options.env_mapping.emplace(name, tag);
  const auto list = [&](const char* key, std::vector<std::string>& out) {
    if (o.has(key)) out = o.get_string_list(key);
  };
  list("label_include", options.label_include);
  list("label_exclude", options.label_exclude);
  list("container_include", options.container_include);
  list("container_exclude", options.container_exclude);
  options.request_timeout = milliseconds(o.get_seconds("request_timeout"));
  options.filesystem_timeout = milliseconds(o.get_seconds("filesystem_timeout"));
  return options;
}

// One collection and its hand-off to the rings. A coroutine function, not a
// lambda: its parameters live in the coroutine frame.
asio::awaitable<void> collect_and_send(runtime::ModuleRuntime& runtime, DockerCollector& collector,
                                       bool filesystems, bool& busy, bool& collected,
                                       std::int64_t now_ms) {
  std::vector<Metric> metrics;
  try {
    if (filesystems) {
      co_await collector.collect_filesystems(metrics);
    } else {
      co_await collector.collect(metrics);
    }
  } catch (const std::exception& error) {
    // Nothing in a collection throws by design; a bad_alloc must not take the loop down.
    log::error("docker collection failed: ", error.what());
    metrics.clear();
  }
  busy = false;
  if (!filesystems) collected = true;
  if (runtime.stopping()) co_return;
  runtime.count(shm::Counter::metrics_in, metrics.size());
  runtime.send_metrics(metrics, now_ms);
}

}  // namespace

int run_docker_stats(runtime::ModuleRuntime& runtime) {
  const auto& o = runtime.module().options;
  DockerCollector collector(runtime.io().get_executor(), docker_options(runtime.module()),
                            [&](std::string_view error) { runtime.record_error("docker", error); });
  const auto filesystem_interval = milliseconds(o.get_seconds("filesystem_interval"));
  bool busy = false, filesystem_busy = false, skip_logged = false;
  // The size listing waits for one collection, whose inspects give its tags (env).
  bool collected = false;
  std::optional<std::chrono::steady_clock::time_point> last_filesystem;
  runtime.on_flush([&](std::int64_t now_ms) {
    if (busy) {
      if (!skip_logged) {
        log::warning(
            "a docker collection outlasted the flush interval; ticks are skipped until it ends");
        skip_logged = true;
      }
    } else {
      busy = true;
      skip_logged = false;
      asio::co_spawn(runtime.io(),
                     collect_and_send(runtime, collector, false, busy, collected, now_ms),
                     asio::detached);
    }
    const auto now = std::chrono::steady_clock::now();
    if (collected && !filesystem_busy &&
        (!last_filesystem || now - *last_filesystem >= filesystem_interval)) {
      filesystem_busy = true;
      last_filesystem = now;
      asio::co_spawn(runtime.io(),
                     collect_and_send(runtime, collector, true, filesystem_busy, collected, now_ms),
                     asio::detached);
    }
  });
  // Requests in flight end at once instead of holding the stop up to a timeout.
  runtime.on_stop([&] { collector.close(); });
  return runtime.run();
}

}  // namespace bucky3::docker
