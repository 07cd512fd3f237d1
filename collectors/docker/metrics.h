// Container model + cgroup sample → the docker_* metrics. Pure: no I/O.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/docker/cgroup_fs.h"
#include "collectors/docker/engine_json.h"
#include "collectors/linux/name_filter.h"
#include "shm/metric.h"

namespace bucky3::docker {

// A label key as a tag key: characters outside [A-Za-z0-9_.-] become '_', and
// a key that does not start with a letter gets the prefix "label_".
std::string sanitize_label_key(std::string_view key);

// include (when set) keeps only what it matches, exclude then removes; both
// are lists of anchored ECMAScript regexes.
class IncludeExclude {
 public:
  IncludeExclude() = default;
  IncludeExclude(const std::vector<std::string>& include, const std::vector<std::string>& exclude)
      : include_(include, {}), exclude_({}, exclude) {}
  bool allows(std::string_view name) { return include_.allows(name) && exclude_.allows(name); }

 private:
  linux_stats::NameFilter include_, exclude_;
};

struct MetadataOptions {
  IncludeExclude labels;  // over the label keys as the engine gives them
  std::map<std::string, std::string, std::less<>> env_mapping;  // env variable → tag key
};

// The tags of every metric of one container, sorted: docker_id (12 chars),
// docker_name, image win over labels, labels over mapped env variables.
// Empty values are left out.
std::vector<Tag> container_metadata(std::string_view id, std::string_view name,
                                    std::string_view image,
                                    const std::vector<std::pair<std::string, std::string>>& labels,
                                    const std::vector<std::string>& env, MetadataOptions& options);

struct HostInfo {
  std::int64_t memory_bytes = 0;  // MemTotal, the limit of a container without one
  std::int64_t cpus = 1;          // the CPU limit (×1e9 ns/s) of a container without one
};

// The CPU a container may use, in ns of CPU time per second: NanoCpus, else
// CpuQuota/CpuPeriod (period 100 ms when unset), else every host CPU.
std::int64_t cpu_limit_ps(const ContainerInspect& inspect, const HostInfo& host);

// docker_cpu, docker_memory, docker_io, docker_pids, docker_pressure of one
// running container, appended to `out`; metrics whose files were all absent are
// left out.
void append_usage_metrics(const std::vector<Tag>& tags, const ContainerInspect& inspect,
                          const CgroupSample& sample, const HostInfo& host,
                          std::vector<Metric>& out);

// docker_interface, one per interface of /proc/<pid>/net/dev. Callers skip
// containers that share another's network (see shares_network).
void append_interface_metrics(const std::vector<Tag>& tags, std::string_view net_dev,
                              std::vector<Metric>& out);
// NetworkMode host or container:<id>: the interfaces are not the container's own.
bool shares_network(const ContainerInspect& inspect);

// docker_state of one container (running, paused, restarting, oom_killed,
// exit_code, restart_count; healthy, unhealthy, failing_streak with a health check).
void append_state_metric(const std::vector<Tag>& tags, const ContainerInspect& inspect,
                         std::vector<Metric>& out);
// docker_state name=containers: how many containers are in each state (and total).
void append_state_counts(const std::vector<ContainerSummary>& containers, std::vector<Metric>& out);

// docker_filesystem: total_bytes (SizeRootFs), used_bytes (SizeRw) from a
// size=true listing; nothing when the engine left them out.
void append_filesystem_metric(const std::vector<Tag>& tags, const ContainerSummary& summary,
                              std::vector<Metric>& out);

}  // namespace bucky3::docker
