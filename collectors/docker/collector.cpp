// One Docker collection: Engine API for what the containers are, cgroup files
// for what they use; see collector.h.
#include "collectors/docker/collector.h"

#include <unistd.h>

#include <set>
#include <unordered_map>

#include "collectors/docker/cgroup_fs.h"
#include "collectors/docker/engine_client.h"
#include "collectors/docker/engine_json.h"
#include "collectors/docker/metrics.h"
#include "collectors/linux/procfs.h"
#include "common/log.h"

namespace bucky3::docker {

namespace asio = boost::asio;

namespace {

// What one failing place last logged, so a failure that repeats every interval
// is one line, and its end another.
class FailureLog {
 public:
  explicit FailureLog(std::function<void(std::string_view)> sink) : sink_(std::move(sink)) {}
  // After close(): the errors of requests cut short are ours, not the engine's.
  bool muted = false;
  void fail(const std::string& place, const std::string& message) {
    if (muted) return;
    auto& last = last_[place];
    if (last == message) return;
    last = message;
    log::warning(place, ": ", message, " (retried every interval, logged again when it changes)");
    if (sink_) sink_(place + ": " + message);
  }
  void ok(const std::string& place) {
    const auto it = last_.find(place);
    if (it == last_.end()) return;
    log::info(place, ": works again");
    last_.erase(it);
  }

 private:
  std::function<void(std::string_view)> sink_;
  std::map<std::string, std::string> last_;
};

std::string describe(const HttpResult& result) {
  if (!result.error.empty()) return result.error;
  return "HTTP " + std::to_string(result.status) + ": " + error_message(result.body);
}

bool is_live(std::string_view state) {
  return state == "running" || state == "paused" || state == "restarting";
}

}  // namespace

struct DockerCollector::State {
  State(const asio::any_io_executor& executor, DockerOptions o,
        std::function<void(std::string_view)> on_error)
      : options(std::move(o)),
        engine(executor, options.docker_socket, options.request_timeout),
        filesystem_engine(executor, options.docker_socket, options.request_timeout),
        reader(::sysconf(_SC_CLK_TCK) > 0 ? ::sysconf(_SC_CLK_TCK) : 100),
        containers(options.container_include, options.container_exclude),
        failures(std::move(on_error)) {
    metadata.labels = IncludeExclude(options.label_include, options.label_exclude);
    metadata.env_mapping = options.env_mapping;
  }

  struct Cached {
    std::string list_state;
    ContainerInspect inspect;
    std::vector<Tag> tags;
    std::optional<ContainerCgroup> cgroup;
    std::int64_t cgroup_pid = 0;
    bool warned = false;  // "no cgroup found" logged for this container
  };

  DockerOptions options;
  EngineClient engine, filesystem_engine;
  CgroupReader reader;
  IncludeExclude containers;
  MetadataOptions metadata;
  FailureLog failures;
  std::string api_prefix;  // "/v1.52" once negotiated
  bool host_read = false;
  HostInfo host;
  CgroupLayout layout;
  std::unordered_map<std::string, Cached> cache;

