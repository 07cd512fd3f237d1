// Test support: the shared memory of a config's instance, created as the supervisor
// creates it (the health block, one segment per destination with a ring per source
// routing to it), for tests that run a ModuleRuntime in their own process.
// Header-only; a test using it links bucky3_config and bucky3_shm (bucky3_runtime does).
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include "daemon/config/config.h"
#include "shm/health.h"
#include "shm/segment.h"
#include "tests/support/agent.h"

namespace bucky3::test {

// `modules_yaml`: the modules, indented under `modules:`; `globals`: global lines.
// Removed on destruction.
struct InstanceShm {
  config::Config config;
  explicit InstanceShm(const std::string& modules_yaml, const std::string& globals = "")
      : config(config::load_config_text(
            "instance: " + unique_instance() + "\n" + globals + "modules:\n" + modules_yaml,
            "test.yaml")) {
    std::vector<shm::HealthBlock::SlotSpec> specs;
    for (const auto& m : config.modules) specs.push_back({m.name, m.type});
    shm::HealthBlock::create(config.instance, specs, std::nullopt);
    for (const auto& d : config.modules) {
      if (d.role != config::ModuleRole::destination) continue;
      std::vector<std::string> sources;
      for (const auto& s : config.modules)
        if (s.role == config::ModuleRole::source &&
            std::count(s.destinations.begin(), s.destinations.end(), d.name))
          sources.push_back(s.name);
      shm::DestinationSegment::create(config.instance, d.name, sources,
                                      {.ring_size_bytes = d.ring_size_bytes, .shm_group = {}});
    }
  }
  ~InstanceShm() {
    for (const auto& d : config.modules)
      if (d.role == config::ModuleRole::destination)
        shm::DestinationSegment::remove(config.instance, d.name);
    shm::HealthBlock::remove(config.instance);
  }
  InstanceShm(const InstanceShm&) = delete;
  InstanceShm& operator=(const InstanceShm&) = delete;
  const config::ModuleConfig& module(const std::string& name) const { return *config.find(name); }
  shm::DestinationSegment segment(const std::string& destination) const {
    return shm::DestinationSegment::open(config.instance, destination, shm::Access::read_write);
  }
};

}  // namespace bucky3::test
