// bucky3-ring replay: runs one destination module in this process on a dump's
// batches, fed through a real ring of a private instance, so it never touches a
// live agent. The feeder thread is the ring's producer; the module runs on the
// main thread's loop exactly as in the agent.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

#include "common/log.h"
#include "daemon/config/config.h"
#include "daemon/modules.h"
#include "daemon/runtime/runtime.h"
#include "shm/batch_codec.h"
#include "shm/dump.h"
#include "shm/tool/tool.h"

namespace bucky3::ring_tool {

namespace {

using Clock = std::chrono::steady_clock;

int open_dump(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Failure("replay: cannot open " + path + ": " + std::strerror(errno));
  return fd;
}

// Replay reads its dump twice (a scan, then the feed), so `-` is first copied
// into an anonymous memory file; returns its /proc/self/fd path (the fd stays open
// for the process's life, which is the replay's).
std::string spool_stdin() {
  const int fd = ::memfd_create("bucky3-ring-replay-stdin", MFD_CLOEXEC);
  if (fd < 0) throw Failure(std::string("replay: cannot buffer stdin: ") + std::strerror(errno));
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Failure(std::string("replay: cannot read stdin: ") + std::strerror(errno));
    }
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(fd, buffer + done, std::size_t(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) throw Failure(std::string("replay: cannot buffer stdin: ") + std::strerror(errno));
      done += w;
    }
  }
  return "/proc/self/fd/" + std::to_string(fd);
}

// What the first pass learns: the sources (ring names), the size of the largest
// batch, the first capture time, and whether the dump is whole.
struct Scan {
  std::vector<std::string> sources;
  std::size_t max_batch_bytes = 0;
  std::uint64_t records = 0;
  std::optional<std::int64_t> first_capture_ms;
  std::string error;  // empty when the dump ended with its trailer
};

Scan scan_dump(const std::string& path) {
  const int fd = open_dump(path);
  shm::dump::FdReader reader(fd);
  shm::dump::Item item;
  Scan scan;
  for (;;) {
    const auto status = reader.next(item);
    if (status == shm::dump::Reader::Status::end) break;
    if (status == shm::dump::Reader::Status::error) {
      scan.error = reader.reader().error();
      break;
    }
    if (const auto* record = std::get_if<shm::dump::Record>(&item)) {
      if (std::find(scan.sources.begin(), scan.sources.end(), record->source) ==
          scan.sources.end()) {
        scan.sources.push_back(record->source);
      }
      scan.max_batch_bytes = std::max(scan.max_batch_bytes, record->batch.size());
      if (!scan.first_capture_ms) scan.first_capture_ms = record->capture_time_ms;
      ++scan.records;
    }
  }
  ::close(fd);
  return scan;
}

// Holds the private instance's lock (so no agent can start under its name while
// we use it) and removes its segments on every way out.
class PrivateInstance {
 public:
  PrivateInstance() : name_("replay_" + std::to_string(::getpid())) {
    const auto lock = shm_path(name_, "lock");
    lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0 || ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      throw Failure("replay: cannot take " + lock + ": " + std::strerror(errno));
    }
  }
  ~PrivateInstance() {
    for (const auto& destination : destinations_of(name_))
      shm::DestinationSegment::remove(name_, destination);
    shm::HealthBlock::remove(name_);
    ::unlink(shm_path(name_, "lock").c_str());
    ::close(lock_fd_);
  }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  int lock_fd_ = -1;
};

// Stamps metrics that have no timestamp with the batch's capture time, so the
// module's output does not depend on when the replay runs.
void stamp(std::int64_t capture_ms, const shm::DecodedBatch& decoded, std::vector<Metric>& metrics,
           std::vector<std::byte>& out) {
  metrics.clear();
  for (const auto& view : decoded.metrics) {
    metrics.push_back(view.to_metric());
    if (!metrics.back().timestamp_ms) metrics.back().timestamp_ms = capture_ms;
  }
  shm::encode_batch(metrics, out);
}

}  // namespace

