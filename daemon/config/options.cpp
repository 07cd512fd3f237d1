// Module schemas and option getters; see options.h. The tables are the single
// source of module keys, defaults and ranges (docs/CONFIG.md mirrors them).
#include "daemon/config/options.h"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace bucky3::config {

namespace {

using K = OptionKind;
constexpr double kInf = 1e300;
constexpr double KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;
constexpr double kMaxInt = 1e12;  // far above any sane count, well inside int64

// Regex lists shared by linux_stats' six whitelist/blacklist keys.
constexpr OptionSpec regex_list(std::string_view key) {
  return {key, K::regex_list, ""};
}

constexpr std::array statsd_schema{
    OptionSpec{"local_host", K::listen_address, "127.0.0.1:8125"},
    OptionSpec{"tcp_host", K::listen_address, ""},
    OptionSpec{"local_socket", K::string, ""},
    OptionSpec{"local_socket_mode", K::octal_mode, "\"0660\""},
    OptionSpec{"socket_buffer", K::size, "8MiB", 4 * KiB, 2 * GiB},
    OptionSpec{"timestamp_window", K::seconds, "600", 1, 1e9},
    OptionSpec{"max_datagram_size", K::size, "1MiB", 512, 1 * GiB},
    OptionSpec{"max_series", K::integer, "100000", 1, kMaxInt},
    OptionSpec{"timer_sample_limit", K::integer, "100000", 1, kMaxInt},
    OptionSpec{"percentile_thresholds", K::number_list, "[50, 90, 99, 100]", 0, 100},
    OptionSpec{"histogram_bins", K::yaml, "[]"},  // collectors/statsd/options.cpp
    OptionSpec{"timers_bucket", K::string, "stats_timers"},
    OptionSpec{"histograms_bucket", K::string, "stats_histograms"},
    OptionSpec{"sets_bucket", K::string, "stats_sets"},
    OptionSpec{"gauges_bucket", K::string, "stats_gauges"},
    OptionSpec{"counters_bucket", K::string, "stats_counters"},
    OptionSpec{"tcp_max_connections", K::integer, "1000", 1, 1e6},
    OptionSpec{"tcp_max_line_length", K::size, "64KiB", 256, 1 * GiB},
};

constexpr std::array linux_schema{
    // No sysfs_root: nothing linux_stats reports comes from /sys (docs/DEPARTURES.md).
    OptionSpec{"procfs_root", K::string, "/proc"},
    regex_list("disk_whitelist"),
    regex_list("disk_blacklist"),
    regex_list("filesystem_whitelist"),
    regex_list("filesystem_blacklist"),
    regex_list("interface_whitelist"),
    regex_list("interface_blacklist"),
};

constexpr std::array docker_schema{
    OptionSpec{"docker_socket", K::string, "/var/run/docker.sock"},
    // No default: the version is negotiated from the engine's GET /version.
    OptionSpec{"api_version", K::string, ""},
    OptionSpec{"env_mapping", K::string_map, "{}"},
    OptionSpec{"procfs_root", K::string, "/proc"},
    OptionSpec{"sysfs_root", K::string, "/sys"},
    regex_list("label_include"),
    regex_list("label_exclude"),
    regex_list("container_include"),
    regex_list("container_exclude"),
    OptionSpec{"request_timeout", K::seconds, "5", 0.1, 3600},
    OptionSpec{"filesystem_interval", K::seconds, "300", 1, 1e9},
    OptionSpec{"filesystem_timeout", K::seconds, "60", 0.1, 3600},
};

constexpr std::array prometheus_schema{
    OptionSpec{"local_host", K::listen_address, "127.0.0.1:9103"},
    OptionSpec{"http_path", K::string, "metrics", 0, 0, {}, false, true},
    OptionSpec{"values_timeout", K::seconds, "60", 1, 1e9},
    OptionSpec{"max_series", K::integer, "1000000", 1, kMaxInt},
    OptionSpec{"max_connections", K::integer, "256", 1, 1e6},
    OptionSpec{"idle_timeout", K::seconds, "30", 0.1, 1e9},
};

constexpr std::array influxdb_schema{
    OptionSpec{"remote_hosts", K::remote_hosts, "", 0, 0, {}, true},
    OptionSpec{"protocol", K::choice, "udp", 0, 0, "udp|http|https"},
    OptionSpec{"udp_payload", K::integer, "1400", 512, 65507},
    OptionSpec{"timeout", K::seconds, "10", 0.1, 3600},
    OptionSpec{"gzip", K::boolean, "true"},
    OptionSpec{"tls_ca_file", K::string, ""},
    OptionSpec{"database", K::string, "bucky3"},
    OptionSpec{"retention_policy", K::string, ""},
    OptionSpec{"username", K::string, ""},
    OptionSpec{"password", K::string, ""},
    OptionSpec{"token", K::string, ""},
    OptionSpec{"org", K::string, ""},
    OptionSpec{"influx_bucket", K::string, ""},
};

constexpr std::array carbon_schema{
    OptionSpec{"remote_hosts", K::remote_hosts, "", 0, 0, {}, true},
    OptionSpec{"name_mapping", K::string_list, "[bucket, host, name]"},
    OptionSpec{"prefix", K::string, ""},
    OptionSpec{"tags", K::boolean, "false"},
};

constexpr std::array remote_write_schema{
    OptionSpec{"remote_urls", K::url_list, "", 0, 0, {}, true},
    OptionSpec{"max_samples_per_send", K::integer, "2000", 1, 1e6},
    OptionSpec{"timeout", K::seconds, "10", 0.1, 3600},
    // headers, basic_auth, bearer_token: what they mean is checked by the module
    // (exporters/remote_write/options.cpp).
    OptionSpec{"headers", K::string_map, "{}"},
    OptionSpec{"basic_auth", K::string_map, ""},
    OptionSpec{"bearer_token", K::string, ""},
    OptionSpec{"values_timeout", K::seconds, "60", 1, 1e9},
};

constexpr std::array debug_schema{
    OptionSpec{"format", K::choice, "text", 0, 0, "text|json"},
};

struct TypeInfo {
  std::string_view type;
  ModuleRole role;
  std::span<const OptionSpec> schema;
};

const std::array<TypeInfo, 8> kTypes{{
    {"statsd_server", ModuleRole::source, statsd_schema},
    {"linux_stats", ModuleRole::source, linux_schema},
    {"docker_stats", ModuleRole::source, docker_schema},
    {"prometheus_exporter", ModuleRole::destination, prometheus_schema},
    {"influxdb_client", ModuleRole::destination, influxdb_schema},
    {"carbon_client", ModuleRole::destination, carbon_schema},
    {"remote_write_client", ModuleRole::destination, remote_write_schema},
    {"debug_output", ModuleRole::destination, debug_schema},
}};

const std::array<std::string_view, 8> kTypeNames{
    kTypes[0].type, kTypes[1].type, kTypes[2].type, kTypes[3].type,
    kTypes[4].type, kTypes[5].type, kTypes[6].type, kTypes[7].type,
};

const TypeInfo* find_type(std::string_view type) {
  for (const auto& info : kTypes) {
    if (info.type == type) return &info;
  }
  return nullptr;
}

[[noreturn]] void misuse(const std::string& type, std::string_view key, std::string_view what) {
  throw std::logic_error("config option " + type + "." + std::string(key) + ": " +
                         std::string(what));
}

}  // namespace

