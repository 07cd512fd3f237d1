// The agent's configuration: one YAML file, `${VAR}` interpolation, global keys
// inherited by modules, every value checked. Contract: DESIGN "Configuration";
// reference: docs/CONFIG.md.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "daemon/config/filters.h"
#include "daemon/config/options.h"
#include "shm/metric.h"

namespace bucky3::config {

// Every config problem. what() is "file:line:col: key.path: message" (line and
// col 1-based; 0:0 when there is no position, e.g. an unreadable file; the
// "key.path: " part is left out when the path is empty).
struct ConfigError : std::runtime_error {
  ConfigError(std::string file, int line, int col, std::string key_path, std::string message);
  std::string file;
  int line, col;
  std::string key_path, message;
};

struct ModuleConfig {
  std::string name, type;
  ModuleRole role = ModuleRole::source;
  bool inactive = false;
  // Sources: the active destinations they write to, resolved (default: all, in
  // file order). Destinations: empty.
  std::vector<std::string> destinations;

  // Global keys: the module's own value, else the top-level one, else the default.
  bucky3::log::Level log_level = bucky3::log::Level::info;
  double flush_interval_s = 10;
  bool randomize_startup = true;
  std::vector<bucky3::Tag> metadata;  // top-level merged with the module's (module wins); sorted
  std::size_t buffer_limit = 10000, chunk_size = 300;
  bool self_report = false, add_timestamps = false;
  std::vector<FilterRule> filters;          // the module's own list replaces the top-level one
  std::uint64_t ring_size_bytes = 8 << 20;  // per ring; set on destinations or globally

  ModuleOptions options;
  // The module's map as written, positions and key paths included, so a
  // module's check (ModuleCheck) reports at the offending node. Null when the
  // config was loaded without a check.
  ConfigNode node;
};

struct Config {
  std::string path;  // as shown in errors; "<builtin>" for the built-in default
  std::string instance = "default";
  std::optional<std::string> shm_group;
  std::vector<ModuleConfig> modules;  // in file order, inactive ones included

  // nullptr when there is no module of that name.
  const ModuleConfig* find(std::string_view name) const;
};

// A module type's own checks of its options (OptionKind::yaml values, and what
// a generic kind cannot know, e.g. which HTTP headers a protocol owns), run on
// each module once its options are read; throws ConfigError. The module registry
// provides the one that knows every type (daemon::check_module_config).
using ModuleCheck = std::function<void(const ModuleConfig&)>;

// Throws ConfigError; an unreadable file is reported at line 0, col 0. Without
// `check`, yaml values are only checked to be YAML: their module reads them.
Config load_config_file(const std::string& path, const ModuleCheck& check = {});
Config load_config_text(std::string_view yaml, const std::string& display_path,
                        const ModuleCheck& check = {});

// assets/bucky3.yaml, embedded at build time.
std::string_view builtin_config_yaml();
// load_config_text(builtin_config_yaml(), "<builtin>", check).
Config load_builtin_config(const ModuleCheck& check = {});

}  // namespace bucky3::config
