// tests/support/config_error.h — what the config loader says about a YAML text.
#pragma once

#include <QByteArray>
#include <string>
#include <string_view>

#include "daemon/config/config.h"

namespace bucky3::test {

// The loader's error for `yaml` (read as file "t.yaml"), with `check` as the
// module registry's hook, or "(loaded without error)".
inline std::string config_error_of(const QByteArray& yaml,
                                   const bucky3::config::ModuleCheck& check = {}) {
  try {
    bucky3::config::load_config_text(std::string_view(yaml.constData(), yaml.size()), "t.yaml",
                                     check);
  } catch (const bucky3::config::ConfigError& e) {
    return e.what();
  }
  return "(loaded without error)";
}

}  // namespace bucky3::test
