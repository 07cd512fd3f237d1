// Engine API JSON → the container model; see engine_json.h. Fields are read with
// Boost.JSON's if_* accessors only, so a wrong type is a missing field, never a throw.
#include "collectors/docker/engine_json.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <charconv>

namespace bucky3::docker {

namespace json = boost::json;

namespace {

const json::value* member(const json::object* object, std::string_view key) {
  if (object == nullptr) return nullptr;
  const auto it = object->find(key);
  return it == object->end() ? nullptr : &it->value();
}

const json::object* object_at(const json::object* object, std::string_view key) {
  const auto* value = member(object, key);
  return value ? value->if_object() : nullptr;
}

std::string string_at(const json::object* object, std::string_view key) {
  const auto* value = member(object, key);
  const auto* text = value ? value->if_string() : nullptr;
  return text ? std::string(text->data(), text->size()) : std::string();
}

std::optional<std::int64_t> optional_int_at(const json::object* object, std::string_view key) {
  const auto* value = member(object, key);
  if (value == nullptr) return std::nullopt;
  if (const auto* i = value->if_int64()) return *i;
  if (const auto* u = value->if_uint64()) {
    return static_cast<std::int64_t>(std::min<std::uint64_t>(*u, INT64_MAX));
  }
  if (const auto* d = value->if_double()) {
    // Some engines write sizes as floats; clamp so the cast stays defined.
    if (!(*d == *d)) return std::nullopt;
    return static_cast<std::int64_t>(std::clamp(*d, -9.2e18, 9.2e18));
  }
  return std::nullopt;
}

std::int64_t int_at(const json::object* object, std::string_view key) {
  return optional_int_at(object, key).value_or(0);
}

bool bool_at(const json::object* object, std::string_view key) {
  const auto* value = member(object, key);
  const auto* flag = value ? value->if_bool() : nullptr;
  return flag && *flag;
}

std::vector<std::pair<std::string, std::string>> labels_at(const json::object* object,
                                                           std::string_view key) {
  std::vector<std::pair<std::string, std::string>> out;
  const auto* labels = object_at(object, key);
  if (labels == nullptr) return out;
  for (const auto& [name, value] : *labels) {
    if (const auto* text = value.if_string()) {
      out.emplace_back(std::string(name), std::string(text->data(), text->size()));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string without_slash(std::string name) {
  if (!name.empty() && name.front() == '/') name.erase(0, 1);
  return name;
}

Parsed<json::value> parse_json(std::string_view body) {
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec) return JsonError{"not JSON: " + ec.message()};
  return value;
}

}  // namespace

Parsed<EngineVersion> parse_version(std::string_view body) {
  auto parsed = parse_json(body);
  if (auto* error = std::get_if<JsonError>(&parsed)) return std::move(*error);
  const auto* root = std::get<json::value>(parsed).if_object();
  if (root == nullptr) return JsonError{"/version is not an object"};
  EngineVersion out;
  out.version = string_at(root, "Version");
  out.api_version = string_at(root, "ApiVersion");
  out.min_api_version = string_at(root, "MinAPIVersion");
  if (out.api_version.empty()) return JsonError{"/version has no ApiVersion"};
  return out;
}

Parsed<std::vector<ContainerSummary>> parse_container_list(std::string_view body) {
  auto parsed = parse_json(body);
  if (auto* error = std::get_if<JsonError>(&parsed)) return std::move(*error);
  const auto* list = std::get<json::value>(parsed).if_array();
  if (list == nullptr) return JsonError{"container list is not an array"};
  std::vector<ContainerSummary> out;
  out.reserve(list->size());
  for (const auto& entry : *list) {
    const auto* object = entry.if_object();
    if (object == nullptr) return JsonError{"container list entry is not an object"};
    ContainerSummary container;
    container.id = string_at(object, "Id");
    if (container.id.empty()) return JsonError{"container list entry without Id"};
    if (const auto* names = member(object, "Names"); names && names->is_array()) {
      for (const auto& name : names->get_array()) {
        if (const auto* text = name.if_string()) {
          container.name = without_slash(std::string(text->data(), text->size()));
          break;
        }
      }
    }
    container.image = string_at(object, "Image");
    container.state = string_at(object, "State");
    container.labels = labels_at(object, "Labels");
    container.size_rw = optional_int_at(object, "SizeRw");
    container.size_root_fs = optional_int_at(object, "SizeRootFs");
    out.push_back(std::move(container));
  }
  // By id, as Bucky3 does, so output order does not depend on the engine's.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

Parsed<ContainerInspect> parse_inspect(std::string_view body) {
  auto parsed = parse_json(body);
  if (auto* error = std::get_if<JsonError>(&parsed)) return std::move(*error);
  const auto* root = std::get<json::value>(parsed).if_object();
  if (root == nullptr) return JsonError{"inspect answer is not an object"};
  ContainerInspect out;
  out.id = string_at(root, "Id");
  if (out.id.empty()) return JsonError{"inspect answer without Id"};
  out.name = without_slash(string_at(root, "Name"));
  out.restart_count = int_at(root, "RestartCount");
  const auto* state = object_at(root, "State");
  if (state == nullptr) return JsonError{"inspect answer without State"};
  out.state = string_at(state, "Status");
  out.pid = int_at(state, "Pid");
  out.running = bool_at(state, "Running");
  out.paused = bool_at(state, "Paused");
  out.restarting = bool_at(state, "Restarting");
  out.oom_killed = bool_at(state, "OOMKilled");
  out.dead = bool_at(state, "Dead");
  out.exit_code = int_at(state, "ExitCode");
  if (const auto* health = object_at(state, "Health")) {
    out.health = string_at(health, "Status");
    out.failing_streak = int_at(health, "FailingStreak");
  }
  const auto* host = object_at(root, "HostConfig");
  out.network_mode = string_at(host, "NetworkMode");
  out.nano_cpus = int_at(host, "NanoCpus");
  out.cpu_quota = int_at(host, "CpuQuota");
  out.cpu_period = int_at(host, "CpuPeriod");
  out.memory = int_at(host, "Memory");
  out.pids_limit = int_at(host, "PidsLimit");
  const auto* config = object_at(root, "Config");
  out.image = string_at(config, "Image");
  out.labels = labels_at(config, "Labels");
  if (const auto* env = member(config, "Env"); env && env->is_array()) {
    for (const auto& entry : env->get_array()) {
      if (const auto* text = entry.if_string()) out.env.emplace_back(text->data(), text->size());
    }
  }
  return out;
}

std::string error_message(std::string_view body) {
  boost::system::error_code ec;
  const json::value value = json::parse(body, ec);
  if (!ec) {
    const auto text = string_at(value.if_object(), "message");
    if (!text.empty()) return text.substr(0, 200);
  }
  return std::string(body.substr(0, 200));
}

std::optional<std::pair<int, int>> parse_api_version(std::string_view text) {
  const auto dot = text.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == text.size()) return std::nullopt;
  int major = 0, minor = 0;
  const auto* end = text.data() + text.size();
  const auto a = std::from_chars(text.data(), text.data() + dot, major);
  const auto b = std::from_chars(text.data() + dot + 1, end, minor);
  if (a.ec != std::errc{} || a.ptr != text.data() + dot || b.ec != std::errc{} || b.ptr != end) {
    return std::nullopt;
  }
  if (major < 0 || minor < 0) return std::nullopt;
  return std::pair{major, minor};
}

Parsed<std::string> negotiate_api_version(const EngineVersion& engine) {
  const auto newest = *parse_api_version(kNewestApiVersion);
  const auto offered = parse_api_version(engine.api_version);
  if (!offered)
    return JsonError{"engine ApiVersion \"" + engine.api_version + "\" is not a version"};
  if (*offered <= newest) return engine.api_version;
  // A newer engine still speaks older versions down to its MinAPIVersion.
  if (!engine.min_api_version.empty()) {
    const auto minimum = parse_api_version(engine.min_api_version);
    if (minimum && *minimum > newest) {
      return JsonError{"engine needs API " + engine.min_api_version +
                       " or newer; this agent speaks up to " + std::string(kNewestApiVersion)};
    }
  }
  return std::string(kNewestApiVersion);
}

}  // namespace bucky3::docker
