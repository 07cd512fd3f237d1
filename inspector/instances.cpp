// Finding agents in /dev/shm; see instances.h.
#include "inspector/instances.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "shm/health.h"

namespace bucky3::inspector {

std::string_view to_string(InstanceState state) {
  switch (state) {
    case InstanceState::running: return "running";
    case InstanceState::stale: return "stale";
    case InstanceState::unreadable: return "unreadable";
    case InstanceState::incompatible: return "incompatible";
  }
  return "?";
}

namespace {

constexpr std::string_view kShmDir = "/dev/shm";
constexpr std::string_view kPrefix = "bucky3.";
constexpr std::string_view kHealth = ".health";

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* entry = ::readdir(d)) names.emplace_back(entry->d_name);
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::int32_t read_pid(const std::string& path) {
  std::ifstream in(path);
  std::int32_t pid = 0;
  in >> pid;
  return in ? pid : 0;
}

std::string user_name(uid_t uid) {
  if (const passwd* pw = ::getpwuid(uid)) return pw->pw_name;
  return std::to_string(uid);
}

std::string group_name(gid_t gid) {
  if (const group* gr = ::getgrgid(gid)) return gr->gr_name;
  return std::to_string(gid);
}

}  // namespace

bool file_is_locked(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  // Lines look like "1: FLOCK  ADVISORY  WRITE 4121 00:1a:5678 0 EOF".
  std::ifstream locks("/proc/locks");
  std::string line;
  char wanted[64];
  std::snprintf(wanted, sizeof wanted, "%02x:%02x:%llu", major(st.st_dev), minor(st.st_dev),
                static_cast<unsigned long long>(st.st_ino));
  while (std::getline(locks, line)) {
    std::istringstream fields(line);
    std::string id, kind, advisory, mode, pid, device;
    fields >> id >> kind;
    if (kind == "->") fields >> kind;  // a waiter, listed under the holder
    fields >> advisory >> mode >> pid >> device;
    if (kind == "FLOCK" && device == wanted) return true;
  }
  return false;
}

OpenProblem explain_open_error(const std::string& path, const std::string& error) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && ::access(path.c_str(), R_OK) != 0 && errno == EACCES) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    return {InstanceState::unreadable,
            path + ": permission denied (mode " + mode + ", owner " + user_name(st.st_uid) +
                ", group " + group_name(st.st_gid) + "). Run the inspector as " +
                user_name(st.st_uid) +
                ", or set shm_group in the agent's config (segments become 0640) and join "
                "that group."};
  }
  if (error.find("layout version") != std::string::npos) {
    return {InstanceState::incompatible,
            error +
                ". The agent and this inspector come from different Bucky3 versions: use "
                "the inspector shipped with the running agent."};
  }
  return {InstanceState::incompatible, error};
}

std::vector<std::string> destination_names(const std::string& instance) {
  const std::string prefix = std::string(kPrefix) + instance + ".";
  std::vector<std::string> out;
  for (const auto& name : list_dir(std::string(kShmDir))) {
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string suffix = name.substr(prefix.size());
    // Module names never hold a '.', so "a.b.health" is not a destination of "a".
    if (suffix.empty() || suffix == "health" || suffix == "lock" ||
        suffix.find('.') != std::string::npos)
      continue;
    out.push_back(suffix);
  }
  return out;
}

std::vector<InstanceInfo> scan_instances() {
  std::vector<InstanceInfo> out;
  for (const auto& name : list_dir(std::string(kShmDir))) {
    if (name.size() <= kPrefix.size() + kHealth.size() ||
        name.compare(0, kPrefix.size(), kPrefix) != 0 ||
        name.compare(name.size() - kHealth.size(), kHealth.size(), kHealth) != 0)
      continue;
    InstanceInfo info;
    info.name = name.substr(kPrefix.size(), name.size() - kPrefix.size() - kHealth.size());
    const std::string lock =
        std::string(kShmDir) + "/" + std::string(kPrefix) + info.name + ".lock";
    info.supervisor_pid = read_pid(lock);
    info.destinations = destination_names(info.name);
    const bool live = file_is_locked(lock);
    info.state = live ? InstanceState::running : InstanceState::stale;
    try {
      info.modules = shm::HealthBlock::open(info.name, shm::Access::read_only).slot_count();
    } catch (const shm::ShmError& e) {
      auto problem = explain_open_error(std::string(kShmDir) + "/" + name, e.what());
      info.state = problem.state;
      info.message = std::move(problem.message);
    }
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace bucky3::inspector
