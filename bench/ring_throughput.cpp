// bench/ring_throughput.cpp — cross-process throughput and latency of the shm
// ring with encoded batches, beside its ceiling (a streaming memcpy through a
// ring-sized buffer) and the conventional IPC (a SOCK_SEQPACKET socketpair).
// Usage: bench_ring_throughput [--bytes N] [--ring BYTES] [--only throughput|latency]
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "shm/batch_codec.h"
#include "shm/segment.h"

using namespace bucky3::shm;
using namespace std::chrono_literals;

namespace {

const std::string instance = "bench_ring_" + std::to_string(getpid());

std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);  // shared by all processes of the host
  return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu % std::max(1u, std::thread::hardware_concurrency()), &set);
  sched_setaffinity(0, sizeof set, &set);
}

// `count` metrics as a StatsD timer flush makes them: 3 tags, one value each.
std::vector<std::byte> make_batch(int count) {
  std::vector<bucky3::Metric> metrics;
  for (int i = 0; i < count; ++i) {
    bucky3::Metric m;
    m.bucket = "stats_timers";
    m.metadata = {
        {"host", "web01"}, {"name", "myapp.latency." + std::to_string(i)}, {"percentile", "99"}};
    m.kind = bucky3::MetricKind::timer;
    m.values = {{"mean", 12.5 + i}};
    metrics.push_back(std::move(m));
  }
  std::vector<std::byte> record;
  encode_batch(metrics, record);
  return record;
}

// What a consumer does at least: read every byte once.
std::uint64_t touch(std::span<const std::byte> record) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i + 8 <= record.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, record.data() + i, 8);
    sum += word;
  }
  return sum;
}

void stamp(std::vector<std::byte>& record) {
  // Into the last 8 bytes (the last metric's value): the latency runs do not decode.
  const auto t = now_ns();
  std::memcpy(record.data() + record.size() - 8, &t, 8);
}
std::int64_t stamp_of(std::span<const std::byte> record) {
  std::int64_t t;
  std::memcpy(&t, record.data() + record.size() - 8, 8);
  return t;
}

struct Result {
  double seconds;
  std::uint64_t batches;
};

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// (a) the ceiling: stream the batch through a ring-sized buffer, one process.
Result memcpy_ceiling(const std::vector<std::byte>& batch, std::uint64_t batches,
                      std::size_t ring) {
  std::vector<std::byte> buffer(ring);
  std::size_t offset = 0;
  std::uint64_t sink = 0;
  const auto start = now_ns();
  for (std::uint64_t i = 0; i < batches; ++i) {
    if (offset + batch.size() > buffer.size()) offset = 0;
    std::memcpy(buffer.data() + offset, batch.data(), batch.size());
    sink += touch(std::span<const std::byte>(buffer.data() + offset, batch.size()));
    offset += batch.size();
  }
  const auto seconds = double(now_ns() - start) / 1e9;
  if (sink == 42) std::puts("");
  return {seconds, batches};
}

// The ring, producer in a child process on another CPU.
Result ring_throughput(const std::vector<std::byte>& batch, std::uint64_t batches, std::size_t ring,
                       bool decode) {
  SegmentOptions options;
  options.ring_size_bytes = ring;
  auto segment = DestinationSegment::create(instance, "bench", {"src"}, options);
  const pid_t producer = fork();
  if (producer == 0) {
    pin_to_cpu(0);
    auto mine = DestinationSegment::open(instance, "bench", Access::read_write);
    RingWriter writer(mine, 0);
    for (std::uint64_t i = 0; i < batches; ++i) {
      while (!writer.try_write(batch)) __builtin_ia32_pause();
    }
    _exit(0);
  }
  pin_to_cpu(1);
  RingReader reader(segment, 0);
  DecodedBatch decoded;
  std::uint64_t received = 0, sink = 0;
  std::int64_t start = 0;
  while (received < batches) {
    const auto record = reader.peek();
    if (!record) {
      segment.wait_for_data(100ms);
      continue;
    }
    if (received == 0) start = now_ns();
    if (decode) {
      if (decode_batch(*record, decoded)) std::abort();
      sink += decoded.metrics.size();
    } else {
      sink += touch(*record);
    }
    reader.commit();
    ++received;
  }
  const auto seconds = double(now_ns() - start) / 1e9;
  waitpid(producer, nullptr, 0);
  DestinationSegment::remove(instance, "bench");
  if (sink == 42) std::puts("");
  return {seconds, batches - 1};  // timed from the first batch's arrival
}

