// Docker Engine API answers (JSON) to the container model the collector uses.
// Pure functions over the body text: no I/O, nothing thrown; a body that is not
// the JSON expected is an error value naming what was wrong.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace bucky3::docker {

// GET /version (unversioned).
struct EngineVersion {
  std::string version;          // "29.1.2", "4.9.3" (Podman)
  std::string api_version;      // "1.52"
  std::string min_api_version;  // "1.44"; empty when the engine does not say
};

// One entry of GET /containers/json?all=true[&size=true].
struct ContainerSummary {
  std::string id;     // 64 hex digits
  std::string name;   // first of Names, without the leading '/'
  std::string image;  // as the user named it ("nginx:1.27")
  std::string state;  // created, running, paused, restarting, removing, exited, dead
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by key
  std::optional<std::int64_t> size_rw, size_root_fs;        // only with size=true
};

// GET /containers/<id>/json: what the summary lacks.
struct ContainerInspect {
  std::string id;
  std::string name;      // without the leading '/'
  std::string image;     // Config.Image
  std::string state;     // State.Status
  std::int64_t pid = 0;  // State.Pid, 0 when not running
  bool running = false, paused = false, restarting = false, oom_killed = false, dead = false;
  std::int64_t exit_code = 0;
  std::int64_t restart_count = 0;
  std::string health;  // State.Health.Status: starting, healthy, unhealthy; empty without a check
  std::int64_t failing_streak = 0;
  // HostConfig
  std::string network_mode;  // "bridge", "host", "container:<id>", "none", a network name
  std::int64_t nano_cpus = 0, cpu_quota = 0, cpu_period = 0;
  std::int64_t memory = 0;                                  // bytes, 0 = no limit
  std::int64_t pids_limit = 0;                              // 0 or -1 = no limit
  std::vector<std::pair<std::string, std::string>> labels;  // Config.Labels, sorted by key
  std::vector<std::string> env;                             // Config.Env, "NAME=value"
};

struct JsonError {
  std::string reason;  // "not JSON: incomplete JSON", "Id is missing"
};

template <class T>
using Parsed = std::variant<T, JsonError>;

Parsed<EngineVersion> parse_version(std::string_view body);
Parsed<std::vector<ContainerSummary>> parse_container_list(std::string_view body);
Parsed<ContainerInspect> parse_inspect(std::string_view body);
// The "message" of an Engine error answer ({"message":"No such container: x"}),
// else the body itself cut to 200 bytes.
std::string error_message(std::string_view body);

// "1.52" → {1, 52}; nullopt for anything else.
std::optional<std::pair<int, int>> parse_api_version(std::string_view text);
// The version the client speaks to an engine that says `engine`: the engine's
// ApiVersion capped at the newest one this client knows (kNewestApiVersion), or
// an error when that is below the engine's MinAPIVersion or unparsable.
inline constexpr std::string_view kNewestApiVersion = "1.52";
Parsed<std::string> negotiate_api_version(const EngineVersion& engine);

}  // namespace bucky3::docker
