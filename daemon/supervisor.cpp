// Supervisor; see supervisor.h. Single-threaded: every event (a child's exit,
// a signal, a restart that is due) is taken from sigtimedwait(), so there are
// no signal handlers and no races with them.
#include "daemon/supervisor.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <deque>
#include <optional>

#include "common/log.h"
#include "daemon/modules.h"
#include "daemon/process_title.h"
#include "daemon/runtime/runtime.h"
#include "shm/health.h"
#include "shm/segment.h"

namespace bucky3::daemon {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kBackoffFirst = std::chrono::milliseconds(100);
constexpr auto kBackoffMax = std::chrono::seconds(10);
constexpr auto kCrashLoopWindow = std::chrono::seconds(5 * 60);
constexpr std::size_t kCrashLoopStarts = 6;
constexpr auto kStopGrace = std::chrono::seconds(5);
// A module that ran this long before it exited starts again from the first backoff step.
constexpr auto kBackoffReset = std::chrono::seconds(30);

struct Child {
  const config::ModuleConfig* module = nullptr;
  std::size_t slot = 0;
  pid_t pid = -1;
  std::deque<Clock::time_point> starts;  // the last kCrashLoopStarts starts
  Clock::time_point started{};
  std::chrono::milliseconds backoff = kBackoffFirst;
  std::optional<Clock::time_point> restart_at;
  std::uint32_t restarts = 0;
};

std::string shm_path(const std::string& instance, std::string_view suffix) {
  return "/dev/shm/" + shm::segment_name(instance, suffix);
}

// Removes every /dev/shm/bucky3.<instance>.* except the lock file.
void remove_segments(const std::string& instance) {
  const std::string prefix = shm::segment_name(instance, "");
  const std::string lock_name = shm::segment_name(instance, "lock");
  DIR* dir = ::opendir("/dev/shm");
  if (dir == nullptr) return;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name(entry->d_name);
    if (name.substr(0, prefix.size()) != prefix || name == lock_name) continue;
    ::unlink(("/dev/shm/" + std::string(name)).c_str());
  }
  ::closedir(dir);
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + ::strsignal(WTERMSIG(status));
  return "stopped";
}

class Supervisor {
 public:
  explicit Supervisor(const config::Config& config) : config_(config) {}
  int run();

 private:
  int take_lock();  // exit_clean when taken
  // Everything between taking the lock and letting it go; returns the exit status.
  int supervise();
  // One Child per active module; false (logged) when a type is not built in.
  bool plan_children();
  void start(Child& child);
  // The forked child's side of start(): runs the module in this process and _exits.
  [[noreturn]] void run_module_in_child(Child& child);
  void reap(bool stopping);
  int stop_all();
  std::optional<std::chrono::milliseconds> next_timeout() const;

  const config::Config& config_;
  int lock_fd_ = -1;
  pid_t self_ = ::getpid();
  std::optional<shm::HealthBlock> health_;
  std::vector<Child> children_;
  sigset_t signals_{};
  bool crash_loop_ = false;
};

int Supervisor::take_lock() {
  const auto path = shm_path(config_.instance, "lock");
  lock_fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) {
    log::error("cannot open lock file ", path, ": ", std::strerror(errno));
    return exit_failure;
  }
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(lock_fd_);
    lock_fd_ = -1;
    if (error == EWOULDBLOCK) {
      log::error("instance \"", config_.instance, "\" is already running (", path,
                 " is locked by a live supervisor)");
      return exit_already_running;
    }
    log::error("cannot lock ", path, ": ", std::strerror(error));
    return exit_failure;
  }
  const auto pid = std::to_string(self_) + "\n";
  if (::ftruncate(lock_fd_, 0) == 0) {
    [[maybe_unused]] auto n = ::pwrite(lock_fd_, pid.data(), pid.size(), 0);
  }
  return exit_clean;
}

