// remote_write_client module: each ring batch becomes snappy WriteRequests of at most
// max_samples_per_send samples, fanned out to every remote_urls entry through the
// push machinery (exporters/push: per-URL queue, backoff, one request in flight per
// URL, the ring as the buffer). Under `bucky3-ring replay --output` the requests are
// rendered as text into the replay stream instead. docs/REMOTE_WRITE.md.
#include "exporters/remote_write/module.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ostream>

#include "common/log.h"
#include "daemon/runtime/runtime.h"
#include "exporters/push/http_client.h"
#include "exporters/push/push.h"
#include "exporters/remote_write/request_builder.h"

#ifndef BUCKY3_VERSION
#define BUCKY3_VERSION "0.0.0"
#endif

namespace bucky3::remote_write {
namespace {

using runtime::ModuleRuntime;
using shm::Counter;

// What one URL last answered: an HTTP status, 0 for a network error or timeout.
struct UrlState {
  std::string url;
  int last_status = -1;   // -1: nothing sent yet
  bool answered = false;  // the attempt in flight got an HTTP answer
};

// Wraps the HTTP transport to see attempts that ended without an HTTP answer.
class TrackedTransport final : public push::Transport {
 public:
  TrackedTransport(std::unique_ptr<push::HttpTransport> inner, UrlState& state)
      : inner_(std::move(inner)), state_(state) {}
  void send(const push::PayloadPtr& payload, Done done) override {
    state_.answered = false;
    inner_->send(payload, [this, done = std::move(done)](push::Outcome outcome) {
      if (!state_.answered) state_.last_status = 0;
      done(std::move(outcome));
    });
  }
  void close() override { inner_->close(); }
  std::string describe() const override { return inner_->describe(); }

 private:
  std::unique_ptr<push::HttpTransport> inner_;
  UrlState& state_;
};

class RemoteWriteClient {
 public:
  explicit RemoteWriteClient(ModuleRuntime& runtime)
      : runtime_(runtime),
        builder_(builder_options(runtime)),
        pusher_(runtime.io(), push_options(runtime.module()),
                push::PushHooks{[this] { runtime_.resume_consuming(); },
                                [this](Counter c, std::uint64_t n) { runtime_.count(c, n); },
                                [this](std::string_view reason, std::string_view text) {
                                  runtime_.record_error(reason, text);
                                }}) {
    const auto& options = runtime.module().options;
    replay_ = runtime.replay_output();
    if (!replay_) {
      for (const auto& text : options.get_string_list("remote_urls")) add_url(text);
    }
    runtime.consume([this](std::string_view source, const shm::DecodedBatch& batch) {
      if (replay_) {
        encode(batch);
        return true;
      }
      return pusher_.offer(source, [&] { return encode(batch); });
    });
    runtime.on_self_report([this](std::vector<Metric>& metrics) {
      const auto now = RequestBuilder::Clock::now();
      const auto read_time = runtime::wall_clock_ms();
      for (const auto& metric : metrics) builder_.add(metric, read_time, now, requests_);
      builder_.finish(requests_);
      send_untracked();
    });
    runtime.add_self_report_values(
        [this](std::vector<Field>& values) { self_report_values(values); });
    if (!replay_) {
      series_path_ =
          "/dev/shm/bucky3." + runtime.config().instance + "." + runtime.module().name + ".series";
      load_series();
    }
    runtime.on_flush([this](std::int64_t) { on_flush(); });
    runtime.on_stop([this] {
      save_series();
      pusher_.stop();
    });
  }

 private:
  static BuilderOptions builder_options(ModuleRuntime& runtime) {
    const auto& options = runtime.module().options;
    BuilderOptions out;
    out.max_samples_per_send = static_cast<std::size_t>(options.get_int("max_samples_per_send"));
    out.values_timeout = std::chrono::milliseconds(
        static_cast<std::int64_t>(options.get_seconds("values_timeout") * 1000));
    out.keep_uncompressed = runtime.replay_output() != nullptr;
    return out;
  }

