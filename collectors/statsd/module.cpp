// statsd_server module. The reader never pauses for a flush: a flush is an O(1)
// rotate of the aggregator, and the finished interval is turned into batches a
// slice at a time, each slice a separate handler on the loop, so datagrams are
// read between slices.
#include "collectors/statsd/module.h"

#include <boost/asio/post.hpp>
#include <deque>

#include "collectors/statsd/aggregator.h"
#include "collectors/statsd/options.h"
#include "collectors/statsd/receiver.h"
#include "common/log.h"
#include "daemon/runtime/runtime.h"

namespace bucky3::statsd {
namespace {

namespace asio = boost::asio;
using runtime::ModuleRuntime;
using shm::Counter;

// Metrics per drain slice: ~1 ms of work, so a slice holds the reader up no
// longer than a flush of a few hundred series would.
constexpr std::size_t kSliceMetrics = 2000;

class StatsdServer {
 public:
  explicit StatsdServer(ModuleRuntime& runtime)
      : runtime_(runtime),
        aggregator_(aggregator_options(runtime.module().options), runtime::wall_clock_ms()),
        receiver_(runtime.io(), receiver_options(runtime.module().options),
                  [this](std::string_view payload) { on_payload(payload); }) {
    receiver_.set_drop_handler([this](std::string_view reason) {
      runtime_.record_recent(reason, "");
      runtime_.count(Counter::drops_other, 1);
    });
    runtime.on_flush([this](std::int64_t now) { flush(now); });
    runtime.on_stop([this] { stop(); });
    runtime.add_self_report_values([this](std::vector<Field>& values) {
      const auto& s = aggregator_.stats();
      values.push_back({"service_checks", static_cast<std::int64_t>(s.service_checks)});
      values.push_back({"events", static_cast<std::int64_t>(s.events)});
      values.push_back({"out_of_window", static_cast<std::int64_t>(s.out_of_window)});
      values.push_back({"kernel_drops", static_cast<std::int64_t>(receiver_.stats().kernel_drops)});
      values.push_back(
          {"socket_buffer_bytes", static_cast<std::int64_t>(receiver_.granted_socket_buffer())});
    });
  }

 private:
  void on_payload(std::string_view payload) {
    aggregator_.add_datagram(
        payload, runtime::wall_clock_ms(), [this](const ParseError& error, std::string_view line) {
          runtime_.record_recent(error.reason, line);
          std::uint64_t suppressed = 0;
          if (invalid_log_.allow(suppressed)) {
            log::warning("skipped line: ", error.reason, " in \"", line.substr(0, 200), '"',
                         suppressed ? " (" + std::to_string(suppressed) + " more not shown)" : "");
          }
        });
  }

  // Health counters grow by the deltas of the receiver's and parser's totals,
  // so a restarted module keeps adding to what the slot already holds.
  void publish_counters() {
    const auto& p = aggregator_.stats();
    const auto& r = receiver_.stats();
    const auto add = [this](Counter c, std::uint64_t now, std::uint64_t& last) {
      if (now > last) runtime_.count(c, now - last);
      last = now;
    };
    add(Counter::lines_in, p.lines, last_.lines);
    add(Counter::lines_invalid, p.invalid, last_.invalid);
    add(Counter::drops_series_cap, p.series_cap_drops, last_.series_cap);
    add(Counter::drops_other, p.out_of_window, last_.out_of_window);
    add(Counter::drops_kernel, r.kernel_drops, last_.kernel);
    add(Counter::bytes_in, r.bytes, last_.bytes);
    add(Counter::metrics_in, p.lines - p.invalid, last_.metrics_in);
  }

  void flush(std::int64_t now_ms) {
    receiver_.refresh_kernel_drops();
    auto interval = aggregator_.rotate(now_ms);
    runtime_.set_level(Counter::series, interval->series());
    if (interval->series_cap_drops() > 0) {
      std::string top;
      for (const auto& [name, count] : interval->top_names(5)) {
        top += (top.empty() ? "" : ", ") + name + " (" + std::to_string(count) + ")";
      }
      log::warning("max_series (", runtime_.module().options.get_int("max_series"),
                   ") reached: ", interval->series_cap_drops(),
                   " lines dropped this interval; most series: ", top);
    }
    publish_counters();
    pending_.push_back(std::move(interval));
    if (!draining_) {
      draining_ = true;
      asio::post(runtime_.io(), [this] { drain_slice(); });
    }
  }

  void drain_slice() {
    if (pending_.empty()) {
      draining_ = false;
      return;
    }
    auto& interval = *pending_.front();
    const bool more = interval.drain(slice_, kSliceMetrics);
    runtime_.send_metrics(slice_, interval.end_ms());
    if (!more) {
      aggregator_.recycle(std::move(pending_.front()));
      pending_.pop_front();
    }
    asio::post(runtime_.io(), [this] { drain_slice(); });
  }

  void stop() {
    // Everything received so far goes out before the process exits, datagrams
    // still queued in the socket included.
    receiver_.drain();
    flush(runtime::wall_clock_ms());
    while (!pending_.empty()) {
      auto& interval = *pending_.front();
      const bool more = interval.drain(slice_, kSliceMetrics);
      runtime_.send_metrics(slice_, interval.end_ms());
      if (!more) pending_.pop_front();
    }
    receiver_.close();
  }

  ModuleRuntime& runtime_;
  Aggregator aggregator_;
  Receiver receiver_;
  std::deque<std::unique_ptr<Aggregator::Interval>> pending_;
  std::vector<Metric> slice_;
  bool draining_ = false;
  log::RateLimiter invalid_log_{5, std::chrono::seconds(10)};
  struct {
    std::uint64_t lines = 0, invalid = 0, series_cap = 0, out_of_window = 0, kernel = 0, bytes = 0,
                  metrics_in = 0;
  } last_;
};

}  // namespace

void check_statsd_server(const config::ModuleConfig& module) {
  histogram_bin_rules(module.options);
}

int run_statsd_server(ModuleRuntime& runtime) {
  StatsdServer server(runtime);
  return runtime.run();
}

}  // namespace bucky3::statsd
