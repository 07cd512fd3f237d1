// Test support: what a running agent's health block says, read as bucky3-ring
// reads it. Header-only; a test using it links bucky3_shm.
#pragma once
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>

#include "shm/health.h"

namespace bucky3::test {

// What the health block of instance `instance` says of module `module`
// (counters, restarts, last errors); nullopt while the block or the module's
// slot does not exist (yet).
inline std::optional<shm::HealthSnapshot> health_snapshot(const std::string& instance,
                                                          const std::string& module) {
  try {
    const auto block = shm::HealthBlock::open(instance, shm::Access::read_only);
    if (const auto slot = block.find(module)) return block.snapshot(*slot);
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

// Counter `counter` of module `module` of instance `instance`; 0 while the block
// or the module's slot does not exist (yet).
inline std::uint64_t health_counter(const std::string& instance, const std::string& module,
                                    shm::Counter counter) {
  const auto snapshot = health_snapshot(instance, module);
  return snapshot ? snapshot->counters[std::size_t(counter)] : 0;
}

}  // namespace bucky3::test
