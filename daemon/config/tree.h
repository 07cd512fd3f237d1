// Validation of a config that is already a YAML tree: interpolation, defaults and
// every check of load_config_text() without yaml-cpp's parser, so the fuzzer can
// build trees directly (yaml-cpp 0.7 itself hangs on some inputs: fuzz/ci-skip).
#pragma once
#include <yaml-cpp/yaml.h>

#include <string>

#include "daemon/config/config.h"
#include "daemon/config/interpolate.h"

namespace bucky3::config {

// Throws ConfigError, as load_config_text() does; `env` resolves ${VAR}.
Config load_config_tree(const YAML::Node& root, const std::string& display_path,
                        const EnvLookup& env, const ModuleCheck& check = {});

}  // namespace bucky3::config