  static push::PushOptions push_options(const config::ModuleConfig& module) {
    push::PushOptions out;
    out.buffer_limit = module.buffer_limit;
    return out;
  }

  void add_url(const std::string& text) {
    const auto& options = runtime_.module().options;
    auto url = push::parse_url(text);
    if (!url) throw std::runtime_error("remote_urls: cannot use " + text);  // the config checked it
    push::HttpClientOptions client;
    client.timeout =
        std::chrono::milliseconds(static_cast<std::int64_t>(options.get_seconds("timeout") * 1000));
    // User headers first: the protocol's own come last and win (the config refuses
    // them anyway), so a header map can never change what the body means.
    std::vector<std::pair<std::string, std::string>> headers = options.get_string_map("headers");
    if (options.has("basic_auth")) {
      std::string user, password;
      for (const auto& [key, value] : options.get_string_map("basic_auth")) {
        (key == "username" ? user : password) = value;
      }
      headers.emplace_back("Authorization", "Basic " + base64(user + ":" + password));
    } else if (options.has("bearer_token")) {
      headers.emplace_back("Authorization", "Bearer " + options.get_string("bearer_token"));
    }
    headers.emplace_back("User-Agent", "bucky3/" BUCKY3_VERSION);
    headers.emplace_back("Content-Encoding", "snappy");
    headers.emplace_back("Content-Type", "application/x-protobuf");
    headers.emplace_back("X-Prometheus-Remote-Write-Version", "0.1.0");
    auto& state = *urls_.emplace_back(std::make_unique<UrlState>(UrlState{text}));
    const std::string target = url->target;
    auto build = [target, headers](const push::Payload& payload) {
      push::HttpRequest request;
      request.target = target;
      request.headers = headers;
      request.body = payload.bytes;
      return request;
    };
    auto classify = [this, &state](const push::HttpResponse& response,
                                   const push::Payload& payload) {
      return classify_answer(state, response, payload);
    };
    auto transport = std::make_unique<push::HttpTransport>(
        runtime_.io(), *url, client, std::move(build), std::move(classify), "remote_write " + text);
    pusher_.add_host(std::make_unique<TrackedTransport>(std::move(transport), state));
    log::info("writing to ", text, " (url ", urls_.size() - 1, " in self_report)");
  }

  // The remote write spec: 2xx done; 5xx and 429 retried (Retry-After honoured);
  // any other answer is final, the request dropped and counted by its status.
  push::Outcome classify_answer(UrlState& state, const push::HttpResponse& response,
                                const push::Payload& payload) {
    state.answered = true;
    state.last_status = static_cast<int>(response.status);
    const unsigned status = response.status;
    if (status >= 200 && status < 300) return push::Outcome::ok();
    std::string reason = "HTTP " + std::to_string(status);
    if (!response.body.empty()) {
      reason += ": ";
      reason += std::string_view(response.body).substr(0, 512);
    }
    if (status == 429 || status >= 500) {
      return push::Outcome::retry_after(
          std::move(reason), response.retry_after.value_or(std::chrono::milliseconds(0)));
    }
    drops_by_status_[status] += payload.metrics;
    return push::Outcome::drop(std::move(reason));
  }

  std::vector<push::PayloadPtr> encode(const shm::DecodedBatch& batch) {
    const auto now = RequestBuilder::Clock::now();
    const auto read_time = runtime::wall_clock_ms();
    for (const auto& view : batch.metrics) builder_.add(view, read_time, now, requests_);
    builder_.finish(requests_);
    note_drops();
    return take_payloads();
  }

