// bucky3-ring replay: not yet here (needs the module registry as a library).
#include "shm/tool/tool.h"

namespace bucky3::ring_tool {

int run_replay(const std::vector<std::string>&) {
  throw Failure("replay: not built yet");
}

}  // namespace bucky3::ring_tool
