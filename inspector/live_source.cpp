// Attaching to a running agent read-only; see live_source.h.
#include "inspector/live_source.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <map>

namespace bucky3::inspector {

namespace {

std::string shm_path(const std::string& instance, std::string_view suffix) {
  return "/dev/shm/" + shm::segment_name(instance, suffix);
}

// The identity of a file: a restarted agent removes its segments and creates
// new ones, so the inode changes even when the name does not.
std::optional<std::pair<dev_t, ino_t>> file_id(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return std::pair{st.st_dev, st.st_ino};
}

}  // namespace

struct LiveSource::Attachment {
  Attachment(shm::HealthBlock block, std::optional<std::pair<dev_t, ino_t>> id)
      : health(std::move(block)), health_id(id) {}
  shm::HealthBlock health;
  std::optional<std::pair<dev_t, ino_t>> health_id;
  struct Destination {
    std::string name;
    shm::DestinationSegment segment;
    std::optional<std::pair<dev_t, ino_t>> id;
  };
  std::vector<Destination> destinations;
  struct Ring {
    std::size_t destination, ring;
    shm::RingObserver observer;
    bool primary;
  };
  std::vector<Ring> rings;  // parallel to rings_
  std::vector<std::string> destination_names;
  std::vector<std::byte> copy;
  shm::DecodedBatch batch;
  // Counters at the previous refresh, for rates.
  std::vector<std::array<std::uint64_t, shm::counter_count>> last_counters;
  std::vector<std::int32_t> last_pids;
  std::vector<shm::DestinationSegment::RingStats> last_ring_stats;
};

LiveSource::LiveSource(std::string instance) : instance_(std::move(instance)) {
  status_ = "looking for instance " + instance_;
}
LiveSource::~LiveSource() = default;

void LiveSource::detach(std::string why) {
  attachment_.reset();
  attached_ = false;
  last_attempt_ms_ = 0;  // look for the new segments at once
  status_ = std::move(why);
}

bool LiveSource::replaced() const {
  if (file_id(shm_path(instance_, "health")) != attachment_->health_id) return true;
  for (const auto& d : attachment_->destinations) {
    if (file_id(shm_path(instance_, d.name)) != d.id) return true;
  }
  // A destination added by a restart with a new config.
  return destination_names(instance_) != attachment_->destination_names;
}

bool LiveSource::try_attach(std::int64_t now_ms) {
  last_attempt_ms_ = now_ms;
  const std::string health_path = shm_path(instance_, "health");
  const auto before = file_id(health_path);
  if (!before) {
    problem_.reset();
    agent_running_ = false;
    status_ = "waiting for instance " + instance_ + ": no " + health_path;
    return false;
  }
  try {
    auto health = shm::HealthBlock::open(instance_, shm::Access::read_only);
    auto attachment = std::make_unique<Attachment>(std::move(health), before);
    attachment->destination_names = destination_names(instance_);
    for (const auto& name : attachment->destination_names) {
      const auto path = shm_path(instance_, name);
      const auto id = file_id(path);
      try {
        attachment->destinations.push_back(
            {name, shm::DestinationSegment::open(instance_, name, shm::Access::read_only), id});
      } catch (const shm::ShmError& e) {
        auto problem = explain_open_error(path, e.what());
        if (problem.state == InstanceState::unreadable ||
            std::string_view(e.what()).find("layout version") != std::string_view::npos) {
          problem_ = problem.state;
          status_ = problem.message;
          return false;
        }
        // Being created right now, or not ours: look again at the next attempt.
        status_ = problem.message;
        return false;
      }
    }
    // Opened between two looks at the same file: not half of a restart.
    if (file_id(health_path) != before) return false;
    rings_.clear();
    std::map<std::string, bool> source_has_primary;
    for (std::size_t d = 0; d < attachment->destinations.size(); ++d) {
      auto& segment = attachment->destinations[d].segment;
      for (std::size_t r = 0; r < segment.ring_count(); ++r) {
        RingView view;
        view.destination = attachment->destinations[d].name;
        view.source = segment.source_name(r);
        const bool primary = !source_has_primary[view.source];
        source_has_primary[view.source] = true;
        attachment->rings.push_back({d, r, shm::RingObserver(segment, r), primary});
        view.stats = segment.ring_stats(r);
        attachment->last_ring_stats.push_back(view.stats);
        rings_.push_back(std::move(view));
      }
    }
    attachment_ = std::move(attachment);
    attached_ = true;
    problem_.reset();
    modules_.clear();
    ++attach_count_;
    last_refresh_ms_ = 0;
    status_ = "attached to " + instance_ + ": " + std::to_string(attachment_->health.slot_count()) +
              " modules, " + std::to_string(attachment_->destinations.size()) +
              " destination segments (read-only)";
    return true;
  } catch (const shm::ShmError& e) {
    auto problem = explain_open_error(health_path, e.what());
    problem_ = problem.state;
    status_ = problem.message;
    return false;
  }
}

void LiveSource::drain(std::int64_t now_ms) {
  if (attached_ && replaced()) detach("instance " + instance_ + " restarted: re-attaching");
  if (!attached_) {
    // A missing or unreadable agent is looked for twice a second, not at every call.
    if (now_ms - last_attempt_ms_ < 500 && last_attempt_ms_ != 0) return;
    if (!try_attach(now_ms)) return;
  }
  auto& a = *attachment_;
  for (std::size_t i = 0; i < a.rings.size(); ++i) {
    auto& ring = a.rings[i];
    // Bounded per call so a flood cannot freeze the window; the observer skips
    // ahead (and counts it) if it falls a whole ring behind.
    for (int n = 0; n < 4096; ++n) {
      const auto result = ring.observer.next(a.copy);
      if (result == shm::RingObserver::Result::none) break;
      if (result == shm::RingObserver::Result::overrun) continue;
      ++records_read_;
      if (shm::decode_batch(a.copy, a.batch)) {
        ++decode_errors_;
        continue;
      }
      if (handler_) handler_(rings_[i], a.batch, a.copy.size(), now_ms, ring.primary);
    }
    rings_[i].observer_overruns = ring.observer.overruns();
  }
}

void LiveSource::refresh(std::int64_t now_ms) {
  if (!attached_) {
    drain(now_ms);
    if (!attached_) return;
  }
  auto& a = *attachment_;
  agent_running_ = file_is_locked(shm_path(instance_, "lock"));
  double dt = last_refresh_ms_ ? (now_ms - last_refresh_ms_) / 1000.0 : 0;
  // Two refreshes a few ms apart (a click, a re-attach) would give wild rates:
  // rates need a quarter second, and the baselines stay until then.
  const bool rates = dt >= 0.25 || last_refresh_ms_ == 0;
  if (!rates) dt = 0;
  const std::size_t slots = a.health.slot_count();
  modules_.resize(slots);
  a.last_counters.resize(slots);
  a.last_pids.resize(slots, 0);
  for (std::size_t s = 0; s < slots; ++s) {
    auto& m = modules_[s];
    m.health = a.health.snapshot(s);
    const auto& c = m.health.counters;
    const auto& last = a.last_counters[s];
    const bool running = m.health.state == shm::ModuleState::running;
    m.uptime_s = running && m.health.start_time_ms ? (now_ms - m.health.start_time_ms) / 1000.0 : 0;
    m.heartbeat_age_s =
        m.health.last_heartbeat_ms ? (now_ms - m.health.last_heartbeat_ms) / 1000.0 : 0;
    m.stale = running && (m.health.last_heartbeat_ms == 0 || m.heartbeat_age_s > stale_after_s);
    // A restarted module starts its counters again: no rate across a pid change.
    if (dt > 0 && m.health.pid == a.last_pids[s]) {
      const auto rate = [&](shm::Counter counter) {
        const auto i = static_cast<std::size_t>(counter);
        return c[i] >= last[i] ? double(c[i] - last[i]) / dt : 0.0;
      };
      const double metrics_in = rate(shm::Counter::metrics_in);
      m.in_per_s = metrics_in > 0 ? metrics_in : rate(shm::Counter::lines_in);
      m.out_per_s = rate(shm::Counter::metrics_out);
      m.cpu_percent = rate(shm::Counter::cpu_ns) / 1e7;
    } else if (rates) {
      m.in_per_s = m.out_per_s = m.cpu_percent = 0;
    }
    if (rates) {
      a.last_counters[s] = c;
      a.last_pids[s] = m.health.pid;
    }
  }
  for (std::size_t i = 0; i < a.rings.size(); ++i) {
    auto& view = rings_[i];
    view.stats = a.destinations[a.rings[i].destination].segment.ring_stats(a.rings[i].ring);
    const auto& last = a.last_ring_stats[i];
    if (dt > 0) {
      view.records_per_s = double(view.stats.records_written - last.records_written) / dt;
      view.bytes_per_s = double(view.stats.bytes_written - last.bytes_written) / dt;
      view.bytes_per_s_history.push_back(view.bytes_per_s);
      while (view.bytes_per_s_history.size() > history_length) view.bytes_per_s_history.pop_front();
    }
    if (rates) a.last_ring_stats[i] = view.stats;
  }
  if (rates) last_refresh_ms_ = now_ms;
  if (!agent_running_) {
    status_ = "instance " + instance_ +
              " is not running (no supervisor holds its lock): showing "
              "what its segments last held; re-attaches when it starts";
  } else {
    status_ = "attached to " + instance_ + ": " + std::to_string(slots) + " modules, " +
              std::to_string(a.destinations.size()) + " destination segments (read-only)";
  }
}

}  // namespace bucky3::inspector
