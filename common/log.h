// Logging to stderr, one line per event: "<module>[<pid>]: <level>: <message>".
// No log files. Each process calls log::init() once, after fork.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace bucky3::log {

enum class Level { debug = 0, info = 1, warning = 2, error = 3 };

// Sets the process-wide prefix ("statsd[4121]: ") and threshold.
void init(std::string_view module_name, Level level);
void set_level(Level level);
Level level();
std::optional<Level> parse_level(
    std::string_view text);  // "debug", "info", "warning"/"warn", "error"
std::string_view to_string(Level level);

// Writes one whole line with a single write(2), so lines from several
// processes sharing stderr never interleave mid-line.
void write_line(Level level, std::string_view message);

template <class... Args>
void log(Level lvl, const Args&... args) {
  if (lvl < level()) return;
  std::ostringstream out;
  (out << ... << args);
  write_line(lvl, out.str());
}
template <class... Args>
void debug(const Args&... args) {
  log(Level::debug, args...);
}
template <class... Args>
void info(const Args&... args) {
  log(Level::info, args...);
}
template <class... Args>
void warning(const Args&... args) {
  log(Level::warning, args...);
}
template <class... Args>
void error(const Args&... args) {
  log(Level::error, args...);
}

// Lets through at most `burst` events per `period`; the caller logs the number
// suppressed when the next one is let through, so a flood costs one line a period.
class RateLimiter {
 public:
  explicit RateLimiter(unsigned burst = 10,
                       std::chrono::milliseconds period = std::chrono::seconds(10))
      : burst_(burst), period_(period) {}
  // Returns true when this event may be logged; `suppressed` gets the count
  // of events dropped since the last one let through (it is left as it is when
  // the event is dropped). A window of `period` opens at the first event after
  // the previous one has passed.
  bool allow(std::uint64_t& suppressed) {
    return allow(suppressed, std::chrono::steady_clock::now());
  }
  // The same at time `now` (tests; `now` never goes back).
  bool allow(std::uint64_t& suppressed, std::chrono::steady_clock::time_point now);

 private:
  unsigned burst_;
  std::chrono::milliseconds period_;
  std::chrono::steady_clock::time_point window_start_{};
  unsigned in_window_ = 0;
  std::uint64_t suppressed_ = 0;
};

}  // namespace bucky3::log
