// bucky3: the agent's entry point. Parses the command line, loads and checks
// the whole config, then hands over to the supervisor.
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <new>
#include <string>

#include "common/log.h"
#include "daemon/config/config.h"
#include "daemon/modules.h"
#include "daemon/process_title.h"
#include "daemon/supervisor.h"

#ifndef BUCKY3_VERSION
#define BUCKY3_VERSION "0.0.0"
#endif

namespace {

// The module list comes from the registry, so it names exactly what this binary runs.
std::string usage() {
  std::string types;
  for (const auto type : bucky3::daemon::built_module_types()) {
    types += types.empty() ? "  " : ", ";
    types += type;
  }
  return "usage: bucky3 [CONFIG]\n"
         "       bucky3 --check CONFIG\n"
         "       bucky3 --version | --help\n"
         "\n"
         "Host monitoring agent: source modules collect metrics, destination modules\n"
         "send them on. Module types in this build:\n" +
         types +
         "\n"
         "Without CONFIG the built-in default runs (StatsD on udp 127.0.0.1:8125,\n"
         "Linux metrics, Prometheus on 127.0.0.1:9103).\n"
         "\n"
         "  --check CONFIG  validate CONFIG and exit: 0 valid, 2 invalid\n"
         "  --version       print the version\n"
         "  --help          print this help\n"
         "\n"
         "Exit status: 0 clean stop, 1 runtime failure, 2 bad config or arguments,\n"
         "3 crash loop, 4 instance already running.\n";
}

// yaml-cpp 0.7 loops or exhausts memory on some malformed input (fuzz_config
// finds such files within seconds): the config load is bounded in time and in
// address space, and a config that trips either is reported as invalid.
constexpr unsigned kLoadSeconds = 20;
constexpr rlim_t kLoadAddressSpace = rlim_t{4} << 30;

extern "C" void config_load_timeout(int) {
  static const char message[] = "bucky3: the config did not parse within 20 s (malformed YAML?)\n";
  [[maybe_unused]] auto n = ::write(STDERR_FILENO, message, sizeof message - 1);
  ::_exit(2);
}

class LoadGuard {
 public:
  LoadGuard() {
    std::signal(SIGALRM, config_load_timeout);
    ::alarm(kLoadSeconds);
#if !defined(__SANITIZE_ADDRESS__)
    // ASan reserves terabytes of address space up front: no limit under it.
    if (::getrlimit(RLIMIT_AS, &saved_) == 0) {
      rlimit limited = saved_;
      if (limited.rlim_cur == RLIM_INFINITY || limited.rlim_cur > kLoadAddressSpace) {
        limited.rlim_cur = kLoadAddressSpace;
        limited_ = ::setrlimit(RLIMIT_AS, &limited) == 0;
      }
    }
#endif
  }
  ~LoadGuard() {
    ::alarm(0);
    std::signal(SIGALRM, SIG_DFL);
    if (limited_) ::setrlimit(RLIMIT_AS, &saved_);
  }

 private:
  rlimit saved_{};
  bool limited_ = false;
};

bucky3::config::Config load(const std::string& path) {
  LoadGuard guard;
  if (path.empty()) {
    return bucky3::config::load_config_text(bucky3::config::builtin_config_yaml(),
                                            "<built-in>/bucky3.yaml",
                                            bucky3::daemon::check_module_config);
  }
  return bucky3::config::load_config_file(path, bucky3::daemon::check_module_config);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace bucky3;
  std::string config_path;
  bool check = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(usage().c_str(), stdout);
      return 0;
    }
    if (arg == "--version") {
      std::printf("bucky3 %s\n", BUCKY3_VERSION);
      return 0;
    }
    if (arg == "--check") {
      check = true;
      continue;
    }
    if (arg.size() > 1 && arg[0] == '-') {
      std::fprintf(stderr, "bucky3: unknown option %s\n%s", arg.c_str(), usage().c_str());
      return daemon::exit_bad_config;
    }
    if (!config_path.empty()) {
      std::fprintf(stderr, "bucky3: one CONFIG only, got %s and %s\n%s", config_path.c_str(),
                   arg.c_str(), usage().c_str());
      return daemon::exit_bad_config;
    }
    config_path = arg;
  }
  if (check && config_path.empty()) {
    std::fprintf(stderr, "bucky3: --check needs a CONFIG\n%s", usage().c_str());
    return daemon::exit_bad_config;
  }

  daemon::init_process_title(argc, argv);
  log::init("bucky3", log::Level::info);
  config::Config config;
  try {
    config = load(config_path);
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return daemon::exit_bad_config;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "%s: the config parser ran out of memory (malformed YAML?)\n",
                 config_path.empty() ? "<built-in>" : config_path.c_str());
    return daemon::exit_bad_config;
  }
  if (check) {
    std::size_t active = 0;
    for (const auto& m : config.modules) active += m.inactive ? 0 : 1;
    std::printf("%s: ok (%zu modules, %zu active)\n", config.path.c_str(), config.modules.size(),
                active);
    return 0;
  }
  return daemon::run_supervisor(config);
}
