// bench/ring_dump.cpp — what a `bucky3-ring dump` costs the data path: a producer
// and a consumer process on one ring at a fixed metric rate (default 1M metrics/s)
// and unthrottled, each without and with a real `bucky3-ring dump` process
// observing the ring; the observer's own CPU; capture bytes per million metrics
// beside the raw batch bytes. Numbers only, no pass/fail.
// Also how the consumer's futex waits ended and how late the sleeping ones woke
// (--consumer yield: a consumer that never sleeps, for comparison).
// Usage: bench_ring_dump [--seconds S] [--rate METRICS_PER_S] [--ring-tool PATH] [--capture-dir
// DIR] [--consumer futex|yield]
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "shm/batch_codec.h"
#include "shm/health.h"
#include "shm/segment.h"
#include "shm/wait_stats.h"

using namespace bucky3::shm;
using Clock = std::chrono::steady_clock;

namespace {

const std::string instance = "benchdump" + std::to_string(getpid());
std::string capture_dir = "/tmp";  // --capture-dir: where the dump file goes
bool yield_consumer = false;       // --consumer yield: never sleeps, sched_yield() when empty
constexpr int kMetricsPerBatch = 30;

void pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu % std::max(1u, std::thread::hardware_concurrency()), &set);
  sched_setaffinity(0, sizeof set, &set);
}

