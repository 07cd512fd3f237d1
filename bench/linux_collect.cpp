// bench/linux_collect.cpp — CPU time of one full Linux collection on this
// machine's /proc, beside the CPU one prometheus-node-exporter scrape of the
// same host costs (its process's utime+stime over many scrapes), in one run.
//
//   bench_linux_collect [collections=2000] [scrapes=50]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "collectors/linux/collector.h"
#include "collectors/linux/name_filter.h"
#include "collectors/linux/proc_file.h"
#include "collectors/linux/procfs.h"

extern char** environ;

using namespace bucky3;
using namespace bucky3::linux_stats;

namespace {

double seconds(clockid_t clock) {
  timespec now{};
  ::clock_gettime(clock, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// CPU microseconds per call of `fn` over `iterations` calls.
double cpu_us_per_call(int iterations, const std::function<void()>& fn) {
  fn();  // opens the files, sizes the buffers
  const double start = seconds(CLOCK_PROCESS_CPUTIME_ID);
  for (int i = 0; i < iterations; ++i) fn();
  return (seconds(CLOCK_PROCESS_CPUTIME_ID) - start) * 1e6 / iterations;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

// Bytes of the whole HTTP/1.0 response to GET /metrics, 0 when nothing answers.
std::size_t scrape(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::size_t total = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    const std::string request = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buffer[65536];
      for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) total += n;
    }
  }
  ::close(fd);
  return total;
}

// utime + stime of a process, in seconds (USER_HZ resolution).
double process_cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name, which may hold spaces: state is field 3,
  // utime 14, stime 15.
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int number = 3; number <= 15 && fields >> field; ++number) {
    if (number == 14) utime = std::stoll(field);
    if (number == 15) stime = std::stoll(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace

int main(int argc, char** argv) {
  const int collections = argc > 1 ? std::atoi(argv[1]) : 2000;
  const int scrapes = argc > 2 ? std::atoi(argv[2]) : 50;

  LinuxCollector collector{LinuxOptions{}};
  std::vector<Metric> out;
  const double wall_start = seconds(CLOCK_MONOTONIC);
  const double collect_us = cpu_us_per_call(collections, [&] {
    out.clear();
    collector.collect(0, out);
  });
  const double wall_us = (seconds(CLOCK_MONOTONIC) - wall_start) * 1e6 / (collections + 1);
  std::size_t fields = 0;
  for (const auto& metric : out) fields += metric.values.size();

  // Where the time goes: each group alone (file read + parse), same /proc.
  struct Part {
    const char* name;
    double us;
  };
  std::vector<Part> parts;
  {
    NameFilter disks(std::vector<std::string>{}, default_disk_blacklist());
    NameFilter filesystems(std::vector<std::string>{}, default_filesystem_blacklist());
    NameFilter all;
    ProcFile stat("/proc/stat"), meminfo("/proc/meminfo"), net_dev("/proc/net/dev"),
        diskstats("/proc/diskstats"), snmp("/proc/net/snmp"), netstat("/proc/net/netstat"),
        snmp6("/proc/net/snmp6"), mounts("/proc/mounts"), vmstat("/proc/vmstat"),
        pressure("/proc/pressure/io");
    ProtocolStats protocols;
    std::vector<Metric> metrics;
    std::vector<Field> values;
    std::vector<MountEntry> entries;
    const int n = collections;
    auto reset = [&] {
      metrics.clear();
      values.clear();
    };
    parts.push_back({"/proc/stat", cpu_us_per_call(n, [&] {
                       reset();
                       parse_stat(*stat.read(), metrics, values);
                     })});
    parts.push_back({"/proc/meminfo", cpu_us_per_call(n, [&] {
                       reset();
                       parse_meminfo(*meminfo.read(), values);
                     })});
    parts.push_back({"/proc/vmstat", cpu_us_per_call(n, [&] {
                       reset();
                       parse_vmstat(*vmstat.read(), values);
                     })});
    parts.push_back({"/proc/net/dev", cpu_us_per_call(n, [&] {
                       reset();
                       parse_net_dev(*net_dev.read(), all, metrics);
                     })});
    parts.push_back({"/proc/diskstats", cpu_us_per_call(n, [&] {
                       reset();
                       parse_diskstats(*diskstats.read(), disks, metrics);
                     })});
    parts.push_back({"/proc/net/{snmp,netstat,snmp6}", cpu_us_per_call(n, [&] {
                       reset();
                       protocols.parse_snmp(*snmp.read());
                       protocols.parse_snmp(*netstat.read());
                       protocols.parse_snmp6(*snmp6.read());
                       protocols.append_metrics(metrics);
                     })});
    parts.push_back({"/proc/mounts + statvfs", cpu_us_per_call(n, [&] {
                       entries.clear();
                       parse_mounts(*mounts.read(), entries);
                       for (const auto& entry : entries) {
                         struct statvfs stats {};
                         if (filesystems.allows(entry.type)) {
                           ::statvfs(entry.mount_point.c_str(), &stats);
                         }
                       }
                     })});
    if (pressure.read()) {
      parts.push_back({"/proc/pressure/io", cpu_us_per_call(n, [&] {
                         reset();
                         parse_pressure(*pressure.read(), "io", metrics);
                       })});
    }
  }

  // node_exporter, started here, measured by its own CPU counters.
  const int port = free_port();
  const std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(port);
  const char* exporter_argv[] = {"prometheus-node-exporter", "--no-collector.systemd",
                                 "--log.level=error", listen.c_str(), nullptr};
  pid_t exporter = 0;
  // Its stderr would interleave with the numbers (it logs udev warnings as errors).
  posix_spawn_file_actions_t quiet;
  ::posix_spawn_file_actions_init(&quiet);
  ::posix_spawn_file_actions_addopen(&quiet, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  const int spawned = ::posix_spawnp(&exporter, exporter_argv[0], &quiet, nullptr,
                                     const_cast<char* const*>(exporter_argv), environ);
  ::posix_spawn_file_actions_destroy(&quiet);
  if (spawned != 0) {
    std::perror("prometheus-node-exporter");
    return 1;
  }
  std::size_t scrape_bytes = 0;
  for (int attempt = 0; attempt < 600 && scrape_bytes == 0; ++attempt) {
    scrape_bytes = scrape(port);
    if (scrape_bytes == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (scrape_bytes == 0) {
    std::fprintf(stderr, "prometheus-node-exporter never answered\n");
    ::kill(exporter, SIGTERM);
    return 1;
  }
  const double exporter_before = process_cpu_seconds(exporter);
  for (int i = 0; i < scrapes; ++i) scrape(port);
  const double scrape_ms = (process_cpu_seconds(exporter) - exporter_before) * 1e3 / scrapes;
  ::kill(exporter, SIGTERM);
  ::waitpid(exporter, nullptr, 0);

  std::printf(
      "linux_stats collection: %.1f us CPU (%.1f us wall), %zu metrics, %zu values; "
      "%d collections\n",
      collect_us, wall_us, out.size(), fields, collections);
  for (const auto& part : parts) std::printf("  %-32s %7.1f us CPU\n", part.name, part.us);
  std::printf(
      "node_exporter 1.5 scrape (--no-collector.systemd): %.2f ms CPU, %zu bytes; "
      "%d scrapes\n",
      scrape_ms, scrape_bytes, scrapes);
  std::printf("ratio: one collection = %.4f x one node_exporter scrape (%.0fx less CPU)\n",
              collect_us / (scrape_ms * 1e3), scrape_ms * 1e3 / collect_us);
  return 0;
}
