// The Docker collector: one collection lists the containers on the Engine API,
// inspects them, and reads their usage from cgroup files and /proc/<pid>/net/dev
// into docker_* metrics. Runs as Asio coroutines on the caller's loop.
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "shm/metric.h"

namespace bucky3::docker {

struct DockerOptions {
  std::string docker_socket = "/var/run/docker.sock";
  std::string api_version;  // empty: negotiated from GET /version
  std::string procfs_root = "/proc";
  std::string sysfs_root = "/sys";
  std::map<std::string, std::string, std::less<>> env_mapping;
  // Anchored ECMAScript regexes; include, when set, keeps only what it matches.
  std::vector<std::string> label_include, label_exclude;          // over label keys
  std::vector<std::string> container_include, container_exclude;  // over names, no leading '/'
  std::chrono::milliseconds request_timeout{5000};
  // The size=true listing walks every container's layers.
  std::chrono::milliseconds filesystem_timeout{60000};
};

class DockerCollector {
 public:
  // Reports each new failure (after logging it) to `on_error`, e.g. the health
  // block's error list. Throws std::invalid_argument for a regex that does not compile.
  DockerCollector(boost::asio::any_io_executor executor, DockerOptions options,
                  std::function<void(std::string_view)> on_error = {});
  ~DockerCollector();
  DockerCollector(const DockerCollector&) = delete;
  DockerCollector& operator=(const DockerCollector&) = delete;

  // Appends docker_state (counts and per container), docker_cpu, docker_memory,
  // docker_io, docker_pids, docker_pressure and docker_interface. A failure is
  // logged once (until it changes or the engine answers again) and leaves out
  // what it concerns; the next call tries again.
  boost::asio::awaitable<void> collect(std::vector<Metric>& out);
  // docker_filesystem from one GET /containers/json?all=true&size=true, on a
  // connection of its own so a slow answer never delays collect().
  boost::asio::awaitable<void> collect_filesystems(std::vector<Metric>& out);
  // Drops the engine connections for good (the module stops): requests in
  // flight end at once, later collections ask nothing, and nothing more is logged.
  void close();

  // Requests sent to the engine so far (both connections).
  std::uint64_t requests() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace bucky3::docker
