// Test support: what a running agent's health block says, read as bucky3-ring
// reads it. Header-only; a test using it links bucky3_shm.
#pragma once
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

#include "shm/health.h"

namespace bucky3::test {

// Counter `counter` of module `module` of instance `instance`; 0 while the block
// or the module's slot does not exist (yet).
inline std::uint64_t health_counter(const std::string& instance, const std::string& module,
                                    shm::Counter counter) {
  try {
    const auto block = shm::HealthBlock::open(instance, shm::Access::read_only);
    const auto slot = block.find(module);
    if (!slot) return 0;
    return block.snapshot(*slot).counters[std::size_t(counter)];
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace bucky3::test