// (b) the conventional IPC: a SOCK_SEQPACKET socketpair between two processes.
Result socket_throughput(const std::vector<std::byte>& batch, std::uint64_t batches) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fds) != 0) std::abort();
  const pid_t producer = fork();
  if (producer == 0) {
    pin_to_cpu(0);
    close(fds[0]);
    for (std::uint64_t i = 0; i < batches; ++i) {
      if (send(fds[1], batch.data(), batch.size(), 0) != ssize_t(batch.size())) _exit(1);
    }
    _exit(0);
  }
  pin_to_cpu(1);
  close(fds[1]);
  std::vector<std::byte> buffer(batch.size() + 64);
  std::uint64_t sink = 0;
  std::int64_t start = 0;
  for (std::uint64_t i = 0; i < batches; ++i) {
    const auto n = recv(fds[0], buffer.data(), buffer.size(), 0);
    if (n <= 0) std::abort();
    if (i == 0) start = now_ns();
    sink += touch(std::span<const std::byte>(buffer.data(), std::size_t(n)));
  }
  const auto seconds = double(now_ns() - start) / 1e9;
  close(fds[0]);
  waitpid(producer, nullptr, 0);
  if (sink == 42) std::puts("");
  return {seconds, batches - 1};
}

struct Latency {
  double p50_us, p99_us, max_us;
};

Latency summarize(std::vector<std::int64_t>& ns) {
  std::sort(ns.begin(), ns.end());
  const auto at = [&](double q) {
    return double(ns[std::size_t(q * double(ns.size() - 1))]) / 1e3;
  };
  return {at(0.5), at(0.99), double(ns.back()) / 1e3};
}

// Commit-to-consume latency: the producer stamps each batch just before
// try_write, one batch every `gap`; the consumer takes the difference at peek.
// spin = true: the consumer polls (awake); false: it sleeps in wait_for_data.
Latency ring_latency(std::vector<std::byte> batch, int count, std::chrono::microseconds gap,
                     bool spin) {
  SegmentOptions options;
  options.ring_size_bytes = 8 << 20;
  auto segment = DestinationSegment::create(instance, "bench", {"src"}, options);
  const pid_t producer = fork();
  if (producer == 0) {
    pin_to_cpu(0);
    auto mine = DestinationSegment::open(instance, "bench", Access::read_write);
    RingWriter writer(mine, 0);
    for (int i = 0; i < count; ++i) {
      const auto due = now_ns() + gap.count() * 1000;
      stamp(batch);
      if (!writer.try_write(batch)) _exit(1);
      while (now_ns() < due) __builtin_ia32_pause();
    }
    _exit(0);
  }
  pin_to_cpu(1);
  RingReader reader(segment, 0);
  std::vector<std::int64_t> ns;
  ns.reserve(std::size_t(count));
  while (int(ns.size()) < count) {
    const auto record = reader.peek();
    if (!record) {
      if (!spin) segment.wait_for_data(100ms);
      continue;
    }
    ns.push_back(now_ns() - stamp_of(*record));
    reader.commit();
  }
  waitpid(producer, nullptr, 0);
  DestinationSegment::remove(instance, "bench");
  return summarize(ns);
}

Latency socket_latency(std::vector<std::byte> batch, int count, std::chrono::microseconds gap) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fds) != 0) std::abort();
  const pid_t producer = fork();
  if (producer == 0) {
    pin_to_cpu(0);
    close(fds[0]);
    for (int i = 0; i < count; ++i) {
      const auto due = now_ns() + gap.count() * 1000;
      stamp(batch);
      if (send(fds[1], batch.data(), batch.size(), 0) != ssize_t(batch.size())) _exit(1);
      while (now_ns() < due) __builtin_ia32_pause();
    }
    _exit(0);
  }
  pin_to_cpu(1);
  close(fds[1]);
  std::vector<std::byte> buffer(batch.size() + 64);
  std::vector<std::int64_t> ns;
  for (int i = 0; i < count; ++i) {
    const auto n = recv(fds[0], buffer.data(), buffer.size(), 0);
    if (n <= 0) std::abort();
    ns.push_back(now_ns() - stamp_of(std::span<const std::byte>(buffer.data(), std::size_t(n))));
  }
  close(fds[0]);
  waitpid(producer, nullptr, 0);
  return summarize(ns);
}

