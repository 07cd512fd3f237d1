// Process-wide stderr logger; see log.h.
#include "common/log.h"

#include <unistd.h>

#include <cerrno>
#include <string>

namespace bucky3::log {
namespace {
std::string g_prefix = "bucky3[" + std::to_string(::getpid()) + "]: ";
Level g_level = Level::info;
}  // namespace

void init(std::string_view module_name, Level lvl) {
  g_prefix = std::string(module_name) + "[" + std::to_string(::getpid()) + "]: ";
  g_level = lvl;
}

void set_level(Level lvl) {
  g_level = lvl;
}
Level level() {
  return g_level;
}

std::optional<Level> parse_level(std::string_view text) {
  if (text == "debug") return Level::debug;
  if (text == "info") return Level::info;
  if (text == "warning" || text == "warn") return Level::warning;
  if (text == "error") return Level::error;
  return std::nullopt;
}

std::string_view to_string(Level lvl) {
  switch (lvl) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warning: return "warning";
    case Level::error: return "error";
  }
  return "info";
}

void write_line(Level lvl, std::string_view message) {
  std::string line;
  line.reserve(g_prefix.size() + message.size() + 12);
  line += g_prefix;
  line += to_string(lvl);
  line += ": ";
  line += message;
  line += '\n';
  const char* data = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // stderr gone: nothing better to do with a log line
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
}

bool RateLimiter::allow(std::uint64_t& suppressed, std::chrono::steady_clock::time_point now) {
  if (now - window_start_ >= period_) {
    window_start_ = now;
    in_window_ = 0;
  }
  if (in_window_ >= burst_) {
    ++suppressed_;
    return false;
  }
  ++in_window_;
  suppressed = suppressed_;
  suppressed_ = 0;
  return true;
}

}  // namespace bucky3::log
