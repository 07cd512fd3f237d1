// Test support; see agent.h.
#include "tests/support/agent.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace bucky3::test {

std::string build_dir() {
  const char* dir = std::getenv("BUCKY3_BUILD_DIR");
  return dir ? dir : ".";
}

std::string source_dir() {
  const char* dir = std::getenv("BUCKY3_SOURCE_DIR");
  return dir ? dir : ".";
}

std::string bucky3_binary() {
  return build_dir() + "/bin/bucky3";
}

std::string unique_instance() {
  static std::atomic<int> n{0};
  return "t" + std::to_string(::getpid()) + "_" + std::to_string(n++);
}

int free_port(bool udp) {
  const int fd = ::socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool poll_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/bucky3-test-XXXXXX";
  path_ = ::mkdtemp(tmpl);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
  const auto path = path_ + "/" + name;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

Process::~Process() {
  if (pid_ > 0 && running()) {
    // SIGTERM first: a bucky3 left by a failed test then removes its segments.
    ::kill(pid_, SIGTERM);
    if (!wait(std::chrono::seconds(10))) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
}

void Process::start(const std::vector<std::string>& argv, const std::string& dir,
                    const std::vector<std::string>& extra_env) {
  static std::atomic<int> n{0};
  const auto tag = std::to_string(n++);
  out_path_ = dir + "/stdout." + tag;
  err_path_ = dir + "/stderr." + tag;
  // extra_env replaces an inherited variable of the same name: getenv() would
  // find the inherited one first.
  std::vector<std::string> env;
  const auto overridden = [&](const char* entry) {
    for (const auto& e : extra_env) {
      const auto eq = e.find('=');
      if (std::strncmp(entry, e.c_str(), eq + 1) == 0) return true;
    }
    return false;
  };
  for (char** e = environ; *e; ++e)
    if (!overridden(*e)) env.emplace_back(*e);
  for (const auto& e : extra_env) env.push_back(e);
  pid_ = ::fork();
  if (pid_ == 0) {
    const int out = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, 1);
    ::dup2(err, 2);
    const int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::vector<char*> envp;
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  status_.reset();
}

bool Process::running() {
  if (pid_ <= 0 || status_) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    status_ = status;
    return false;
  }
  return true;
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  poll_until([this] { return !running(); }, timeout);
  return status_;
}

void Process::signal(int signo) const {
  if (pid_ > 0 && !status_) ::kill(pid_, signo);  // never a reaped (maybe reused) pid
}

std::string config_head(const std::string& instance, const std::string& flush_interval,
                        const std::string& globals) {
  return "instance: " + instance + "\nflush_interval: " + flush_interval +
         "\nrandomize_startup: false\n" + globals + "modules:\n";
}

std::string statsd_module(int udp, int tcp, const std::string& extra) {
  std::string yaml =
      "  statsd:\n    type: statsd_server\n    local_host: 127.0.0.1:" + std::to_string(udp) + "\n";
  if (tcp != 0) yaml += "    tcp_host: 127.0.0.1:" + std::to_string(tcp) + "\n";
  return yaml + extra;
}

std::string debug_json_module(const std::string& name, const std::string& extra) {
  return "  " + name + ":\n    type: debug_output\n    format: json\n" + extra;
}

std::string prometheus_module(int http, const std::string& name, const std::string& extra) {
  return "  " + name +
         ":\n    type: prometheus_exporter\n    local_host: 127.0.0.1:" + std::to_string(http) +
         "\n" + extra;
}

AgentProcess::~AgentProcess() {
  process.signal(SIGTERM);
  process.wait(std::chrono::seconds(15));
}

void AgentProcess::start_with(const std::string& config,
                              const std::vector<std::string>& extra_env) {
  process.start({bucky3_binary(), dir.write("bucky3.yaml", config)}, dir.path(), extra_env);
}

bool AgentProcess::logged(const std::vector<std::string>& lines,
                          std::chrono::milliseconds timeout) {
  return poll_until(
      [&] {
        const auto err = process.err();
        for (const auto& line : lines)
          if (err.find(line) == std::string::npos) return false;
        return true;
      },
      timeout);
}

bool AgentProcess::stop_cleanly(std::chrono::milliseconds timeout) {
  process.signal(SIGTERM);
  const auto status = process.wait(timeout);
  return status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string Process::out() const {
  return read_file(out_path_);
}
std::string Process::err() const {
  return read_file(err_path_);
}

int run_command(const std::vector<std::string>& argv, std::string* output,
                std::chrono::milliseconds timeout) {
  TempDir dir;
  Process p;
  p.start(argv, dir.path());
  const auto status = p.wait(timeout);
  if (output) *output = p.out() + p.err();
  if (!status) return -1;
  return WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
}

std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  pid_t child;
  while (in >> child) out.push_back(child);
  return out;
}

std::string cmdline(pid_t pid) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  while (!text.empty() && text.back() == '\0') text.pop_back();
  return text;
}

pid_t module_pid(pid_t supervisor, const std::string& name) {
  for (const pid_t child : children_of(supervisor)) {
    if (cmdline(child) == "bucky3: " + name) return child;
  }
  return -1;
}

std::vector<std::string> segments_of(const std::string& instance) {
  std::vector<std::string> out;
  const std::string prefix = "bucky3." + instance + ".";
  for (const auto& entry : std::filesystem::directory_iterator("/dev/shm")) {
    const auto name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0) out.push_back(name);
  }
  return out;
}

bool process_exists(pid_t pid) {
  // A zombie still exists for kill(); look at its state too.
  const auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return false;
  const auto close = stat.rfind(')');
  return close == std::string::npos || close + 2 >= stat.size() || stat[close + 2] != 'Z';
}

}  // namespace bucky3::test

namespace bucky3::test {

namespace {
sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}
}  // namespace

void send_udp(int port, const std::string& payload) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  const auto addr = loopback(port);
  ::sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<const sockaddr*>(&addr),
           sizeof addr);
  ::close(fd);
}

bool send_tcp(int port, const std::string& payload) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  const auto addr = loopback(port);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return false;
  }
  const bool ok =
      ::send(fd, payload.data(), payload.size(), 0) == static_cast<ssize_t>(payload.size());
  ::close(fd);
  return ok;
}

std::string http_get(const std::string& url) {
  std::string out;
  run_command({"/usr/bin/curl", "-s", "--max-time", "5", url}, &out, std::chrono::seconds(10));
  return out;
}

}  // namespace bucky3::test
