// bucky3-ring: options, opening segments with clear errors, the ring observer set.
#include <dirent.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <iostream>
#include <thread>
#include <tuple>

#include "shm/tool/tool.h"

namespace bucky3::ring_tool {

Options::Options(std::string_view command, const std::vector<std::string>& args,
                 const std::set<std::string>& flags, const std::set<std::string>& valued)
    : command_(command) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& arg = args[i];
    if (arg.size() < 2 || arg[0] != '-') {
      positional_.push_back(arg);
      continue;
    }
    std::string name = arg, value;
    bool inline_value = false;
    if (const auto eq = arg.find('='); eq != std::string::npos && arg.starts_with("--")) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      inline_value = true;
    }
    if (flags.count(name)) {
      if (inline_value) throw UsageError(command_ + ": " + name + " takes no value");
      values_[name] = "";
    } else if (valued.count(name)) {
      if (!inline_value) {
        if (i + 1 >= args.size()) throw UsageError(command_ + ": " + name + " needs a value");
        value = args[++i];
      }
      values_[name] = value;
    } else {
      throw UsageError(command_ + ": unknown option " + name +
                       " (bucky3-ring --help lists the options)");
    }
  }
}

std::optional<std::string> Options::get(const std::string& name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::optional<double> Options::number(const std::string& name, bool allow_zero) const {
  const auto text = get(name);
  if (!text) return std::nullopt;
  double value = 0;
  const auto* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc{} || ptr != end || !(value > 0 || (allow_zero && value == 0)) ||
      value > 1e15) {
    throw UsageError(command_ + ": " + name + " needs a number " + (allow_zero ? ">= 0" : "> 0") +
                     ", got \"" + *text + "\"");
  }
  return value;
}

std::string shm_path(std::string_view instance, std::string_view suffix) {
  return "/dev/shm/" + shm::segment_name(instance, suffix);
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

std::string owner_of(const struct stat& st) {
  const passwd* user = ::getpwuid(st.st_uid);
  const group* grp = ::getgrgid(st.st_gid);
  return (user ? std::string(user->pw_name) : std::to_string(st.st_uid)) + ":" +
         (grp ? std::string(grp->gr_name) : std::to_string(st.st_gid));
}

std::string mode_of(const struct stat& st) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return buf;
}

// Says why `path` cannot be opened before Boost gives a less helpful message.
void check_openable(const std::string& path, const std::string& instance, bool health) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      if (health) {
        throw Failure("no such instance \"" + instance + "\": " + path +
                      " does not exist (is the agent running? `bucky3-ring list` shows the "
                      "instances on this host)");
      }
      throw Failure("no such ring: " + path + " does not exist (`bucky3-ring list --instance " +
                    instance + "` shows the destinations)");
    }
    throw Failure(path + ": " + std::strerror(errno));
  }
  if (::access(path.c_str(), R_OK) != 0 && errno == EACCES) {
    const group* grp = ::getgrgid(st.st_gid);
    const std::string group_name = grp ? grp->gr_name : std::to_string(st.st_gid);
    const std::string hint =
        (st.st_mode & S_IRGRP)
            ? "run it as a member of group \"" + group_name + "\" (the agent's shm_group)"
            : "set `shm_group: <group>` in the agent's config (segments become 0640 with that "
              "group) and run it as a member of that group";
    throw Failure("permission denied: " + path + " is mode " + mode_of(st) + ", owned by " +
                  owner_of(st) + "; to read it as another user, " + hint);
  }
}

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int) {
  // relaxed: a lone flag; the main loop polls it and needs no other data from here.
  g_stop.store(true, std::memory_order_relaxed);
}

}  // namespace

shm::HealthBlock open_health(const std::string& instance) {
  const auto path = shm_path(instance, "health");
  check_openable(path, instance, true);
  try {
    return shm::HealthBlock::open(instance, shm::Access::read_only);
  } catch (const shm::ShmError& e) {
    throw Failure(e.what());
  }
}

shm::DestinationSegment open_destination(const std::string& instance,
                                         const std::string& destination) {
  check_openable(shm_path(instance, "health"), instance, true);
  check_openable(shm_path(instance, destination), instance, false);
  try {
    return shm::DestinationSegment::open(instance, destination, shm::Access::read_only);
  } catch (const shm::ShmError& e) {
    throw Failure(e.what());
  }
}

