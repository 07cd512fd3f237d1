// bench/udp_ceiling.cpp — the raw recvmmsg receive ceiling of this machine: the
// fastest a receiver doing nothing but recvmmsg keeps up with a sendmmsg generator
// (under 1% loss), and beside it the same for statsd::Receiver on an Asio loop.
// The StatsD server's ingest numbers are read against the first.
//
//   bench_udp_ceiling [--seconds S] [--loss-percent P]
//   bench_udp_ceiling --generate PORT --workload 0|1|2 [--datagrams-per-second R] [--seconds S]
//
// Generator (child) pinned to core 0, receiver (parent) to core 1, 10,000 counter
// keys, an 8 MiB receive buffer (the agent's socket_buffer default) and the agent's
// batch shape (64 x 64 KiB). Per workload and receiver: one flat-out step, then
// paced steps from the flat-out received rate down in 10% steps until loss < P%.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "collectors/statsd/options.h"
#include "collectors/statsd/receiver.h"
#include "common/log.h"

namespace {

constexpr int kKeys = 10000;
constexpr std::size_t kBatch = 64;
constexpr std::size_t kBufferSize = 65536;
constexpr int kSocketBuffer = 8 << 20;

struct Workload {
  const char* name;
  bool packed;  // ~1400-byte datagrams of many lines, else one line each
  bool tags;    // three DogStatsD tags per line
};
constexpr Workload kWorkloads[] = {
    {"1 line per datagram", false, false},
    {"1400 B datagrams", true, false},
    {"1400 B, 3 tags per line", true, true},
};

struct Command {
  std::uint16_t port;  // the receiver under test
  int workload;
  double datagrams_per_second;  // 0: as fast as sendmmsg goes
  double seconds;
};
struct SendResult {
  std::uint64_t datagrams;
  std::uint64_t lines;
  double seconds;
};

void die(const char* what) {
  std::fprintf(stderr, "bench_udp_ceiling: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

void pin_to_core(int core) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(core, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) die("sched_setaffinity");
}

double now_seconds() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

std::string line_for(int key, bool tags) {
  std::string line = "bench.requests.k" + std::to_string(key) + ":1|c";
  if (tags) line += "|#host:web-" + std::to_string(key % 50) + ",env:prod,region:eu-west-1";
  return line + "\n";
}

// Every key once, in datagrams of one line or of as many lines as fit 1400 bytes.
std::vector<std::string> datagrams_for(const Workload& workload, std::uint64_t& lines) {
  std::vector<std::string> out;
  std::string current;
  lines = 0;
  for (int key = 0; key < kKeys; ++key) {
    const auto line = line_for(key, workload.tags);
    if (!workload.packed || current.size() + line.size() > 1400) {
      if (!current.empty()) out.push_back(current);
      current.clear();
    }
    current += line;
    ++lines;
  }
  if (!current.empty()) out.push_back(current);
  return out;
}

// ---- generator (child) ------------------------------------------------------

SendResult generate(int fd, const Command& command) {
  const auto& workload = kWorkloads[command.workload];
  std::uint64_t pool_lines = 0;
  const auto pool = datagrams_for(workload, pool_lines);
  std::vector<std::uint64_t> pool_line_counts;
  for (const auto& datagram : pool) {
    pool_line_counts.push_back(std::uint64_t(std::count(datagram.begin(), datagram.end(), '\n')));
  }
  std::vector<iovec> iovecs(kBatch);
  std::vector<mmsghdr> headers(kBatch);
  SendResult result{};
  std::size_t next = 0;
  const double start = now_seconds();
  const double end = start + command.seconds;
  double now = start;
  while (now < end) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      const auto& datagram = pool[(next + i) % pool.size()];
      iovecs[i] = {const_cast<char*>(datagram.data()), datagram.size()};
      headers[i] = {};
      headers[i].msg_hdr.msg_iov = &iovecs[i];
      headers[i].msg_hdr.msg_iovlen = 1;
    }
    const int sent = sendmmsg(fd, headers.data(), kBatch, 0);
    if (sent < 0) {
      if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN || errno == ECONNREFUSED) continue;
      die("sendmmsg");
    }
    result.datagrams += std::uint64_t(sent);
    // Exact, for a caller that counts lines at the other end.
    for (int i = 0; i < sent; ++i) {
      result.lines += pool_line_counts[(next + std::size_t(i)) % pool.size()];
    }
    next = (next + std::size_t(sent)) % pool.size();
    now = now_seconds();
    if (command.datagrams_per_second > 0) {
      // Ahead of schedule: sleep until the time the next batch is due.
      const double due = start + double(result.datagrams) / command.datagrams_per_second;
      if (due > now) {
        const double wait = std::min(due, end) - now;
        timespec pause{time_t(wait), long((wait - double(time_t(wait))) * 1e9)};
        nanosleep(&pause, nullptr);
        now = now_seconds();
      }
    }
  }
  result.seconds = now - start;
  return result;
}

