// Per-host queues, backoff and ring hold-back of the push destinations; see push.h.
#include <boost/asio/post.hpp>
#include <set>

#include "common/log.h"
#include "exporters/push/push.h"

namespace bucky3::push {

namespace asio = boost::asio;
using std::chrono::milliseconds;

PayloadPtr make_payload(std::string bytes, std::size_t metrics) {
  auto payload = std::make_shared<Payload>();
  payload->bytes = std::move(bytes);
  payload->metrics = metrics;
  return payload;
}

Outcome Outcome::retry_after(std::string reason, milliseconds wait) {
  Outcome out;
  out.kind = Kind::retry;
  out.reason = std::move(reason);
  out.wait = wait;
  return out;
}

Outcome Outcome::drop(std::string reason) {
  Outcome out;
  out.kind = Kind::dropped;
  out.reason = std::move(reason);
  return out;
}

Backoff::Backoff(milliseconds first, milliseconds max, double jitter, std::uint64_t seed)
    : first_(first), max_(max), current_(first), jitter_(jitter), rng_(seed) {}

milliseconds Backoff::next() {
  std::uniform_real_distribution<double> spread(1.0 - jitter_, 1.0 + jitter_);
  const auto delay =
      milliseconds(static_cast<std::int64_t>(static_cast<double>(current_.count()) * spread(rng_)));
  current_ = std::min(max_, current_ * 2);
  return std::max(milliseconds(1), delay);
}

// Outstanding (host, payload) pairs of one batch; the batch may leave its ring at 0.
struct Pusher::Ticket {
  std::size_t outstanding = 0;
};

struct Pusher::Host {
  Host(asio::io_context& io, std::unique_ptr<Transport> t, const PushOptions& options,
       std::uint64_t seed)
      : transport(std::move(t)),
        backoff(options.backoff_first, options.backoff_max, options.jitter, seed),
        timer(io) {}
  std::unique_ptr<Transport> transport;
  std::deque<Entry> queue;
  std::size_t queued_metrics = 0;
  std::size_t released_metrics = 0;  // of queued_metrics, what no ring holds any more
  bool sending = false;              // a send is outstanding
  bool waiting = false;              // the backoff timer is armed
  bool pumping = false;              // inside pump(): completions only record
  // Up from a delivery to the next failure. Not up before its first delivery:
  // a host never heard from does not count as live for release_stranded().
  bool up = false;
  bool failed_before = false;
  Backoff backoff;
  asio::steady_timer timer;
  std::uint64_t delivered = 0, delivered_metrics = 0, retries = 0;
  std::set<std::string> logged_once;
  log::RateLimiter limiter{5, std::chrono::seconds(10)};
};

Pusher::Pusher(asio::io_context& io, PushOptions options, PushHooks hooks)
    : io_(io), options_(options), hooks_(std::move(hooks)) {}

Pusher::~Pusher() {
  stop();
}

void Pusher::add_host(std::unique_ptr<Transport> transport) {
  // Jitter seeds differ per host, so hosts that failed together do not retry in step.
  hosts_.push_back(std::make_unique<Host>(io_, std::move(transport), options_,
                                          std::random_device{}() + hosts_.size()));
}

bool Pusher::any_host_up() const {
  for (const auto& host : hosts_) {
    if (host->up) return true;
  }
  return false;
}

void Pusher::release(Entry& entry) {
  if (!entry.ticket) return;
  auto ticket = std::move(entry.ticket);
  entry.ticket = nullptr;
  if (--ticket->outstanding == 0 && resume_wanted_) {
    resume_wanted_ = false;
    // Posted: the runtime marks itself paused only after our handler returned false.
    if (hooks_.resume) asio::post(io_, hooks_.resume);
  }
}

void Pusher::release_stranded() {
  // A down host keeps its copies in memory while another host is up, so the
  // others go on; with every host down, the ring holds everything.
  if (!any_host_up()) return;
  for (auto& host : hosts_) {
    if (host->up) continue;
    for (auto& entry : host->queue) {
      if (!entry.ticket) continue;
      host->released_metrics += entry.payload->metrics;
      release(entry);
    }
    enforce_limit(*host);
  }
}

void Pusher::enforce_limit(Host& host) {
  if (host.released_metrics <= options_.buffer_limit) return;
  // Oldest first, down to half the limit; the entry being sent stays.
  std::size_t dropped = 0;
  auto it = host.queue.begin();
  if (host.sending && it != host.queue.end()) ++it;
  while (it != host.queue.end() && host.released_metrics > options_.buffer_limit / 2) {
    if (it->ticket) {
      ++it;
      continue;
    }
    const auto metrics = it->payload->metrics;
    host.released_metrics -= metrics;
    host.queued_metrics -= metrics;
    dropped += metrics;
    it = host.queue.erase(it);
  }
  if (dropped == 0) return;
  if (hooks_.count) hooks_.count(shm::Counter::drops_buffer, dropped);
  std::uint64_t suppressed = 0;
  if (host.limiter.allow(suppressed)) {
    log::warning(host.transport->describe(), ": buffer_limit ", options_.buffer_limit,
                 " reached, dropped the oldest ", dropped, " metrics");
  }
}

bool Pusher::offer(std::string_view source,
                   const std::function<std::vector<PayloadPtr>()>& encode) {
  if (stopped_) return false;
  if (auto it = tickets_.find(source); it != tickets_.end()) {
    if (it->second->outstanding == 0) {
      tickets_.erase(it);
      return true;
    }
    resume_wanted_ = true;
    return false;
  }
  auto payloads = encode();
  if (payloads.empty() || hosts_.empty()) return true;
  auto ticket = std::make_shared<Ticket>();
  for (auto& host : hosts_) {
    for (const auto& payload : payloads) {
      host->queue.push_back({payload, ticket});
      host->queued_metrics += payload->metrics;
      ++ticket->outstanding;
    }
  }
  release_stranded();
  for (auto& host : hosts_) pump(*host);
  if (ticket->outstanding == 0) return true;  // delivered at once (UDP) or released
  tickets_.emplace(std::string(source), std::move(ticket));
  resume_wanted_ = true;
  return false;
}

void Pusher::send_untracked(std::vector<PayloadPtr> payloads) {
  if (stopped_) return;
  for (auto& host : hosts_) {
    for (const auto& payload : payloads) {
      host->queue.push_back({payload, nullptr});
      host->queued_metrics += payload->metrics;
      host->released_metrics += payload->metrics;
    }
    enforce_limit(*host);
    pump(*host);
  }
}

void Pusher::pump(Host& host) {
  if (host.pumping) return;
  host.pumping = true;
  while (!stopped_ && !host.sending && !host.waiting && !host.queue.empty()) {
    host.sending = true;
    const PayloadPtr payload = host.queue.front().payload;
    host.transport->send(payload, [this, &host](Outcome outcome) {
      host.sending = false;
      on_outcome(host, std::move(outcome));
    });
  }
  host.pumping = false;
}

void Pusher::on_outcome(Host& host, Outcome outcome) {
  if (stopped_ || host.queue.empty()) return;
  Entry& front = host.queue.front();
  const auto metrics = front.payload->metrics;
  const auto pop_front = [&] {
    host.queued_metrics -= metrics;
    if (!front.ticket) host.released_metrics -= metrics;
    release(front);
    host.queue.pop_front();
  };
  switch (outcome.kind) {
    case Outcome::Kind::delivered: {
      const bool was_down = !host.up;
      const bool recovered = host.failed_before && was_down;
      host.up = true;
      host.backoff.reset();
      ++host.delivered;
      host.delivered_metrics += metrics;
      if (hooks_.count) {
        hooks_.count(shm::Counter::metrics_out, metrics);
        hooks_.count(shm::Counter::batches_out, 1);
        hooks_.count(shm::Counter::bytes_out, front.payload->bytes.size());
      }
      pop_front();
      if (recovered) log::info(host.transport->describe(), ": delivering again");
      if (was_down) release_stranded();
      break;
    }
    case Outcome::Kind::dropped: {
      if (hooks_.count) hooks_.count(shm::Counter::drops_other, metrics);
      if (hooks_.error) hooks_.error("payload dropped", outcome.reason);
      std::uint64_t suppressed = 0;
      if (host.limiter.allow(suppressed)) {
        log::error(host.transport->describe(), ": dropped ", metrics, " metrics: ", outcome.reason);
      }
      pop_front();
      break;
    }
    case Outcome::Kind::split: {
      if (outcome.parts.empty()) {
        pop_front();
        break;
      }
      Entry old = std::move(front);
      host.queue.pop_front();
      host.queued_metrics -= metrics;
      if (!old.ticket) host.released_metrics -= metrics;
      for (auto it = outcome.parts.rbegin(); it != outcome.parts.rend(); ++it) {
        host.queue.push_front({*it, old.ticket});
        host.queued_metrics += (*it)->metrics;
        if (old.ticket) {
          ++old.ticket->outstanding;
        } else {
          host.released_metrics += (*it)->metrics;
        }
      }
      release(old);  // its parts now hold the ticket
      break;
    }
    case Outcome::Kind::retry: {
      ++host.retries;
      ++retries_;
      if (hooks_.count) hooks_.count(shm::Counter::retries, 1);
      const bool went_down = host.up || !host.failed_before;
      host.up = false;
      host.failed_before = true;
      auto delay = outcome.slow ? host.backoff.max_delay() : host.backoff.next();
      delay = std::max(delay, outcome.wait);
      const bool first_time = host.logged_once.insert(outcome.reason).second;
      std::uint64_t suppressed = 0;
      if (outcome.log_once ? first_time
                           : (went_down || first_time) && host.limiter.allow(suppressed)) {
        log::warning(host.transport->describe(), ": ", outcome.reason, "; retrying in ",
                     delay.count(), " ms");
        if (hooks_.error)
          hooks_.error("push failed", host.transport->describe() + ": " + outcome.reason);
      }
      if (!outcome.log_once) host.logged_once.erase(outcome.reason);
      host.waiting = true;
      host.timer.expires_after(delay);
      host.timer.async_wait([this, &host](const boost::system::error_code& ec) {
        if (ec || stopped_) return;
        host.waiting = false;
        pump(host);
      });
      if (went_down) release_stranded();
      break;
    }
  }
  pump(host);
}

void Pusher::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& host : hosts_) {
    host->timer.cancel();
    host->transport->close();
  }
}

HostStats Pusher::host_stats(std::size_t index) const {
  const Host& host = *hosts_.at(index);
  HostStats stats;
  stats.queued_payloads = host.queue.size();
  stats.queued_metrics = host.queued_metrics;
  stats.up = host.up;
  stats.delivered_payloads = host.delivered;
  stats.delivered_metrics = host.delivered_metrics;
  stats.retries = host.retries;
  return stats;
}

}  // namespace bucky3::push