std::span<const std::string_view> known_types() {
  return kTypeNames;
}

bool is_known_type(std::string_view type) {
  return find_type(type) != nullptr;
}

ModuleRole role_of(std::string_view type) {
  const TypeInfo* info = find_type(type);
  if (!info) throw std::logic_error("unknown module type " + std::string(type));
  return info->role;
}

std::span<const OptionSpec> module_schema(std::string_view type) {
  const TypeInfo* info = find_type(type);
  return info ? info->schema : std::span<const OptionSpec>{};
}

const OptionSpec& ModuleOptions::spec(std::string_view key) const {
  for (const auto& s : module_schema(type_)) {
    if (s.key == key) return s;
  }
  misuse(type_, key, "not a key of this module type");
}

bool ModuleOptions::has(std::string_view key) const {
  auto it = values_.find(key);
  return it != values_.end() && !std::holds_alternative<std::monostate>(it->second);
}

void ModuleOptions::set(std::string_view key, Value value) {
  spec(key);
  values_.insert_or_assign(std::string(key), std::move(value));
}

const ModuleOptions::Value& ModuleOptions::value(std::string_view key) const {
  spec(key);
  auto it = values_.find(key);
  if (it == values_.end() || std::holds_alternative<std::monostate>(it->second)) {
    misuse(type_, key, "not set and no default (check has() first)");
  }
  return it->second;
}

namespace {
template <class T>
const T& get_as(const ModuleOptions::Value& v, const std::string& type, std::string_view key) {
  if (const T* p = std::get_if<T>(&v)) return *p;
  misuse(type, key, "asked for the wrong kind of value");
}
}  // namespace

std::string ModuleOptions::get_string(std::string_view key) const {
  return get_as<std::string>(value(key), type_, key);
}

bool ModuleOptions::get_bool(std::string_view key) const {
  return get_as<bool>(value(key), type_, key);
}

std::int64_t ModuleOptions::get_int(std::string_view key) const {
  const OptionSpec& s = spec(key);
  if (s.kind == OptionKind::octal_mode) {
    return std::stoll(get_as<std::string>(value(key), type_, key), nullptr, 8);
  }
  return get_as<std::int64_t>(value(key), type_, key);
}

double ModuleOptions::get_double(std::string_view key) const {
  const Value& v = value(key);
  if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  return get_as<double>(v, type_, key);
}

std::uint64_t ModuleOptions::get_size(std::string_view key) const {
  return get_as<std::uint64_t>(value(key), type_, key);
}

double ModuleOptions::get_seconds(std::string_view key) const {
  if (spec(key).kind != OptionKind::seconds) misuse(type_, key, "is not in seconds");
  return get_as<double>(value(key), type_, key);
}

std::vector<std::string> ModuleOptions::get_string_list(std::string_view key) const {
  return get_as<std::vector<std::string>>(value(key), type_, key);
}

std::vector<double> ModuleOptions::get_double_list(std::string_view key) const {
  return get_as<std::vector<double>>(value(key), type_, key);
}

std::vector<std::pair<std::string, std::string>> ModuleOptions::get_string_map(
    std::string_view key) const {
  return get_as<std::vector<std::pair<std::string, std::string>>>(value(key), type_, key);
}

const ConfigNode& ModuleOptions::get_yaml(std::string_view key) const {
  return get_as<ConfigNode>(value(key), type_, key);
}

}  // namespace bucky3::config