SendResult generate_to(int fd, const Command& command) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(command.port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) die("connect");
  return generate(fd, command);
}

[[noreturn]] void run_generator(int commands, int results) {
  pin_to_core(0);
  prctl(PR_SET_TIMERSLACK, 1UL);
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  Command command{};
  while (read(commands, &command, sizeof command) == sizeof command) {
    const auto result = generate_to(fd, command);
    if (write(results, &result, sizeof result) != sizeof result) die("write");
  }
  _exit(0);
}

// ---- receiver (parent) ------------------------------------------------------

struct Step {
  SendResult sent{};
  std::uint64_t received = 0;
  double cpu_seconds = 0;
  double loss() const {
    return sent.datagrams ? 1.0 - double(received) / double(sent.datagrams) : 0.0;
  }
  double lines_received() const {
    return sent.datagrams ? double(received) * double(sent.lines) / double(sent.datagrams) : 0;
  }
  double lines_per_second() const { return lines_received() / sent.seconds; }
};

// The ceiling: nothing but blocking recvmmsg calls.
class RawReceiver {
 public:
  RawReceiver()
      : fd_(socket(AF_INET, SOCK_DGRAM, 0)),
        buffers_(new char[kBatch * kBufferSize]),
        iovecs_(kBatch),
        headers_(kBatch) {
    if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &kSocketBuffer, sizeof kSocketBuffer) != 0) {
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &kSocketBuffer, sizeof kSocketBuffer);
    }
    // Idle this long after the generator is done means the queue is drained.
    timeval idle{0, 200000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) die("bind");
    socklen_t length = sizeof address;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    for (std::size_t i = 0; i < kBatch; ++i) {
      iovecs_[i] = {buffers_.get() + i * kBufferSize, kBufferSize};
      headers_[i].msg_hdr.msg_iov = &iovecs_[i];
      headers_[i].msg_hdr.msg_iovlen = 1;
    }
  }
  std::uint16_t port() const { return port_; }
  int granted_buffer() const {
    int granted = 0;
    socklen_t length = sizeof granted;
    getsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &granted, &length);
    return granted / 2;
  }

  // Receives until the generator has reported and the socket stayed idle.
  Step run(int commands, int results, Command command) {
    Step step;
    command.port = port_;
    if (write(commands, &command, sizeof command) != sizeof command) die("write");
    bool generator_done = false;
    const double cpu_start = thread_cpu_seconds();
    for (;;) {
      const int n = recvmmsg(fd_, headers_.data(), kBatch, MSG_WAITFORONE, nullptr);
      if (n > 0) {
        step.received += std::uint64_t(n);
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) die("recvmmsg");
      if (generator_done) break;
      // Timed out: the generator is probably done; its result is in the pipe.
      if (read(results, &step.sent, sizeof step.sent) == sizeof step.sent) generator_done = true;
    }
    step.cpu_seconds = thread_cpu_seconds() - cpu_start;
    return step;
  }

 private:
  int fd_;
  std::uint16_t port_ = 0;
  std::unique_ptr<char[]> buffers_;
  std::vector<iovec> iovecs_;
  std::vector<mmsghdr> headers_;
};

// bucky3::statsd::Receiver on an Asio loop, its handler counting payloads; a
// fresh one per step. A timer polls the generator's result, then waits for a
// quiet 200 ms before stopping the loop.
Step run_statsd_receiver(int commands, int results, Command command, std::size_t& granted) {
  namespace asio = boost::asio;
  Step step;
  asio::io_context io;
  bucky3::statsd::ReceiverOptions options = bucky3::statsd::default_receiver_options();
  options.udp_host = "127.0.0.1:0";
  options.socket_buffer = kSocketBuffer;
  bucky3::statsd::Receiver receiver(io, options, [&](std::string_view) { ++step.received; });
  granted = receiver.granted_socket_buffer();
  command.port = receiver.udp_port();
  if (write(commands, &command, sizeof command) != sizeof command) die("write");
  bool generator_done = false;
  std::uint64_t received_at_last_tick = 0;
  asio::steady_timer timer(io);
  std::function<void()> tick = [&] {
    timer.expires_after(std::chrono::milliseconds(200));
    timer.async_wait([&](const boost::system::error_code&) {
      if (!generator_done && read(results, &step.sent, sizeof step.sent) == sizeof step.sent) {
        generator_done = true;
      } else if (generator_done && step.received == received_at_last_tick) {
        io.stop();
        return;
      }
      received_at_last_tick = step.received;
      tick();
    });
  };
  tick();
  const double cpu_start = thread_cpu_seconds();
  io.run();
  step.cpu_seconds = thread_cpu_seconds() - cpu_start;
  return step;
}

