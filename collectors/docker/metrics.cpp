// docker_* metric building; see metrics.h.
#include "collectors/docker/metrics.h"

#include <algorithm>
#include <array>

#include "collectors/linux/procfs.h"

namespace bucky3::docker {

namespace {

using Fields = std::vector<Field>;

void add(Fields& fields, const char* name, const std::optional<std::int64_t>& value) {
  if (value) fields.push_back({name, *value});
}

void push(std::vector<Metric>& out, const char* bucket, const std::vector<Tag>& tags,
          MetricKind kind, Fields fields, std::string_view name = {}) {
  if (fields.empty()) return;
  Metric metric;
  metric.bucket = bucket;
  metric.metadata = tags;
  if (!name.empty()) metric.set_tag("name", name);
  metric.kind = kind;
  metric.values = std::move(fields);
  out.push_back(std::move(metric));
}

bool is_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_key_char(char c) {
  return is_letter(c) || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

// Moves metrics built by the linux_stats parsers to a docker bucket, with the
// container's tags beside their own name tag.
void adopt(std::vector<Metric>& built, std::size_t from, const char* bucket,
           const std::vector<Tag>& tags, std::vector<Metric>& out) {
  for (std::size_t i = from; i < built.size(); ++i) {
    auto& metric = built[i];
    metric.bucket = bucket;
    const std::string name = metric.tag("name") ? *metric.tag("name") : std::string();
    metric.metadata = tags;
    if (!name.empty()) metric.set_tag("name", name);
    out.push_back(std::move(metric));
  }
}

}  // namespace

std::string sanitize_label_key(std::string_view key) {
  std::string out;
  if (key.empty() || !is_letter(key.front())) out = "label_";
  for (const char c : key) out += is_key_char(c) ? c : '_';
  return out;
}

std::vector<Tag> container_metadata(std::string_view id, std::string_view name,
                                    std::string_view image,
                                    const std::vector<std::pair<std::string, std::string>>& labels,
                                    const std::vector<std::string>& env, MetadataOptions& options) {
  // Lowest precedence first; each later insert replaces.
  std::map<std::string, std::string, std::less<>> tags;
  if (!options.env_mapping.empty()) {
    for (const auto& entry : env) {
      const auto equals = entry.find('=');
      if (equals == std::string::npos || equals + 1 == entry.size()) continue;
      const auto mapped = options.env_mapping.find(std::string_view(entry).substr(0, equals));
      if (mapped != options.env_mapping.end()) tags[mapped->second] = entry.substr(equals + 1);
    }
  }
  for (const auto& [key, value] : labels) {
    if (value.empty() || !options.labels.allows(key)) continue;
    tags[sanitize_label_key(key)] = value;
  }
  if (!image.empty()) tags["image"] = image;
  if (!name.empty()) tags["docker_name"] = name;
  tags["docker_id"] = id.substr(0, 12);
  std::vector<Tag> out;
  out.reserve(tags.size());
  for (auto& [key, value] : tags) out.push_back({key, std::move(value)});
  return out;
}

std::int64_t cpu_limit_ps(const ContainerInspect& inspect, const HostInfo& host) {
  constexpr std::int64_t second_ns = 1'000'000'000;
  if (inspect.nano_cpus > 0) return inspect.nano_cpus;
  if (inspect.cpu_quota > 0) {
    // CpuQuota and CpuPeriod are in µs; the kernel's default period is 100 ms.
    const std::int64_t period = inspect.cpu_period > 0 ? inspect.cpu_period : 100'000;
    return static_cast<std::int64_t>(
        static_cast<long double>(second_ns) * inspect.cpu_quota / period + 0.5L);
  }
  return second_ns * host.cpus;
}

void append_usage_metrics(const std::vector<Tag>& tags, const ContainerInspect& inspect,
                          const CgroupSample& sample, const HostInfo& host,
                          std::vector<Metric>& out) {
  Fields cpu;
  add(cpu, "usage", sample.cpu_usage_ns);
  add(cpu, "user", sample.cpu_user_ns);
  add(cpu, "system", sample.cpu_system_ns);
  add(cpu, "periods", sample.cpu_periods);
  add(cpu, "throttled_periods", sample.cpu_throttled_periods);
  add(cpu, "throttled_time", sample.cpu_throttled_ns);
  if (!cpu.empty()) cpu.push_back({"limit_ps", cpu_limit_ps(inspect, host)});
  push(out, "docker_cpu", tags, MetricKind::counter, std::move(cpu), "total");
  for (std::size_t i = 0; i < sample.cpu_percpu_ns.size(); ++i) {
    push(out, "docker_cpu", tags, MetricKind::counter, {{"usage", sample.cpu_percpu_ns[i]}},
         "cpu" + std::to_string(i));
  }

  Fields memory;
  if (sample.memory_usage) {
    // What `docker stats` shows: the page cache the kernel can drop first is not "used".
    const auto inactive = sample.memory_inactive_file.value_or(0);
    memory.push_back({"used_bytes", std::max<std::int64_t>(0, *sample.memory_usage - inactive)});
    memory.push_back({"usage_bytes", *sample.memory_usage});
    memory.push_back({"limit_bytes", inspect.memory > 0 ? inspect.memory : host.memory_bytes});
  }
  add(memory, "rss_bytes", sample.memory_rss);
  add(memory, "cache_bytes", sample.memory_cache);
  add(memory, "anon_bytes", sample.memory_anon);
  add(memory, "file_bytes", sample.memory_file);
  add(memory, "inactive_file_bytes", sample.memory_inactive_file);
  add(memory, "swap_bytes", sample.memory_swap);
  add(memory, "peak_bytes", sample.memory_peak);
  add(memory, "oom_events", sample.memory_oom_events);
  add(memory, "oom_kills", sample.memory_oom_kills);
  push(out, "docker_memory", tags, MetricKind::gauge, std::move(memory));

  if (sample.io) {
    push(out, "docker_io", tags, MetricKind::counter,
         {{"read_bytes", sample.io->read_bytes},
          {"write_bytes", sample.io->write_bytes},
          {"read_ops", sample.io->read_ops},
          {"write_ops", sample.io->write_ops}});
  }

  Fields pids;
  add(pids, "current", sample.pids_current);
  // pids.max says "max" without a limit; HostConfig.PidsLimit is the same limit.
  if (sample.pids_limit) {
    pids.push_back({"limit", *sample.pids_limit});
  } else if (inspect.pids_limit > 0 && !pids.empty()) {
    pids.push_back({"limit", inspect.pids_limit});
  }
  push(out, "docker_pids", tags, MetricKind::gauge, std::move(pids));

  std::vector<Metric> built;
  for (const auto& [resource, text] : sample.pressure)
    linux_stats::parse_pressure(text, resource, built);
  adopt(built, 0, "docker_pressure", tags, out);
}

void append_interface_metrics(const std::vector<Tag>& tags, std::string_view net_dev,
                              std::vector<Metric>& out) {
  linux_stats::NameFilter every_interface;  // no lists: holds nothing, allows all
  std::vector<Metric> built;
  linux_stats::parse_net_dev(net_dev, every_interface, built);
  adopt(built, 0, "docker_interface", tags, out);
}

bool shares_network(const ContainerInspect& inspect) {
  return inspect.network_mode == "host" || inspect.network_mode.starts_with("container:");
}

void append_state_metric(const std::vector<Tag>& tags, const ContainerInspect& inspect,
                         std::vector<Metric>& out) {
  Fields state{
      {"running", std::int64_t{inspect.running}},
      {"paused", std::int64_t{inspect.paused}},
      {"restarting", std::int64_t{inspect.restarting}},
      {"oom_killed", std::int64_t{inspect.oom_killed}},
      {"exit_code", inspect.exit_code},
      {"restart_count", inspect.restart_count},
  };
  if (!inspect.health.empty() && inspect.health != "none") {
    state.push_back({"healthy", std::int64_t{inspect.health == "healthy"}});
    state.push_back({"unhealthy", std::int64_t{inspect.health == "unhealthy"}});
    state.push_back({"failing_streak", inspect.failing_streak});
  }
  push(out, "docker_state", tags, MetricKind::gauge, std::move(state));
}

void append_state_counts(const std::vector<ContainerSummary>& containers,
                         std::vector<Metric>& out) {
  constexpr std::array<const char*, 7> states{"created",  "running", "paused", "restarting",
                                              "removing", "exited",  "dead"};
  std::array<std::int64_t, states.size()> counts{};
  for (const auto& container : containers) {
    for (std::size_t i = 0; i < states.size(); ++i) {
      if (container.state == states[i]) ++counts[i];
    }
  }
  Fields fields;
  for (std::size_t i = 0; i < states.size(); ++i) fields.push_back({states[i], counts[i]});
  fields.push_back({"total", static_cast<std::int64_t>(containers.size())});
  push(out, "docker_state", {}, MetricKind::gauge, std::move(fields), "containers");
}

void append_filesystem_metric(const std::vector<Tag>& tags, const ContainerSummary& summary,
                              std::vector<Metric>& out) {
  Fields fields;
  add(fields, "total_bytes", summary.size_root_fs);
  add(fields, "used_bytes", summary.size_rw);
  push(out, "docker_filesystem", tags, MetricKind::gauge, std::move(fields));
}

}  // namespace bucky3::docker
