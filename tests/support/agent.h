// Test support: run the real bucky3 binary (or any program) as a child process
// with its stdout/stderr captured in files, poll for conditions, and write the
// configs agent tests start bucky3 with.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace bucky3::test {

// This test program is built with AddressSanitizer (memory bounds are wider there).
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAsan = true;
#else
inline constexpr bool kAsan = false;
#endif

std::string build_dir();   // $BUCKY3_BUILD_DIR
std::string source_dir();  // $BUCKY3_SOURCE_DIR
std::string bucky3_binary();

// "t<pid>_<n>": an instance name no other test process uses.
std::string unique_instance();
// A port that was free a moment ago on 127.0.0.1 (udp or tcp).
int free_port(bool udp);

// Polls `condition` every 20 ms until it holds or `timeout` passes.
bool poll_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// A temporary directory removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string write(const std::string& name, const std::string& content) const;  // returns the path

 private:
  std::string path_;
};

class Process {
 public:
  Process() = default;
  ~Process();  // a child still running gets SIGTERM, then SIGKILL after 10 s
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Starts argv[0] with argv; stdout/stderr go to files in `dir`. `extra_env`
  // ("NAME=value") adds to the inherited environment, replacing a same-named variable.
  void start(const std::vector<std::string>& argv, const std::string& dir,
             const std::vector<std::string>& extra_env = {});
  pid_t pid() const { return pid_; }
  bool running();
  // Waits for the exit; nullopt on timeout. The value is the raw wait status.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  void signal(int signo) const;
  std::string out() const;
  std::string err() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string out_path_, err_path_;
};

// Runs a command to completion; returns its exit status (-1 when killed) and stdout.
int run_command(const std::vector<std::string>& argv, std::string* output = nullptr,
                std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Children of `pid` (from /proc/<pid>/task/<pid>/children).
std::vector<pid_t> children_of(pid_t pid);
bool process_exists(pid_t pid);
// /proc/<pid>/cmdline with its NULs after the last argument cut.
std::string cmdline(pid_t pid);
// The child of `supervisor` titled "bucky3: <name>", or -1.
pid_t module_pid(pid_t supervisor, const std::string& name);
std::string read_file(const std::string& path);
// The names of the files in /dev/shm of `instance` ("bucky3.<instance>.*").
std::vector<std::string> segments_of(const std::string& instance);

}  // namespace bucky3::test

namespace bucky3::test {

// The YAML of an agent test's config, a piece each; each piece ends in "\n".
// "instance: ..\nflush_interval: ..\nrandomize_startup: false\n" + globals + "modules:\n".
std::string config_head(const std::string& instance, const std::string& flush_interval,
                        const std::string& globals = "");
// Module `statsd` (statsd_server) on 127.0.0.1:udp, and TCP on 127.0.0.1:tcp unless tcp is 0;
// `extra`: more option lines of the module, indented by four.
std::string statsd_module(int udp, int tcp = 0, const std::string& extra = "");
// Module `name` of type debug_output, format json.
std::string debug_json_module(const std::string& name = "out", const std::string& extra = "");
// Module `name` of type prometheus_exporter on 127.0.0.1:http.
std::string prometheus_module(int http, const std::string& name = "prom",
                              const std::string& extra = "");

// A bucky3 run by a test: its own TempDir, instance name and free ports (used or
// not); on destruction SIGTERM, then Process's own SIGKILL after 10 s more.
struct AgentProcess {
  TempDir dir;
  Process process;
  std::string instance = unique_instance();
  int udp = free_port(true);
  int tcp = free_port(false);
  int http = free_port(false);

  AgentProcess() = default;
  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;
  ~AgentProcess();

  // Writes `config` to <dir>/bucky3.yaml and starts bucky3 on it.
  void start_with(const std::string& config, const std::vector<std::string>& extra_env = {});
  // Polls stderr until every one of `lines` shows in it.
  bool logged(const std::vector<std::string>& lines, std::chrono::milliseconds timeout);
  // The UDP socket is bound before the module says it listens.
  bool listening(std::chrono::milliseconds timeout) {
    return logged({"listening on UDP"}, timeout);
  }
  // SIGTERM and the wait for the exit; true when it exited with status 0.
  bool stop_cleanly(std::chrono::milliseconds timeout);
};

// One datagram to 127.0.0.1:port.
void send_udp(int port, const std::string& payload);
// Connects to 127.0.0.1:port, sends everything, closes; false when it could not.
bool send_tcp(int port, const std::string& payload);
// stdout of `curl -s --max-time 5 URL`.
std::string http_get(const std::string& url);
}  // namespace bucky3::test