void Supervisor::run_module_in_child(Child& child) {
  // In the child: die with the supervisor, drop what belongs to it.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != self_) ::_exit(1);  // the supervisor died before prctl took
  ::close(lock_fd_);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  const auto& module = *child.module;
  set_process_title("bucky3: " + module.name);
  log::init(module.name, module.log_level);
  int status = exit_failure;
  try {
    const auto entry = find_module_entry(module.type);
    runtime::ModuleRuntime runtime(config_, module);
    status = entry(runtime);
  } catch (const std::exception& e) {
    log::error(e.what());
    status = exit_failure;
  }
  std::fflush(stdout);
  ::_exit(status);
}

void Supervisor::start(Child& child) {
  const auto now = Clock::now();
  child.restart_at.reset();
  const pid_t pid = ::fork();
  if (pid < 0) {
    log::error("fork for ", child.module->name, " failed: ", std::strerror(errno));
    child.restart_at = now + child.backoff;
    return;
  }
  if (pid == 0) run_module_in_child(child);
  child.pid = pid;
  child.started = now;
  child.starts.push_back(now);
  if (child.starts.size() > kCrashLoopStarts) child.starts.pop_front();
  const auto wall = runtime::wall_clock_ms();
  health_->set_process(child.slot, pid, shm::ModuleState::running, wall, child.restarts);
  log::info("started ", child.module->name, " (", child.module->type, ") as pid ", pid);
}

void Supervisor::reap(bool stopping) {
  while (true) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    for (auto& child : children_) {
      if (child.pid != pid) continue;
      child.pid = -1;
      if (stopping) {
        log::info(child.module->name, " ", describe_status(status));
        health_->set_state(child.slot, shm::ModuleState::stopped);
        break;
      }
      const auto now = Clock::now();
      if (child.starts.size() >= kCrashLoopStarts &&
          now - child.starts.front() < kCrashLoopWindow) {
        log::error(child.module->name, " ", describe_status(status), "; started ", kCrashLoopStarts,
                   " times within ", kCrashLoopWindow.count(),
                   " s: crash loop, stopping everything");
        health_->set_state(child.slot, shm::ModuleState::failed);
        crash_loop_ = true;
        break;
      }
      if (now - child.started >= kBackoffReset) child.backoff = kBackoffFirst;
      log::warning(child.module->name, " ", describe_status(status), "; restarting in ",
                   child.backoff.count(), " ms");
      health_->set_state(child.slot, shm::ModuleState::backoff);
      child.restart_at = now + child.backoff;
      child.backoff = std::min<std::chrono::milliseconds>(child.backoff * 2, kBackoffMax);
      ++child.restarts;
      break;
    }
  }
}

std::optional<std::chrono::milliseconds> Supervisor::next_timeout() const {
  std::optional<Clock::time_point> earliest;
  for (const auto& child : children_) {
    if (child.restart_at && (!earliest || *child.restart_at < *earliest))
      earliest = child.restart_at;
  }
  if (!earliest) return std::nullopt;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(*earliest - Clock::now());
  return std::max(left, std::chrono::milliseconds(0));
}

