// bucky3-ring: the agent's shared memory from a terminal — health, rings, top
// talkers, live metrics, captures (.b3dump) and their replay. Exit 0 success,
// 1 failure (each cause its own message), 2 bad arguments.
#include <iostream>
#include <string>
#include <vector>

#include "shm/tool/tool.h"

#ifndef BUCKY3_VERSION
#define BUCKY3_VERSION "dev"
#endif

namespace {

constexpr const char* kUsage = R"(usage: bucky3-ring COMMAND [--instance I] [options]

  status [--once] [--json] [--interval S]   modules and rings, refreshed (--once: one sample
                                            a second apart); --json: one JSON document each time
  status --errors NAME [--json]             the last errors of module NAME
  list [--json]                             instances and segments on this host, stale ones flagged
  top [--ring DEST] [--source S] [--by series|metrics|bytes] [--json] [--once]
      [--seconds N] [--interval S] [--limit N]
                                            top metric names and tag keys of each ring, live
  tail [--ring DEST] [--source S] [--json] [--seconds N]
                                            the metrics passing through the rings
  dump --ring DEST [--source S] [--seconds N | --batches N] [--zstd-level N] -o FILE|-
                                            capture into a .b3dump (until SIGINT/SIGTERM)
  cat FILE|- [--json]                       print every metric of a dump (--json: debug_output's
                                            JSON Lines)
  replay FILE|- --config CONFIG --module NAME [--speed X] [--output PATH]
                                            run destination module NAME on the dump's batches

--instance defaults to "default". Exit status: 0 success, 1 failure, 2 bad arguments.
The .b3dump format: docs/DUMP.md.
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace bucky3::ring_tool;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (command == "--version") {
    std::cout << "bucky3-ring " << BUCKY3_VERSION << '\n';
    return 0;
  }
  for (const auto& arg : args) {
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    }
  }
  try {
    if (command == "status") return run_status(args);
    if (command == "list") return run_list(args);
    if (command == "top") return run_top(args);
    if (command == "tail") return run_tail(args);
    if (command == "dump") return run_dump(args);
    if (command == "cat") return run_cat(args);
    if (command == "replay") return run_replay(args);
    throw UsageError("unknown command \"" + command + "\"");
  } catch (const UsageError& e) {
    std::cerr << "bucky3-ring: " << e.what() << "\n(bucky3-ring --help shows the commands)\n";
    return 2;
  } catch (const Failure& e) {
    std::cerr << "bucky3-ring: " << e.what() << '\n';
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "bucky3-ring: " << e.what() << '\n';
    return 1;
  }
}