double cpu_seconds(const rusage& r) {
  return double(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
         double(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

// 256 different batches of 30 StatsD timer metrics (3 tags, 7 values, random
// values), so the compression sees realistic, not identical, records.
std::vector<std::vector<std::byte>> make_batches() {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> value(0, 1000);
  std::vector<std::vector<std::byte>> out;
  for (int b = 0; b < 256; ++b) {
    std::vector<bucky3::Metric> metrics;
    for (int i = 0; i < kMetricsPerBatch; ++i) {
      bucky3::Metric m;
      m.bucket = "stats_timers";
      m.metadata = {{"host", "web01"},
                    {"name", "myapp.request." + std::to_string((b * kMetricsPerBatch + i) % 997)},
                    {"percentile", "99"}};
      m.kind = bucky3::MetricKind::timer;
      for (const char* field : {"count", "count_ps", "lower", "upper", "mean", "sum", "stdev"}) {
        m.values.push_back({field, value(rng)});
      }
      metrics.push_back(std::move(m));
    }
    out.emplace_back();
    encode_batch(metrics, out.back());
  }
  return out;
}

struct Run {
  double seconds = 0;
  std::uint64_t produced = 0, dropped = 0, consumed = 0;  // batches
  double producer_cpu = 0, consumer_cpu = 0, observer_cpu = 0;
  std::uint64_t capture_bytes = 0, raw_bytes = 0;
  std::uint64_t captured = 0, missed = 0;  // batches, from the dump's summary line
  std::string observer_summary;
  // The consumer's waits (wait_for_data): how they ended, and how late the ones
  // that slept found the ring (the wake-up latency, and the backlog it left).
  std::uint64_t sleeps = 0, woken = 0, timeouts = 0, timeouts_with_data = 0;
  std::uint64_t slow_wakes = 0;  // slept, woke with data after over 5 ms
  std::uint64_t full_wakes = 0;  // slept, woke to a ring with less room than a batch
  std::uint64_t max_wake_us = 0;
  std::uint64_t max_backlog_pct = 0;
};

// What the consumer child sends back through the pipe.
struct ConsumerReport {
  std::uint64_t consumed, sleeps, woken, timeouts, timeouts_with_data, slow_wakes, full_wakes,
      max_wake_us, max_backlog_pct;
};

// Producer and consumer are child processes (as in the agent); the observer is
// the real bucky3-ring binary. `rate` 0 = as fast as the ring takes them.
Run run(const std::vector<std::vector<std::byte>>& batches, double rate, double seconds,
        const std::string& ring_tool) {
  Run result;
  HealthBlock::remove(instance);
  auto health = HealthBlock::create(
      instance, {{"producer", "statsd_server"}, {"sink", "debug_output"}}, std::nullopt);
  auto segment = DestinationSegment::create(
      instance, "sink", {"producer"}, {.ring_size_bytes = 8 << 20, .shm_group = std::nullopt});
  int report[2];
  if (::pipe(report) != 0) std::abort();

  const pid_t consumer = ::fork();
  if (consumer == 0) {
    pin_to_cpu(1);
    auto seg = DestinationSegment::open(instance, "sink", Access::read_write);
    RingReader reader(seg, 0);
    DecodedBatch decoded;
    std::uint64_t consumed = 0;
    std::uint64_t metrics = 0;
    ConsumerReport report_{};
    const auto capacity = seg.ring_capacity();
    for (;;) {
      while (auto record = reader.peek()) {
        if (record->size() == 8) {  // the end marker
          reader.commit();
          const auto& w = thread_wait_stats();
          report_.consumed = consumed;
          report_.sleeps = w.sleeps;
          report_.woken = w.woken;
          report_.timeouts = w.timeouts;
          report_.timeouts_with_data = w.timeouts_with_data;
          if (::write(report[1], &report_, sizeof report_) < 0) _exit(1);
          _exit(metrics == 0);
        }
        if (!decode_batch(*record, decoded)) metrics += decoded.metrics.size();
        reader.commit();
        ++consumed;
      }
      if (yield_consumer) {
        std::this_thread::yield();
        continue;
      }
      const auto sleeps = thread_wait_stats().sleeps;
      const auto start = Clock::now();
      const bool data = seg.wait_for_data(std::chrono::milliseconds(100));
      if (!data || thread_wait_stats().sleeps == sleeps) continue;
      const auto us = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
      const auto backlog = reader.backlog_bytes();
      // The first wake of a run waits for the producer to start: not a latency.
      if (consumed > 0) {
        report_.max_wake_us = std::max(report_.max_wake_us, us);
        if (us > 5000) ++report_.slow_wakes;
        report_.max_backlog_pct = std::max(report_.max_backlog_pct, 100 * backlog / capacity);
        if (capacity - backlog < 8192) ++report_.full_wakes;  // no room for a ~6.6 KB batch
      }
    }
  }

  pid_t observer = -1;
  const std::string capture =
      capture_dir + "/bench_ring_dump_" + std::to_string(getpid()) + ".b3dump";
  int observer_err = -1;
  if (!ring_tool.empty()) {
    const std::string err_path = capture + ".err";
    observer = ::fork();
    if (observer == 0) {
      const int fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 2);
      ::execl(ring_tool.c_str(), ring_tool.c_str(), "dump", "--instance", instance.c_str(),
              "--ring", "sink", "-o", capture.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    observer_err = 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let it map the ring
  }

  const pid_t producer = ::fork();
  if (producer == 0) {
    pin_to_cpu(0);
    auto seg = DestinationSegment::open(instance, "sink", Access::read_write);
    RingWriter writer(seg, 0);
    const auto start = Clock::now();
    const auto end =
        start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    const auto gap = rate > 0 ? std::chrono::duration<double>(kMetricsPerBatch / rate)
                              : std::chrono::duration<double>(0);
    std::uint64_t sent = 0, dropped = 0;
    for (std::uint64_t i = 0;; ++i) {
      if (rate > 0) {
        const auto due = start + std::chrono::duration_cast<Clock::duration>(gap * double(i));
        for (auto now = Clock::now(); now < due; now = Clock::now()) {
          if (due - now > std::chrono::milliseconds(1))
            std::this_thread::sleep_for(due - now - std::chrono::microseconds(500));
        }
      }
      if ((i & 255) == 0 && Clock::now() >= end) break;
      if (writer.try_write(batches[i % batches.size()])) {
        ++sent;
      } else {
        ++dropped;
        if (rate == 0)
          std::this_thread::yield();  // unthrottled: a full ring means the consumer is the limit
      }
    }
    const std::byte marker[8] = {};
    while (!writer.try_write(marker)) std::this_thread::yield();
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const std::uint64_t msg[3] = {sent, dropped, static_cast<std::uint64_t>(elapsed * 1e9)};
    if (::write(report[1], msg, sizeof msg) < 0) _exit(1);
    _exit(0);
  }

  rusage usage{};
  int status = 0;
  ::wait4(producer, &status, 0, &usage);
  result.producer_cpu = cpu_seconds(usage);
  std::uint64_t msg[3];
  if (::read(report[0], msg, sizeof msg) != sizeof msg) std::abort();
  result.produced = msg[0];
  result.dropped = msg[1];
  result.seconds = double(msg[2]) / 1e9;
  ::wait4(consumer, &status, 0, &usage);
  result.consumer_cpu = cpu_seconds(usage);
  ConsumerReport report_{};
  if (::read(report[0], &report_, sizeof report_) != sizeof report_) std::abort();
  result.consumed = report_.consumed;
  result.sleeps = report_.sleeps;
  result.woken = report_.woken;
  result.timeouts = report_.timeouts;
  result.timeouts_with_data = report_.timeouts_with_data;
  result.slow_wakes = report_.slow_wakes;
  result.full_wakes = report_.full_wakes;
  result.max_wake_us = report_.max_wake_us;
  result.max_backlog_pct = report_.max_backlog_pct;
  if (observer > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ::kill(observer, SIGINT);
    ::wait4(observer, &status, 0, &usage);
    result.observer_cpu = cpu_seconds(usage);
    struct stat st {};
    ::stat(capture.c_str(), &st);
    result.capture_bytes = static_cast<std::uint64_t>(st.st_size);
    FILE* err = std::fopen((capture + ".err").c_str(), "r");
    char line[512];
    while (err && std::fgets(line, sizeof line, err)) {
      unsigned long long batches = 0, bytes = 0, missed = 0;
      char from[256];
      // "bucky3-ring: dump: N batches from I/R into F (B bytes, M records missed)"
      if (std::sscanf(line,
                      "bucky3-ring: dump: %llu batches from %255s into %*s (%llu bytes, %llu "
                      "records missed)",
                      &batches, from, &bytes, &missed) == 4) {
        result.captured = batches;
        result.missed = missed;
        result.observer_summary = line;
      }
    }
    if (err) std::fclose(err);
    std::remove(capture.c_str());
    std::remove((capture + ".err").c_str());
  }
  (void)observer_err;
  std::uint64_t raw = 0;
  for (const auto& b : batches) raw += b.size();
  result.raw_bytes = raw / batches.size();  // per batch
  ::close(report[0]);
  ::close(report[1]);
  DestinationSegment::remove(instance, "sink");
  HealthBlock::remove(instance);
  return result;
}

void print(const char* label, const Run& r, const Run* baseline) {
  const double metrics_out = double(r.produced) * kMetricsPerBatch / r.seconds;
  const double metrics_in = double(r.consumed) * kMetricsPerBatch / r.seconds;
  std::printf(
      "%-24s producer %5.2f M metrics/s (%.2f x no dump), dropped %llu batches (ring full), CPU "
      "%3.0f %%; "
      "consumer %5.2f M metrics/s, CPU %3.0f %%",
      label, metrics_out / 1e6,
      baseline ? metrics_out / (double(baseline->produced) * kMetricsPerBatch / baseline->seconds)
               : 1.0,
      static_cast<unsigned long long>(r.dropped), 100 * r.producer_cpu / r.seconds,
      metrics_in / 1e6, 100 * r.consumer_cpu / r.seconds);
  if (yield_consumer) {
    std::printf("\n    consumer never sleeps (--consumer yield)");
  } else {
    std::printf(
        "\n    consumer waits: %llu slept, %llu woken by the doorbell, %llu timeouts (%llu with a "
        "record waiting); %llu woke over 5 ms after the sleep began, longest %.1f ms; %llu woke "
        "to a ring with no room for a batch; fullest ring at a wake %llu %%",
        static_cast<unsigned long long>(r.sleeps), static_cast<unsigned long long>(r.woken),
        static_cast<unsigned long long>(r.timeouts),
        static_cast<unsigned long long>(r.timeouts_with_data),
        static_cast<unsigned long long>(r.slow_wakes), double(r.max_wake_us) / 1000.0,
        static_cast<unsigned long long>(r.full_wakes),
        static_cast<unsigned long long>(r.max_backlog_pct));
  }
  if (r.capture_bytes && r.captured) {
    const double million = double(r.captured) * kMetricsPerBatch / 1e6;
    const double raw_mb =
        double(r.raw_bytes) / kMetricsPerBatch;  // bytes per metric = MB per million
    std::printf(
        "\n    observer CPU %3.0f %% of one core; captured %llu batches, missed %llu (%.1f %% of "
        "those "
        "produced); capture %.2f MB per million metrics (raw batches %.2f MB: %.1f x smaller)",
        100 * r.observer_cpu / r.seconds, static_cast<unsigned long long>(r.captured),
        static_cast<unsigned long long>(r.missed),
        100.0 * double(r.missed) / double(std::max<std::uint64_t>(1, r.produced)),
        double(r.capture_bytes) / million / 1e6, raw_mb,
        raw_mb / (double(r.capture_bytes) / million / 1e6));
    // The observer's cost per metric, whatever share of a CPU the scheduler gave it.
    std::printf(
        "\n    observer cost %.2f CPU-s per million metrics captured (one core would capture %.2f "
        "M metrics/s)",
        r.observer_cpu / million, million / r.observer_cpu);
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 5, rate = 1e6;
  std::string ring_tool;
  {
    std::string self = argv[0];
    ring_tool = self.substr(0, self.rfind('/') + 1) + "bucky3-ring";
  }
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--seconds")
      seconds = std::atof(argv[i + 1]);
    else if (flag == "--rate")
      rate = std::atof(argv[i + 1]);
    else if (flag == "--ring-tool")
      ring_tool = argv[i + 1];
    else if (flag == "--capture-dir")
      capture_dir = argv[i + 1];
    else if (flag == "--consumer" &&
             (std::string(argv[i + 1]) == "yield" || std::string(argv[i + 1]) == "futex"))
      yield_consumer = std::string(argv[i + 1]) == "yield";
    else {
      std::fprintf(stderr,
                   "usage: bench_ring_dump [--seconds S] [--rate METRICS_PER_S] [--ring-tool PATH] "
                   "[--capture-dir DIR] [--consumer futex|yield]\n");
      return 2;
    }
  }
  const auto batches = make_batches();
  if (FILE* load = std::fopen("/proc/loadavg", "r")) {
    char line[128] = {};
    if (std::fgets(line, sizeof line, load)) std::printf("load average at start: %s", line);
    std::fclose(load);
  }
  std::printf(
      "ring 8 MiB, batches of %d StatsD timer metrics (%zu B), %g s per row, producer on CPU 0, "
      "consumer "
      "(decode_batch) on CPU 1, bucky3-ring dump unpinned\n",
      kMetricsPerBatch, batches[0].size(), seconds);
  char label[64];
  std::snprintf(label, sizeof label, "%.2gM/s, no dump", rate / 1e6);
  const auto paced = run(batches, rate, seconds, "");
  print(label, paced, nullptr);
  std::snprintf(label, sizeof label, "%.2gM/s, with dump", rate / 1e6);
  print(label, run(batches, rate, seconds, ring_tool), &paced);
  const auto flat = run(batches, 0, seconds, "");
  print("unthrottled, no dump", flat, nullptr);
  print("unthrottled, with dump", run(batches, 0, seconds, ring_tool), &flat);
  return 0;
}
