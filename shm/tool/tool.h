// bucky3-ring: what the subcommands share (options, errors, opening an
// instance's segments read-only, following rings as an observer).
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "shm/health.h"
#include "shm/segment.h"

namespace bucky3::ring_tool {

// Exit 2: the command line is wrong. The message says what to type instead.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Exit 1: no such instance, permission denied, other layout version, a bad dump...
struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "--name value", "--name=value", bare flags and positionals.
class Options {
 public:
  // `flags` take no value, `valued` take one; anything else starting with '-' is
  // a UsageError naming the command. "-" alone is a positional (stdin/stdout).
  Options(std::string_view command, const std::vector<std::string>& args,
          const std::set<std::string>& flags, const std::set<std::string>& valued);
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::optional<std::string> get(const std::string& name) const;
  std::string instance() const { return get("--instance").value_or("default"); }
  // A number > 0 (or >= 0 with allow_zero); UsageError otherwise.
  std::optional<double> number(const std::string& name, bool allow_zero = false) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::string command_;
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

std::string shm_path(std::string_view instance, std::string_view suffix);  // /dev/shm/bucky3.I.S
std::int64_t now_ms();

// Open read-only, or throw Failure with a message for each cause: no such
// instance (or ring), permission denied (with the mode and owner, and the
// shm_group hint), another layout version, a damaged segment.
shm::HealthBlock open_health(const std::string& instance);
shm::DestinationSegment open_destination(const std::string& instance,
                                         const std::string& destination);
// Destination names of an instance, from the segments in /dev/shm (sorted).
std::vector<std::string> destinations_of(const std::string& instance);

// SIGINT/SIGTERM set a flag instead of killing us, so a capture closes its file.
void install_stop_signals();
bool stop_requested();

// Follows rings read-only (RingObserver) from their current write position, and
// counts what the producer overwrote before we copied it. Notices a segment that
// the agent recreated (a restart: same name, another file) and follows the new one;
// following every destination, it also picks up a destination that a restarted
// agent has and the old one had not.
class RingSet {
 public:
  // Every ring of `destination` (all destinations when nullopt), or only
  // `source`'s. Throws Failure when there is nothing to follow. `command` names
  // the subcommand in the stderr lines about recreated segments.
  RingSet(const std::string& instance, const std::optional<std::string>& destination,
          const std::optional<std::string>& source, std::string command = "observe");
  ~RingSet();

  struct Handlers {
    std::function<void(const std::string& destination, const std::string& source,
                       const std::vector<std::byte>& record)>
        record;
    std::function<void(const std::string& destination, const std::string& source,
                       std::uint64_t records, std::uint64_t bytes)>
        missed;
    // A ring of a recreated segment, re-opened: `records` (`bytes` of payload) were
    // published into it before we mapped it, so we never saw them.
    std::function<void(const std::string& destination, const std::string& source,
                       std::uint64_t records, std::uint64_t bytes)>
        reopened;
  };
  // Hands out everything new on every ring (at most `limit` records); returns how many.
  // At most every 200 ms it also checks each segment's file (device and inode of
  // /dev/shm/<name>): when the agent recreated it, what is left in the old mapping
  // is handed out first, then the new segment is followed from its write position
  // (`reopened` says what was missed), with one line on stderr. A removed file is
  // said once; the old mapping is kept until a new file appears.
  std::size_t poll(const Handlers& handlers, std::size_t limit = SIZE_MAX);
  // Segments re-opened so far.
  std::uint64_t reopens() const { return reopens_; }
  // Sleeps until a ring has something new or `timeout` passes (polls: an observer
  // cannot ring the doorbell).
  void wait(std::chrono::milliseconds timeout);

  struct Ring {
    std::string destination, source;
  };
  std::vector<Ring> rings() const;

 private:
  struct State;
  struct Segment;
  void add_rings(Segment& segment);
  // add_rings(), then `reopened` for what each new ring got before we mapped it;
  // returns the end of the stderr line: "; N records published before it was
  // <opened> are missed" (after ", which has no ring of source S" if none matched).
  std::string follow_from_now(Segment& segment, const Handlers& handlers, std::string_view opened);
  std::size_t poll_rings(const Handlers& handlers, std::size_t limit, const Segment* only);
  void check_recreated(const Handlers& handlers);
  void check_new_destinations(const Handlers& handlers);
  std::string instance_, command_;
  bool all_destinations_ = false;
  std::optional<std::string> source_;
  std::vector<std::unique_ptr<State>> rings_;
  std::vector<std::unique_ptr<Segment>> segments_;
  std::vector<std::byte> copy_;
  std::chrono::steady_clock::time_point next_check_{};
  std::uint64_t reopens_ = 0;
};

int run_status(const std::vector<std::string>& args);
int run_list(const std::vector<std::string>& args);
int run_top(const std::vector<std::string>& args);
int run_tail(const std::vector<std::string>& args);
int run_dump(const std::vector<std::string>& args);
int run_cat(const std::vector<std::string>& args);
int run_replay(const std::vector<std::string>& args);

}  // namespace bucky3::ring_tool
