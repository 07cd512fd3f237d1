// The supervisor: instance lock, shared-memory segments, one process per active
// module, restarts with backoff, crash-loop detection, orderly shutdown.
#pragma once
#include "daemon/config/config.h"

namespace bucky3::daemon {

// Exit statuses DESIGN fixes.
enum ExitStatus : int {
  exit_clean = 0,
  exit_failure = 1,
  exit_bad_config = 2,
  exit_crash_loop = 3,
  exit_already_running = 4,
};

// Runs the agent until SIGTERM/SIGINT or a crash loop; returns the exit status.
int run_supervisor(const config::Config& config);

}  // namespace bucky3::daemon
