// The Bucky3 agents on this host, found from their files in /dev/shm, and what
// state each is in; the instance picker shows this list.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bucky3::inspector {

enum class InstanceState {
  running,       // a live supervisor holds the lock file
  stale,         // segments left behind; no supervisor holds the lock
  unreadable,    // the health block exists but this user may not read it
  incompatible,  // not a health block this build understands (other layout version...)
};
std::string_view to_string(InstanceState state);

struct InstanceInfo {
  std::string name;  // "default"
  InstanceState state = InstanceState::stale;
  std::int32_t supervisor_pid = 0;        // from the lock file; 0 when unknown
  std::size_t modules = 0;                // health slots, when readable
  std::vector<std::string> destinations;  // destination segment suffixes, sorted
  std::string message;                    // why unreadable or incompatible
};

// Every instance with a health block in /dev/shm, sorted by name. Opens files
// O_RDONLY only and takes no lock (a lock, even shared, could make a starting
// supervisor believe another one runs).
std::vector<InstanceInfo> scan_instances();

// Destination segment suffixes of `instance` (every /dev/shm/bucky3.<instance>.<name>
// but health and lock), sorted.
std::vector<std::string> destination_names(const std::string& instance);

// Whether some process holds an flock on `path` (from /proc/locks, by inode).
bool file_is_locked(const std::string& path);

// Why a segment could not be opened, in a sentence for a person: names the
// file, says what is wrong and what to do. `error` is the ShmError text.
struct OpenProblem {
  InstanceState state;  // unreadable (permissions) or incompatible (anything else)
  std::string message;
};
OpenProblem explain_open_error(const std::string& path, const std::string& error);

}  // namespace bucky3::inspector