  asio::awaitable<bool> negotiate(EngineClient& client);
  void read_host();
  void read_usage(Cached& cached, std::vector<Metric>& out);
};

DockerCollector::DockerCollector(asio::any_io_executor executor, DockerOptions options,
                                 std::function<void(std::string_view)> on_error)
    : state_(std::make_unique<State>(executor, std::move(options), std::move(on_error))) {}

DockerCollector::~DockerCollector() = default;

void DockerCollector::close() {
  state_->failures.muted = true;
  state_->engine.shutdown();
  state_->filesystem_engine.shutdown();
}

std::uint64_t DockerCollector::requests() const {
  return state_->engine.requests() + state_->filesystem_engine.requests();
}

asio::awaitable<bool> DockerCollector::State::negotiate(EngineClient& client) {
  if (!api_prefix.empty()) co_return true;
  if (!options.api_version.empty()) {
    api_prefix = "/v" + options.api_version;
    co_return true;
  }
  const auto answer = co_await client.get("/version");
  if (!answer.ok()) {
    failures.fail("docker engine at " + options.docker_socket, "GET /version: " + describe(answer));
    co_return false;
  }
  const auto version = parse_version(answer.body);
  if (const auto* error = std::get_if<JsonError>(&version)) {
    failures.fail("docker engine at " + options.docker_socket, "GET /version: " + error->reason);
    co_return false;
  }
  const auto& engine_version = std::get<EngineVersion>(version);
  const auto chosen = negotiate_api_version(engine_version);
  if (const auto* error = std::get_if<JsonError>(&chosen)) {
    failures.fail("docker engine at " + options.docker_socket, error->reason);
    co_return false;
  }
  api_prefix = "/v" + std::get<std::string>(chosen);
  log::info("docker engine ", engine_version.version, " at ", options.docker_socket, ": API ",
            engine_version.api_version, " (min ",
            engine_version.min_api_version.empty() ? "?" : engine_version.min_api_version,
            "), speaking ", std::get<std::string>(chosen));
  co_return true;
}

void DockerCollector::State::read_host() {
  if (host_read) return;
  host_read = true;
  layout = discover_layout(options.sysfs_root);
  if (!layout.unified && layout.v1_folders.empty()) {
    log::warning("no cgroup hierarchy under ", layout.root,
                 ": only docker_state and docker_interface");
  }
  if (const auto text = reader.read_file(options.procfs_root + "/meminfo")) {
    std::vector<Field> fields;
    linux_stats::parse_meminfo(*text, fields);
    for (const auto& field : fields) {
      if (field.name == "total_bytes") host.memory_bytes = std::get<std::int64_t>(field.value);
    }
  }
  if (const auto text = reader.read_file(options.procfs_root + "/stat")) {
    std::int64_t cpus = 0;
    for (std::string_view rest = *text; !rest.empty();) {
      const auto end = rest.find('\n');
      const auto line = rest.substr(0, end);
      if (line.size() > 3 && line.starts_with("cpu") && line[3] >= '0' && line[3] <= '9') ++cpus;
      if (end == std::string_view::npos) break;
      rest.remove_prefix(end + 1);
    }
    if (cpus > 0) host.cpus = cpus;
  }
}

void DockerCollector::State::read_usage(Cached& cached, std::vector<Metric>& out) {
  const auto& inspect = cached.inspect;
  if (!cached.cgroup || cached.cgroup_pid != inspect.pid) {
    cached.cgroup = locate_container(layout, options.procfs_root, inspect.pid, inspect.id);
    cached.cgroup_pid = inspect.pid;
  }
  if (cached.cgroup) {
    auto sample = reader.read(layout, *cached.cgroup);
    if (!sample.cpu_usage_ns && !sample.memory_usage) {
      // The folder went away (the container stopped since it was inspected,
      // or was moved): look again next time.
      cached.cgroup.reset();
    } else {
      append_usage_metrics(cached.tags, inspect, sample, host, out);
    }
  } else if (!cached.warned && (layout.unified || !layout.v1_folders.empty())) {
    cached.warned = true;
    log::warning("container ", inspect.name, " (", inspect.id.substr(0, 12),
                 "): no cgroup folder found from ", options.procfs_root, "/", inspect.pid,
                 "/cgroup nor by guessing under ", layout.root);
  }
  if (!shares_network(inspect) && inspect.pid > 0) {
    if (const auto text = reader.read_file(options.procfs_root + "/" + std::to_string(inspect.pid) +
                                           "/net/dev")) {
      append_interface_metrics(cached.tags, *text, out);
    }
  }
}

asio::awaitable<void> DockerCollector::collect(std::vector<Metric>& out) {
  auto& s = *state_;
  s.read_host();
  const std::string place = "docker engine at " + s.options.docker_socket;
  if (!co_await s.negotiate(s.engine)) co_return;
  const auto listing = co_await s.engine.get(s.api_prefix + "/containers/json?all=true");
  if (!listing.ok()) {
    s.failures.fail(place, "GET /containers/json: " + describe(listing));
    // An engine that went away may come back as another version.
    if (!listing.error.empty() && s.options.api_version.empty()) s.api_prefix.clear();
    co_return;
  }
  auto parsed = parse_container_list(listing.body);
  if (const auto* error = std::get_if<JsonError>(&parsed)) {
    s.failures.fail(place, "GET /containers/json: " + error->reason);
    co_return;
  }
  s.failures.ok(place);
  const auto& containers = std::get<std::vector<ContainerSummary>>(parsed);
  append_state_counts(containers, out);

  // Inspect failures have a place of their own: the listing working again
  // says nothing about them.
  const std::string inspect_place = place + " (inspect)";
  bool inspect_failed = false;
  std::set<std::string_view> listed;
  for (const auto& container : containers) {
    listed.insert(container.id);
    if (!s.containers.allows(container.name)) continue;
    auto found = s.cache.find(container.id);
    // A stopped container's inspect does not change until its state does.
    const bool fresh = found != s.cache.end() && !is_live(container.state) &&
                       found->second.list_state == container.state;
    if (!fresh) {
      const auto answer =
          co_await s.engine.get(s.api_prefix + "/containers/" + container.id + "/json");
      if (answer.status == 404) {
        // Removed between the listing and now: nothing to report.
        log::debug("container ", container.id.substr(0, 12),
                   " vanished: ", error_message(answer.body));
        s.cache.erase(container.id);
        continue;
      }
      if (!answer.ok()) {
        s.failures.fail(inspect_place, "GET /containers/<id>/json: " + describe(answer));
        if (!answer.error.empty()) co_return;  // the engine is gone or hung: the rest would be too
        inspect_failed = true;
        continue;
      }
      auto inspect = parse_inspect(answer.body);
      if (const auto* error = std::get_if<JsonError>(&inspect)) {
        s.failures.fail(inspect_place, "GET /containers/<id>/json: " + error->reason);
        inspect_failed = true;
        continue;
      }
      if (found == s.cache.end()) found = s.cache.emplace(container.id, State::Cached{}).first;
      auto& cached = found->second;
      cached.list_state = container.state;
      cached.inspect = std::move(std::get<ContainerInspect>(inspect));
      const auto& i = cached.inspect;
      // The image as listed ("nginx:1.27") reads better than Config.Image's digest pins.
      cached.tags =
          container_metadata(i.id, i.name, container.image.empty() ? i.image : container.image,
                             i.labels, i.env, s.metadata);
    }
    auto& cached = found->second;
    append_state_metric(cached.tags, cached.inspect, out);
    if (cached.inspect.running && cached.inspect.pid > 0) s.read_usage(cached, out);
  }
  if (!inspect_failed) s.failures.ok(inspect_place);
  std::erase_if(s.cache, [&](const auto& entry) { return !listed.contains(entry.first); });
}

asio::awaitable<void> DockerCollector::collect_filesystems(std::vector<Metric>& out) {
  auto& s = *state_;
  const std::string place = "docker engine at " + s.options.docker_socket + " (size listing)";
  if (!co_await s.negotiate(s.filesystem_engine)) co_return;
  const auto listing = co_await s.filesystem_engine.get(
      s.api_prefix + "/containers/json?all=true&size=true", s.options.filesystem_timeout);
  if (!listing.ok()) {
    s.failures.fail(place, describe(listing));
    co_return;
  }
  const auto parsed = parse_container_list(listing.body);
  if (const auto* error = std::get_if<JsonError>(&parsed)) {
    s.failures.fail(place, error->reason);
    co_return;
  }
  s.failures.ok(place);
  for (const auto& container : std::get<std::vector<ContainerSummary>>(parsed)) {
    if (!s.containers.allows(container.name)) continue;
    const auto cached = s.cache.find(container.id);
    // Inspected containers carry their env tags too; others what the listing has.
    const auto tags = cached != s.cache.end()
                          ? cached->second.tags
                          : container_metadata(container.id, container.name, container.image,
                                               container.labels, {}, s.metadata);
    append_filesystem_metric(tags, container, out);
  }
}

}  // namespace bucky3::docker
