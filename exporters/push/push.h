// Shared push machinery of the destinations that send to remote backends
// (influxdb_client, carbon_client, remote_write_client): per-host queues,
// backoff, buffer_limit, and the rule that a batch leaves its ring only once it
// is delivered. Transports live in udp.h, tcp.h and http_client.h. docs/PUSH.md.
#pragma once
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "shm/health.h"

namespace bucky3::push {

// One unit sent to one host: a UDP datagram, a write on a TCP stream, the body
// of one HTTP request (before any gzip). Shared by every host: encoded once.
struct Payload {
  std::string bytes;
  std::size_t metrics = 0;  // metrics it carries, for counters and buffer_limit
};
using PayloadPtr = std::shared_ptr<const Payload>;
PayloadPtr make_payload(std::string bytes, std::size_t metrics);

// What a transport (or a module's answer classifier) says about one attempt.
struct Outcome {
  enum class Kind {
    delivered,  // the backend took it
    dropped,    // never retried (e.g. HTTP 400): counted in drops_other, reason logged
    retry,      // send it again after the host's backoff (or `wait`, when longer)
    split,      // send `parts` instead (HTTP 413), in order
  };
  Kind kind = Kind::delivered;
  std::chrono::milliseconds wait{0};  // retry: at least this long (Retry-After)
  bool slow = false;                  // retry: wait the backoff's maximum (401/403)
  bool log_once = false;              // retry: log `reason` once per run, not each time
  std::string reason;                 // retry, dropped: for the log and the health errors
  std::vector<PayloadPtr> parts;      // split
  bool setup_again = false;           // retry: the transport redoes its setup first (HTTP)

  static Outcome ok() { return {}; }
  static Outcome retry_after(std::string reason, std::chrono::milliseconds wait = {});
  static Outcome drop(std::string reason);
};

// One connection (or socket) to one host. Single-threaded: every call and
// every callback runs on the module's io_context.
class Transport {
 public:
  using Done = std::function<void(Outcome)>;
  virtual ~Transport() = default;
  // Sends one payload; calls `done` exactly once (possibly before returning,
  // e.g. UDP). At most one send is outstanding per transport.
  virtual void send(const PayloadPtr& payload, Done done) = 0;
  // Closes any connection; a send outstanding completes with a retry.
  virtual void close() = 0;
  // "carbon 127.0.0.1:2003", for logs.
  virtual std::string describe() const = 0;
};

// Doubling delays with jitter: 0.1 s, 0.2 s, ... up to 10 s, each ±20 %.
class Backoff {
 public:
  Backoff(std::chrono::milliseconds first, std::chrono::milliseconds max, double jitter,
          std::uint64_t seed);
  std::chrono::milliseconds next();  // the delay to wait now; the following one doubles
  std::chrono::milliseconds max_delay() const { return max_; }
  void reset() { current_ = first_; }

 private:
  std::chrono::milliseconds first_, max_, current_;
  double jitter_;
  std::mt19937_64 rng_;
};

struct PushOptions {
  std::size_t buffer_limit = 10000;  // metrics queued per host beyond the ring
  std::chrono::milliseconds backoff_first{100};
  std::chrono::milliseconds backoff_max{10000};
  double jitter = 0.2;
};

// Where the pusher reports: the module wires these to its ModuleRuntime.
struct PushHooks {
  std::function<void()> resume;  // runtime.resume_consuming()
  std::function<void(shm::Counter, std::uint64_t)> count;
  std::function<void(std::string_view reason, std::string_view text)> error;  // record_error
};

struct HostStats {
  std::size_t queued_payloads = 0, queued_metrics = 0;
  bool up = false;  // from a delivery to the next failed attempt
  std::uint64_t delivered_payloads = 0, delivered_metrics = 0, retries = 0;
};

// Fans every batch out to every host. A batch leaves its ring (offer() returns
// true) once each host has delivered it or dropped it (counted), except that a
// host that is down while another host is up keeps its copy in its own queue
// (at most buffer_limit metrics; past it the oldest half is dropped and counted)
// so one dead host does not stall the others. When every host is down, the
// batch stays in the ring: the ring is the buffer, and a kill -9 loses nothing.
class Pusher {
 public:
  Pusher(boost::asio::io_context& io, PushOptions options, PushHooks hooks);
  ~Pusher();
  Pusher(const Pusher&) = delete;
  Pusher& operator=(const Pusher&) = delete;

  void add_host(std::unique_ptr<Transport> transport);
  std::size_t host_count() const { return hosts_.size(); }

  // The runtime's batch handler calls this for each batch it presents. The
  // runtime presents a batch again after a false, until true; `encode` runs
  // once per batch (not on the repeats) and returns the payloads to send, in
  // order (empty: nothing to send, the batch leaves the ring). `source` names
  // the ring: the runtime presents the head of each ring until it is taken.
  // After a false, hooks.resume runs once the batch may leave.
  bool offer(std::string_view source, const std::function<std::vector<PayloadPtr>()>& encode);

  // Sends without holding any ring (self_report): delivered on a best-effort basis.
  void send_untracked(std::vector<PayloadPtr> payloads);

  // Closes every transport and cancels timers; queued payloads are given up
  // (what they came from is still in the ring, unless released to another host).
  void stop();

  HostStats host_stats(std::size_t host) const;
  std::uint64_t retries() const { return retries_; }

 private:
  struct Ticket;
  struct Host;
  struct Entry {
    PayloadPtr payload;
    std::shared_ptr<Ticket> ticket;  // nullptr: no ring waits for this entry
  };
  void pump(Host& host);
  void on_outcome(Host& host, Outcome outcome);
  void release(Entry& entry);
  void release_stranded();
  void enforce_limit(Host& host);
  bool any_host_up() const;

  boost::asio::io_context& io_;
  PushOptions options_;
  PushHooks hooks_;
  std::vector<std::unique_ptr<Host>> hosts_;
  std::map<std::string, std::shared_ptr<Ticket>, std::less<>> tickets_;  // by source ring
  bool resume_wanted_ = false;  // offer() returned false since the last resume
  bool stopped_ = false;
  std::uint64_t retries_ = 0;
};

}  // namespace bucky3::push