std::vector<std::string> destinations_of(const std::string& instance) {
  std::vector<std::string> out;
  const std::string prefix = "bucky3." + instance + ".";
  if (DIR* dir = ::opendir("/dev/shm")) {
    while (const dirent* entry = ::readdir(dir)) {
      const std::string name = entry->d_name;
      if (!name.starts_with(prefix)) continue;
      const auto suffix = name.substr(prefix.size());
      if (suffix.empty() || suffix == "health" || suffix == "lock" ||
          suffix.find('.') != std::string::npos) {
        continue;
      }
      out.push_back(suffix);
    }
    ::closedir(dir);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void install_stop_signals() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  ::signal(SIGPIPE, SIG_IGN);  // a closed pipe becomes a write error we report
}

// relaxed: see on_stop_signal().
bool stop_requested() {
  return g_stop.load(std::memory_order_relaxed);
}

// ---------------------------------------------------------------- RingSet

struct RingSet::State {
  std::string destination, source;
  const shm::DestinationSegment* segment;
  std::size_t index;
  shm::RingObserver observer;
  // records_written when we started, plus what we returned and what we counted
  // missed: the difference to records_written now is what an overrun skipped.
  std::uint64_t accounted;
};

// One mapped segment and the file it came from, to notice a recreated one.
struct RingSet::Segment {
  std::string destination;
  std::unique_ptr<shm::DestinationSegment> mapping;
  dev_t device = 0;
  ino_t inode = 0;
  bool gone = false;  // the file was removed (said once on stderr)
};

namespace {

std::optional<std::pair<dev_t, ino_t>> file_identity(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return std::make_pair(st.st_dev, st.st_ino);
}

// Maps destination segment `name` read-only if /dev/shm still holds the file
// `identity` names once it is mapped; nullptr while it is being created (magic not
// stored yet), not ours to read, or replaced in between: the next check retries.
std::unique_ptr<shm::DestinationSegment> open_if_still(const std::string& instance,
                                                       const std::string& name,
                                                       const std::pair<dev_t, ino_t>& identity) {
  std::unique_ptr<shm::DestinationSegment> segment;
  try {
    segment = std::make_unique<shm::DestinationSegment>(
        shm::DestinationSegment::open(instance, name, shm::Access::read_only));
  } catch (const shm::ShmError&) {
    return nullptr;
  }
  if (file_identity(shm_path(instance, name)) != identity) return nullptr;
  return segment;
}

}  // namespace

void RingSet::add_rings(Segment& entry) {
  const auto& segment = *entry.mapping;
  for (std::size_t i = 0; i < segment.ring_count(); ++i) {
    const std::string ring_source(segment.source_name(i));
    if (source_ && ring_source != *source_) continue;
    rings_.push_back(std::make_unique<State>(
        State{entry.destination, ring_source, &segment, i, shm::RingObserver(segment, i), 0}));
    // After the observer took its start position: records_written may lag it
    // by one record, which only makes the first missed count one too high.
    rings_.back()->accounted = segment.ring_stats(i).records_written;
  }
}

RingSet::RingSet(const std::string& instance, const std::optional<std::string>& destination,
                 const std::optional<std::string>& source, std::string command)
    : instance_(instance),
      command_(std::move(command)),
      all_destinations_(!destination),
      source_(source) {
  std::vector<std::string> destinations;
  if (destination) {
    destinations.push_back(*destination);
  } else {
    open_health(instance);  // "no such instance" before "no rings"
    destinations = destinations_of(instance);
    if (destinations.empty()) {
      throw Failure("instance \"" + instance + "\" has no destination segments");
    }
  }
  for (const auto& name : destinations) {
    auto entry = std::make_unique<Segment>();
    entry->destination = name;
    // The file's identity before the open: if it is replaced in between, the
    // first check re-opens the new one (and counts what it holds as missed).
    const auto identity = file_identity(shm_path(instance, name));
    entry->mapping = std::make_unique<shm::DestinationSegment>(open_destination(instance, name));
    if (identity) std::tie(entry->device, entry->inode) = *identity;
    add_rings(*entry);
    segments_.push_back(std::move(entry));
  }
  if (rings_.empty()) {
    std::string known;
    for (const auto& segment : segments_) {
      for (std::size_t i = 0; i < segment->mapping->ring_count(); ++i) {
        known += (known.empty() ? "" : ", ") + std::string(segment->mapping->source_name(i));
      }
    }
    throw Failure("no ring of " + (destination ? *destination : std::string("any destination")) +
                  " has source \"" + source.value_or("") + "\" (sources: " + known + ")");
  }
  next_check_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
}

RingSet::~RingSet() = default;

std::vector<RingSet::Ring> RingSet::rings() const {
  std::vector<Ring> out;
  for (const auto& ring : rings_) out.push_back({ring->destination, ring->source});
  return out;
}

std::string RingSet::follow_from_now(Segment& entry, const Handlers& handlers,
                                     std::string_view opened) {
  const auto first = rings_.size();
  add_rings(entry);
  std::uint64_t missed = 0;
  for (auto i = first; i < rings_.size(); ++i) {
    const auto& ring = *rings_[i];
    missed += ring.accounted;
    if (handlers.reopened) {
      handlers.reopened(ring.destination, ring.source, ring.accounted,
                        ring.segment->ring_stats(ring.index).bytes_written);
    }
  }
  std::string said;
  if (rings_.size() == first) said = ", which has no ring of source " + source_.value_or("");
  return said + "; " + std::to_string(missed) + " records published before it was " +
         std::string(opened) + " are missed";
}

void RingSet::check_recreated(const Handlers& handlers) {
  for (auto& entry : segments_) {
    const auto path = shm_path(instance_, entry->destination);
    const auto identity = file_identity(path);
    if (!identity) {
      if (!entry->gone) {
        std::cerr << "bucky3-ring: " << command_ << ": " << path
                  << " was removed (agent stopped?); waiting for it to come back\n";
        entry->gone = true;
      }
      continue;
    }
    if (identity->first == entry->device && identity->second == entry->inode) continue;
    auto fresh = open_if_still(instance_, entry->destination, *identity);
    if (!fresh) continue;
    // What the old segment still holds (its producers are gone) comes first.
    while (poll_rings(handlers, SIZE_MAX, entry.get()) > 0) {
    }
    std::erase_if(rings_, [&](const auto& ring) { return ring->segment == entry->mapping.get(); });
    entry->mapping = std::move(fresh);
    std::tie(entry->device, entry->inode) = *identity;
    entry->gone = false;
    ++reopens_;
    std::cerr << "bucky3-ring: " << command_ << ": " << path
              << " was recreated (agent restarted): following the new segment"
              << follow_from_now(*entry, handlers, "re-opened") << '\n';
  }
}

void RingSet::check_new_destinations(const Handlers& handlers) {
  for (const auto& name : destinations_of(instance_)) {
    if (std::any_of(segments_.begin(), segments_.end(),
                    [&](const auto& entry) { return entry->destination == name; })) {
      continue;
    }
    const auto path = shm_path(instance_, name);
    const auto identity = file_identity(path);
    if (!identity) continue;
    auto mapping = open_if_still(instance_, name, *identity);
    if (!mapping) continue;
    auto entry = std::make_unique<Segment>();
    entry->destination = name;
    entry->mapping = std::move(mapping);
    std::tie(entry->device, entry->inode) = *identity;
    std::cerr << "bucky3-ring: " << command_ << ": " << path
              << " is a new destination (agent restarted with another config?): following it"
              << follow_from_now(*entry, handlers, "opened") << '\n';
    segments_.push_back(std::move(entry));
  }
}

std::size_t RingSet::poll(const Handlers& handlers, std::size_t limit) {
  const auto now = std::chrono::steady_clock::now();
  if (now >= next_check_) {
    next_check_ = now + std::chrono::milliseconds(200);
    check_recreated(handlers);
    if (all_destinations_) check_new_destinations(handlers);
  }
  return poll_rings(handlers, limit, nullptr);
}

std::size_t RingSet::poll_rings(const Handlers& handlers, std::size_t limit, const Segment* only) {
  std::size_t handled = 0;
  bool progress = true;
  // Round-robin, a record at a time, so the output interleaves sources by time.
  while (progress && handled < limit) {
    progress = false;
    for (auto& ring : rings_) {
      if (handled >= limit) break;
      if (only && ring->segment != only->mapping.get()) continue;
      const auto before = ring->observer.position();
      const auto result = ring->observer.next(copy_);
      if (result == shm::RingObserver::Result::record) {
        ++ring->accounted;
        ++handled;
        progress = true;
        if (handlers.record) handlers.record(ring->destination, ring->source, copy_);
      } else if (result == shm::RingObserver::Result::overrun) {
        const auto written = ring->segment->ring_stats(ring->index).records_written;
        // records_written is bumped just after write_pos: it can lag by one, so
        // the count is a lower bound that the next overrun completes.
        const auto missed = written > ring->accounted ? written - ring->accounted : 0;
        ring->accounted += missed;
        progress = true;
        if (handlers.missed) {
          handlers.missed(ring->destination, ring->source, missed,
                          ring->observer.position() - before);
        }
      }
    }
  }
  return handled;
}

void RingSet::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline && !stop_requested()) {
    for (const auto& ring : rings_) {
      if (ring->segment->ring_stats(ring->index).write_pos != ring->observer.position()) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace bucky3::ring_tool