  std::vector<push::PayloadPtr> take_payloads() {
    std::vector<push::PayloadPtr> payloads;
    // No bytes_in here: the runtime counts the ring bytes it hands us as bytes_in (as
    // for every destination); the protobuf bytes before compression are the
    // `uncompressed_bytes` value. Counting them here too added them to the ring's.
    for (auto& request : requests_) {
      if (replay_) {
        write_replay(request);
        continue;
      }
      payloads.push_back(push::make_payload(std::move(request.body), request.samples));
    }
    requests_.clear();
    return payloads;
  }

  // One request as text (write_request.h, append_text()), after a header line.
  void write_replay(const Request& request) {
    const auto decoded = decode_write_request(request.uncompressed);
    std::string text = "# remote_write request: " + std::to_string(request.samples) + " samples, " +
                       std::to_string(request.uncompressed_bytes) + " bytes, " +
                       std::to_string(request.body.size()) + " compressed\n";
    append_text(text, decoded.series);
    *replay_ << text;
    replay_->flush();
    runtime_.count(Counter::metrics_out, request.samples);
    runtime_.count(Counter::batches_out, 1);
  }

  void send_untracked() {
    auto payloads = take_payloads();
    if (!payloads.empty()) pusher_.send_untracked(std::move(payloads));
  }

  void note_drops() {
    const auto& stats = builder_.stats();
    const auto dropped = stats.drops_duplicate + stats.drops_out_of_order;
    if (dropped > reported_time_drops_) {
      runtime_.count(Counter::drops_other, dropped - reported_time_drops_);
      std::uint64_t suppressed = 0;
      if (time_drop_limiter_.allow(suppressed)) {
        log::warning("dropped points already sent or older than sent for their series: ",
                     stats.drops_duplicate, " duplicate, ", stats.drops_out_of_order,
                     " out of order in total");
      }
      reported_time_drops_ = dropped;
    }
  }

  void on_flush() {
    builder_.add_stale_markers(RequestBuilder::Clock::now(), requests_);
    builder_.finish(requests_);
    send_untracked();
    runtime_.set_level(Counter::series, builder_.stats().series);
    save_series();
  }

  // The live series, kept in /dev/shm/bucky3.<instance>.<module>.series so that a
  // process restarted after a kill -9 sends the markers of the ones that stopped
  // (the supervisor removes the file with the instance's segments). Written at most
  // once per flush tick, only when something changed, as tmp + rename.
  static constexpr std::size_t kMaxSeriesFileBytes = 64u << 20;

  void load_series() {
    const int fd = ::open(series_path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;  // a first start, or the last stop was clean
    std::string bytes;
    char buf[1 << 16];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) {
      bytes.append(buf, static_cast<std::size_t>(n));
      if (bytes.size() > kMaxSeriesFileBytes) break;
    }
    ::close(fd);
    const auto loaded =
        builder_.load(bytes, RequestBuilder::Clock::now(), runtime::wall_clock_ms());
    if (!loaded) {
      log::warning(series_path_, ": not a saved series set (", bytes.size(),
                   " bytes), ignored: no staleness markers for the series of the last process");
      return;
    }
    log::info("restored ", *loaded, " live series from ", series_path_,
              ": those not refreshed within values_timeout get their staleness marker");
  }

  void save_series() {
    if (series_path_.empty()) return;
    RequestBuilder::SaveResult result;
    if (!builder_.save(save_buffer_, RequestBuilder::Clock::now(), runtime::wall_clock_ms(),
                       kMaxSeriesFileBytes, result))
      return;
    if (result.truncated) {
      std::uint64_t suppressed = 0;
      if (series_file_limiter_.allow(suppressed))
        log::warning(series_path_, ": live series past 64 MiB left out (", result.series,
                     " kept): a restart after a kill -9 ends only those");
    }
    const std::string tmp = series_path_ + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0;
    for (std::size_t done = 0; ok && done < save_buffer_.size();) {
      const auto n = ::write(fd, save_buffer_.data() + done, save_buffer_.size() - done);
      if (n < 0 && errno == EINTR) continue;
      ok = n > 0;
      if (ok) done += static_cast<std::size_t>(n);
    }
    if (fd >= 0 && ::close(fd) != 0) ok = false;
    if (ok && ::rename(tmp.c_str(), series_path_.c_str()) != 0) ok = false;
    if (!ok) {
      const std::string why = std::strerror(errno);
      ::unlink(tmp.c_str());
      std::uint64_t suppressed = 0;
      if (series_file_limiter_.allow(suppressed))
        log::warning("cannot write ", series_path_, ": ", why);
    }
  }