std::string grouped(double value) {
  const auto digits = std::to_string(std::uint64_t(value + 0.5));
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// Flat out, then paced down from the received rate until loss is under the bound.
// Returns the ceiling found (0 when none).
template <class RunStep>
double measure(const char* receiver_name, const Workload& workload, int index, double seconds,
               double loss_percent, RunStep run_step, double ceiling_lines_per_second) {
  const Step flat = run_step(Command{0, index, 0, seconds});
  const double lines_per_datagram = double(flat.sent.lines) / double(flat.sent.datagrams);
  Step paced;
  const Step* best = &flat;
  double rate = double(flat.received) / flat.sent.seconds;
  for (int attempt = 0; best->loss() * 100 >= loss_percent && attempt < 8; ++attempt) {
    paced = run_step(Command{0, index, rate, seconds});
    best = &paced;
    rate *= 0.9;
  }
  // Flat out under the loss bound: the generator, not the receiver, was the
  // limit, so the ceiling is at least this (">="); "<" marks no rate found.
  const char* mark = best->loss() * 100 >= loss_percent ? "<" : best == &flat ? ">=" : "";
  const double lines_per_second = best->lines_per_second();
  std::printf("%-24s %-8s %8.1f | %16s %6.2f%% | %2s%13s %12s %6.2f%% %10.3f", workload.name,
              receiver_name, lines_per_datagram, grouped(flat.lines_per_second()).c_str(),
              flat.loss() * 100, mark, grouped(lines_per_second).c_str(),
              grouped(double(best->received) / best->sent.seconds).c_str(), best->loss() * 100,
              best->cpu_seconds / (best->lines_received() / 1e6));
  if (ceiling_lines_per_second > 0) {
    std::printf("  %.2f x raw", lines_per_second / ceiling_lines_per_second);
  }
  std::printf("\n");
  std::fflush(stdout);
  return best->loss() * 100 < loss_percent ? lines_per_second : 0;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3;
  double loss_percent = 1;
  // --generate PORT: only the generator, for another receiver (bench/statsd_ingest.sh);
  // prints "datagrams lines seconds" of what it sent.
  int generate_port = 0;
  int workload = 0;
  double rate = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atof(argv[i + 1]);
    if (std::strcmp(argv[i], "--loss-percent") == 0) loss_percent = std::atof(argv[i + 1]);
    if (std::strcmp(argv[i], "--generate") == 0) generate_port = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--workload") == 0) workload = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--datagrams-per-second") == 0) rate = std::atof(argv[i + 1]);
  }
  if (generate_port > 0) {
    if (workload < 0 || workload >= int(std::size(kWorkloads))) workload = 0;
    pin_to_core(0);
    prctl(PR_SET_TIMERSLACK, 1UL);
    const auto sent = generate_to(socket(AF_INET, SOCK_DGRAM, 0),
                                  Command{std::uint16_t(generate_port), workload, rate, seconds});
    std::printf("%llu %llu %.3f\n", static_cast<unsigned long long>(sent.datagrams),
                static_cast<unsigned long long>(sent.lines), sent.seconds);
    return 0;
  }
  // Quiet the receiver's "listening on" lines, one per step.
  bucky3::log::init("bench", bucky3::log::Level::warning);
  RawReceiver raw;
  int commands[2];
  int results[2];
  if (pipe(commands) != 0 || pipe(results) != 0) die("pipe");
  const pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    close(commands[1]);
    close(results[0]);
    run_generator(commands[0], results[1]);
  }
  close(commands[0]);
  close(results[1]);
  // The receivers only poll the result pipe when their socket has been quiet.
  fcntl(results[0], F_SETFL, O_NONBLOCK);
  pin_to_core(1);

  std::printf("UDP receive ceiling: generator on core 0 (sendmmsg x64), receiver on core 1\n");
  std::printf(
      "raw: blocking recvmmsg x64 of 64 KiB; statsd: bucky3::statsd::Receiver on an Asio\n");
  std::printf("loop, handler counts payloads. Receive buffer %d bytes, %d counter keys, %.1f s\n",
              raw.granted_buffer(), kKeys, seconds);
  std::printf("steps; ceiling = highest paced rate with < %.1f%% loss; rx CPU = receiver CPU s\n",
              loss_percent);
  std::printf("per million lines\n\n");
  std::printf("%-24s %-8s %8s | %16s %7s | %15s %12s %7s %10s\n", "workload", "receiver",
              "lines/dg", "flat-out lines/s", "loss", "ceiling lines/s", "datagrams/s", "loss",
              "rx CPU s/M");
  for (int w = 0; w < int(std::size(kWorkloads)); ++w) {
    const double raw_ceiling = measure(
        "raw", kWorkloads[w], w, seconds, loss_percent,
        [&](const Command& command) { return raw.run(commands[1], results[0], command); }, 0);
    std::size_t granted = 0;
    measure(
        "statsd", kWorkloads[w], w, seconds, loss_percent,
        [&](const Command& command) {
          return run_statsd_receiver(commands[1], results[0], command, granted);
        },
        raw_ceiling);
  }
  close(commands[1]);
  waitpid(child, nullptr, 0);
  return 0;
}
