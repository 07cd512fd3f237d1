// libFuzzer target: arbitrary bytes as a config file. Every input must either
// load or throw ConfigError; anything else (another exception, a crash, a
// sanitizer report) is a bug. Seeds: tests/data/config/ and assets/bucky3.yaml.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "daemon/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto config = bucky3::config::load_config_text(text, "fuzz.yaml");
    // Exercise what a module does with the result.
    bucky3::Metric metric;
    metric.bucket = "stats_counters";
    metric.set_tag("name", "fuzz");
    for (const auto& module : config.modules) {
      bucky3::Metric copy = metric;
      bucky3::config::apply_filters(module.filters, copy);
    }
  } catch (const bucky3::config::ConfigError&) {
  }
  return 0;
}