  void self_report_values(std::vector<Field>& values) {
    const auto& stats = builder_.stats();
    const auto i64 = [](std::uint64_t v) { return static_cast<std::int64_t>(v); };
    values.push_back({"samples_encoded", i64(stats.samples)});
    values.push_back({"requests_encoded", i64(stats.requests)});
    values.push_back({"uncompressed_bytes", i64(stats.uncompressed_bytes)});
    values.push_back({"compressed_bytes", i64(stats.compressed_bytes)});
    values.push_back({"stale_markers", i64(stats.stale_markers)});
    values.push_back({"drops_duplicate", i64(stats.drops_duplicate)});
    values.push_back({"drops_out_of_order", i64(stats.drops_out_of_order)});
    // No global "retries" here: the runtime reports Counter::retries under that name
    // (the same attempts, kept across restarts); a second "retries" value made two
    // samples of one series in one request.
    for (const auto& [status, samples] : drops_by_status_) {
      values.push_back({"drops_status_" + std::to_string(status), i64(samples)});
    }
    for (std::size_t i = 0; i < urls_.size(); ++i) {
      const auto host = pusher_.host_stats(i);
      const auto prefix = "url" + std::to_string(i) + "_";
      values.push_back({prefix + "last_status", std::int64_t{urls_[i]->last_status}});
      values.push_back({prefix + "requests_sent", i64(host.delivered_payloads)});
      values.push_back({prefix + "samples_sent", i64(host.delivered_metrics)});
      values.push_back({prefix + "retries", i64(host.retries)});
      values.push_back({prefix + "queued_samples", i64(host.queued_metrics)});
    }
  }

  static std::string base64(std::string_view in) {
    static constexpr char table[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
      const auto n = (std::uint32_t(std::uint8_t(in[i])) << 16) |
                     (std::uint32_t(std::uint8_t(in[i + 1])) << 8) | std::uint8_t(in[i + 2]);
      for (int shift : {18, 12, 6, 0}) out.push_back(table[(n >> shift) & 63]);
    }
    if (i < in.size()) {
      std::uint32_t n = std::uint32_t(std::uint8_t(in[i])) << 16;
      if (i + 1 < in.size()) n |= std::uint32_t(std::uint8_t(in[i + 1])) << 8;
      out.push_back(table[(n >> 18) & 63]);
      out.push_back(table[(n >> 12) & 63]);
      out.push_back(i + 1 < in.size() ? table[(n >> 6) & 63] : '=');
      out.push_back('=');
    }
    return out;
  }

  ModuleRuntime& runtime_;
  RequestBuilder builder_;
  push::Pusher pusher_;
  std::ostream* replay_ = nullptr;
  std::vector<std::unique_ptr<UrlState>> urls_;
  std::vector<Request> requests_;
  std::map<unsigned, std::uint64_t> drops_by_status_;  // samples dropped by HTTP status
  std::uint64_t reported_time_drops_ = 0;
  std::string series_path_;  // empty under replay: nothing persisted
  std::string save_buffer_;
  log::RateLimiter series_file_limiter_{1, std::chrono::seconds(60)};
  log::RateLimiter time_drop_limiter_{1, std::chrono::seconds(60)};
};

}  // namespace

int run_remote_write_client(ModuleRuntime& runtime) {
  RemoteWriteClient client(runtime);
  return runtime.run();
}

}  // namespace bucky3::remote_write