// CPU used by a consumer waiting on an idle ring.
double idle_cpu_percent(std::chrono::milliseconds duration) {
  SegmentOptions options;
  options.ring_size_bytes = 1 << 20;
  auto segment = DestinationSegment::create(instance, "bench", {"src"}, options);
  const auto cpu_before = cpu_seconds();
  const auto start = now_ns();
  while (now_ns() - start < duration.count() * 1'000'000) segment.wait_for_data(100ms);
  const auto wall = double(now_ns() - start) / 1e9;
  const auto cpu = cpu_seconds() - cpu_before;
  DestinationSegment::remove(instance, "bench");
  return 100.0 * cpu / wall;
}

void print_throughput(const char* what, const Result& r, int metrics_per_batch, std::size_t bytes,
                      const Result& ceiling, const Result& socket) {
  const double batches_s = double(r.batches) / r.seconds;
  const double gb_s = batches_s * double(bytes) / 1e9;
  const double ceiling_gb_s = double(ceiling.batches) / ceiling.seconds * double(bytes) / 1e9;
  const double socket_batches_s = double(socket.batches) / socket.seconds;
  std::printf(
      "  %-26s %9.3f M batches/s %9.2f M metrics/s %7.2f GB/s  = %.2f x memcpy, %.2f x "
      "socketpair\n",
      what, batches_s / 1e6, batches_s * metrics_per_batch / 1e6, gb_s, gb_s / ceiling_gb_s,
      batches_s / socket_batches_s);
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t total_bytes = 1'000'000'000;
  std::size_t ring = 8 << 20;
  std::string only;
  std::chrono::microseconds gap = 50us;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--bytes") == 0) total_bytes = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--ring") == 0) ring = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--only") == 0) only = argv[i + 1];
    if (std::strcmp(argv[i], "--gap-us") == 0)
      gap = std::chrono::microseconds(std::atoi(argv[i + 1]));
  }
  std::printf(
      "ring_throughput: %u CPUs, ring %zu bytes, %.1f GB per run, producer on CPU 0, consumer on "
      "CPU 1\n",
      std::thread::hardware_concurrency(), ring, double(total_bytes) / 1e9);
  for (const int metrics : {30, 300}) {
    if (only == "latency") break;
    const auto batch = make_batch(metrics);
    const std::uint64_t batches = std::max<std::uint64_t>(1000, total_bytes / batch.size());
    std::printf("\nbatches of %d metrics (3 tags each), %zu bytes, %llu batches:\n", metrics,
                batch.size(), static_cast<unsigned long long>(batches));
    const auto ceiling = memcpy_ceiling(batch, batches, ring);
    const auto socket = socket_throughput(batch, batches);
    const auto ring_touch = ring_throughput(batch, batches, ring, false);
    const auto ring_decode = ring_throughput(batch, batches, ring, true);
    print_throughput("(a) memcpy, ring-sized buf", ceiling, metrics, batch.size(), ceiling, socket);
    print_throughput("(b) socketpair SEQPACKET", socket, metrics, batch.size(), ceiling, socket);
    print_throughput("shm ring (read all bytes)", ring_touch, metrics, batch.size(), ceiling,
                     socket);
    print_throughput("shm ring + decode_batch", ring_decode, metrics, batch.size(), ceiling,
                     socket);
  }
  if (only == "throughput") return 0;
  std::printf("\ncommit-to-consume latency, 30-metric batches, one every %lld us, 20000 batches:\n",
              static_cast<long long>(gap.count()));
  const auto batch = make_batch(30);
  const auto awake = ring_latency(batch, 20000, gap, true);
  const auto sleeping = ring_latency(batch, 20000, gap, false);
  const auto socket = socket_latency(batch, 20000, gap);
  std::printf("  %-40s p50 %7.2f us  p99 %7.2f us  max %8.1f us\n",
              "shm ring, consumer awake (polling)", awake.p50_us, awake.p99_us, awake.max_us);
  std::printf("  %-40s p50 %7.2f us  p99 %7.2f us  max %8.1f us\n",
              "shm ring, consumer in wait_for_data", sleeping.p50_us, sleeping.p99_us,
              sleeping.max_us);
  std::printf("  %-40s p50 %7.2f us  p99 %7.2f us  max %8.1f us\n", "(b) socketpair, blocking recv",
              socket.p50_us, socket.p99_us, socket.max_us);
  std::printf("\nidle consumer in wait_for_data for 2 s: %.2f %% of one CPU\n",
              idle_cpu_percent(2s));
  return 0;
}