int Supervisor::stop_all() {
  for (auto& child : children_) child.restart_at.reset();
  const auto deadline = Clock::now() + kStopGrace;
  const auto running = [this](std::optional<config::ModuleRole> role) {
    for (const auto& child : children_)
      if (child.pid > 0 && (!role || child.module->role == *role)) return true;
    return false;
  };
  const auto terminate = [this](config::ModuleRole role) {
    for (auto& child : children_) {
      if (child.pid > 0 && child.module->role == role) {
        health_->set_state(child.slot, shm::ModuleState::stopping);
        ::kill(child.pid, SIGTERM);
      }
    }
  };
  const auto wait_for = [&](std::optional<config::ModuleRole> role) {
    while (running(role)) {
      const auto left = deadline - Clock::now();
      if (left <= Clock::duration::zero()) break;
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
      timespec timeout{static_cast<time_t>(ns / 1'000'000'000),
                       static_cast<long>(ns % 1'000'000'000)};
      ::sigtimedwait(&signals_, nullptr, &timeout);  // any signal: look again
      reap(true);
    }
  };
  // Sources first: they flush what they aggregated into the rings, and the
  // destinations, still running, hand it on before they are stopped in turn.
  terminate(config::ModuleRole::source);
  wait_for(config::ModuleRole::source);
  terminate(config::ModuleRole::destination);
  wait_for(std::nullopt);
  bool killed = false;
  for (auto& child : children_) {
    if (child.pid <= 0) continue;
    log::warning(child.module->name, " did not stop within ", kStopGrace.count(), " s: SIGKILL");
    ::kill(child.pid, SIGKILL);
    killed = true;
  }
  while (running(std::nullopt)) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0 && errno != EINTR) break;
    for (auto& child : children_)
      if (child.pid == pid) child.pid = -1;
  }
  return killed ? exit_failure : exit_clean;
}

bool Supervisor::plan_children() {
  for (const auto& module : config_.modules) {
    if (module.inactive) continue;
    if (find_module_entry(module.type) == nullptr) {
      log::error("module ", module.name, ": type ", module.type, " is not built into this version");
      return false;
    }
    Child child;
    child.module = &module;
    child.slot = children_.size();
    children_.push_back(std::move(child));
  }
  return true;
}

int Supervisor::supervise() {
  remove_segments(config_.instance);
  if (!plan_children()) return exit_bad_config;
  std::vector<shm::HealthBlock::SlotSpec> slots;
  for (const auto& child : children_) slots.push_back({child.module->name, child.module->type});
  health_.emplace(shm::HealthBlock::create(config_.instance, slots, config_.shm_group));
  for (const auto& destination : config_.modules) {
    if (destination.inactive || destination.role != config::ModuleRole::destination) continue;
    std::vector<std::string> sources;
    for (const auto& source : config_.modules) {
      if (source.inactive || source.role != config::ModuleRole::source) continue;
      for (const auto& d : source.destinations)
        if (d == destination.name) sources.push_back(source.name);
    }
    shm::SegmentOptions options;
    options.ring_size_bytes = destination.ring_size_bytes;
    options.shm_group = config_.shm_group;
    shm::DestinationSegment::create(config_.instance, destination.name, sources, options);
  }
  // Destinations first, so their segments have a reader before sources flush.
  for (auto& child : children_)
    if (child.module->role == config::ModuleRole::destination) start(child);
  for (auto& child : children_)
    if (child.module->role == config::ModuleRole::source) start(child);

  while (!crash_loop_) {
    siginfo_t info{};
    int signo;
    if (const auto timeout = next_timeout()) {
      timespec ts{static_cast<time_t>(timeout->count() / 1000),
                  static_cast<long>(timeout->count() % 1000) * 1'000'000};
      signo = ::sigtimedwait(&signals_, &info, &ts);
    } else {
      signo = ::sigwaitinfo(&signals_, &info);
    }
    if (signo == SIGTERM || signo == SIGINT) {
      log::info("received ", ::strsignal(signo), ": stopping modules");
      return stop_all();
    }
    if (signo == SIGHUP) {
      log::info("SIGHUP ignored by the supervisor (send it to a module to restart that module)");
    }
    reap(false);
    const auto now = Clock::now();
    for (auto& child : children_) {
      if (child.pid < 0 && child.restart_at && *child.restart_at <= now) start(child);
    }
  }
  stop_all();
  return exit_crash_loop;
}

int Supervisor::run() {
  // Every signal we act on is blocked and taken synchronously; children restore the mask.
  sigemptyset(&signals_);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals_, s);
  ::sigprocmask(SIG_BLOCK, &signals_, nullptr);

  if (const int locked = take_lock(); locked != exit_clean) return locked;
  int status = exit_clean;
  try {
    status = supervise();
  } catch (const std::exception& e) {
    log::error(e.what());
    status = exit_failure;
    stop_all();
  }
  remove_segments(config_.instance);
  ::unlink(shm_path(config_.instance, "lock").c_str());
  ::close(lock_fd_);
  return status;
}

}  // namespace

int run_supervisor(const config::Config& config) {
  Supervisor supervisor(config);
  return supervisor.run();
}

}  // namespace bucky3::daemon