int run_replay(const std::vector<std::string>& args) {
  const Options options("replay", args, {}, {"--config", "--module", "--speed", "--output"});
  if (options.positional().size() != 1) throw UsageError("replay: give one dump FILE (or -)");
  const auto config_path = options.get("--config");
  const auto module_name = options.get("--module");
  if (!config_path || !module_name) {
    throw UsageError("replay: --config CONFIG and --module NAME are required");
  }
  const double speed = options.number("--speed", true).value_or(1.0);

  config::Config config;
  try {
    config = config::load_config_file(*config_path, daemon::check_module_config);
  } catch (const config::ConfigError& e) {
    throw UsageError(std::string("replay: ") + e.what());
  }
  config::ModuleConfig* module = nullptr;
  for (auto& m : config.modules) {
    if (m.name == *module_name) module = &m;
  }
  if (!module) {
    std::string known;
    for (const auto& m : config.modules) {
      if (m.role == config::ModuleRole::destination) known += (known.empty() ? "" : ", ") + m.name;
    }
    throw UsageError("replay: " + *config_path + " has no module \"" + *module_name +
                     "\" (destinations: " + known + ")");
  }
  if (module->role != config::ModuleRole::destination) {
    throw UsageError("replay: module \"" + *module_name + "\" is a " + module->type +
                     ", a source; replay runs a destination module");
  }
  const auto entry = daemon::find_module_entry(module->type);
  if (!entry)
    throw Failure("replay: module type " + module->type + " is not built into this bucky3-ring");

  const bool from_stdin = options.positional()[0] == "-";
  if (from_stdin && ::isatty(STDIN_FILENO)) {
    throw UsageError("replay: - reads a dump from stdin, which is a terminal");
  }
  const std::string path = from_stdin ? spool_stdin() : options.positional()[0];
  const std::string shown = from_stdin ? "stdin" : path;
  const auto scan = scan_dump(path);
  if (scan.records == 0 && !scan.error.empty())
    throw Failure("replay: " + shown + ": " + scan.error);

  std::ofstream output;
  if (const auto out_path = options.get("--output")) {
    output.open(*out_path, std::ios::binary | std::ios::trunc);
    if (!output) throw Failure("replay: cannot create " + *out_path + ": " + std::strerror(errno));
  }

  // A private instance: the module's segment and health slot are ours alone.
  PrivateInstance instance;
  config.instance = instance.name();
  config.shm_group.reset();
  module->self_report = false;  // its CPU and uptime would make outputs differ run to run
  module->inactive = false;
  const auto sources = scan.sources.empty() ? std::vector<std::string>{"replay"} : scan.sources;
  // Twice the largest batch fits at any position once the module caught up.
  const std::uint64_t ring_size =
      std::max<std::uint64_t>(module->ring_size_bytes, 4 * (scan.max_batch_bytes + 64) + 4096);
  int status = 0;
  try {
    auto health =
        shm::HealthBlock::create(config.instance, {{module->name, module->type}}, std::nullopt);
    auto segment =
        shm::DestinationSegment::create(config.instance, module->name, sources,
                                        {.ring_size_bytes = ring_size, .shm_group = std::nullopt});
    log::init(module->name, module->log_level);
    runtime::ModuleRuntime runtime(config, *module);
    if (output.is_open()) runtime.set_replay_output(&output);

    std::atomic<bool> abort{false};  // relaxed both ways: a lone flag, polled
    std::string feeder_error;        // written by the feeder before it posts the stop
    std::thread feeder([&] {
      try {
        const int fd = open_dump(path);
        shm::dump::FdReader reader(fd);
        std::vector<std::unique_ptr<shm::RingWriter>> writers;
        for (std::size_t i = 0; i < segment.ring_count(); ++i) {
          writers.push_back(std::make_unique<shm::RingWriter>(segment, i));
        }
        const auto drained = [&] {
          for (std::size_t i = 0; i < segment.ring_count(); ++i) {
            const auto stats = segment.ring_stats(i);
            if (stats.read_pos != stats.write_pos) return false;
          }
          return true;
        };
        const auto wait_drained = [&] {
          while (!drained() && !abort.load(std::memory_order_relaxed)) {
            std::this_thread::sleep_for(std::chrono::microseconds(50));
          }
        };
        const auto start = Clock::now();
        shm::dump::Item item;
        shm::DecodedBatch decoded;
        std::vector<Metric> metrics;
        std::vector<std::byte> stamped;
        for (;;) {
          if (abort.load(std::memory_order_relaxed)) break;
          const auto result = reader.next(item);
          if (result != shm::dump::Reader::Status::item) break;  // end, or the error scan saw
          const auto* record = std::get_if<shm::dump::Record>(&item);
          if (!record) continue;
          if (speed > 0) {
            const auto offset = std::chrono::duration<double, std::milli>(
                double(record->capture_time_ms - *scan.first_capture_ms) / speed);
            std::this_thread::sleep_until(start +
                                          std::chrono::duration_cast<Clock::duration>(offset));
          }
          const auto ring = *segment.ring_index(record->source);
          const std::vector<std::byte>* bytes = &record->batch;
          if (!shm::decode_batch(record->batch, decoded)) {
            stamp(record->capture_time_ms, decoded, metrics, stamped);
            bytes = &stamped;
          }
          // One batch at a time: the module takes each before the next is written,
          // so the order across sources is the dump's and outputs are byte-stable.
          wait_drained();
          while (!writers[ring]->try_write(*bytes) && !abort.load(std::memory_order_relaxed)) {
            std::this_thread::sleep_for(std::chrono::microseconds(100));
          }
        }
        ::close(fd);
        wait_drained();
      } catch (const std::exception& e) {
        feeder_error = e.what();
      }
      boost::asio::post(runtime.io(), [&runtime] { runtime.request_stop(); });
    });
    status = entry(runtime);
    abort.store(true, std::memory_order_relaxed);
    feeder.join();
    if (!feeder_error.empty()) throw Failure("replay: " + feeder_error);
  } catch (const shm::ShmError& e) {
    throw Failure(std::string("replay: ") + e.what());
  }
  if (output.is_open()) {
    output.flush();
    if (!output) throw Failure("replay: cannot write " + *options.get("--output"));
  }
  if (!scan.error.empty()) {
    std::cerr << "bucky3-ring: replay: " << shown << ": " << scan.error << " (the " << scan.records
              << " batches before it were replayed)\n";
    return 1;
  }
  return status;
}

}  // namespace bucky3::ring_tool
