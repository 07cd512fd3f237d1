// bucky3-ring status and list: the health block and ring fill as a terminal
// table or JSON, and the instances and segments on the host.
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "exporters/debug/format.h"
#include "shm/tool/tool.h"

namespace bucky3::ring_tool {

namespace {

// A module whose heartbeat is older than this while it should be running is
// flagged stale: modules heartbeat every second, idle or not.
constexpr std::int64_t stale_after_ms = shm::heartbeat_stale_after_ms;

struct RingSample {
  std::string destination, source;
  shm::DestinationSegment::RingStats stats;
};

struct Sample {
  std::int64_t wall_ms = 0;
  std::chrono::steady_clock::time_point when;
  std::vector<shm::HealthSnapshot> modules;
  std::vector<RingSample> rings;
};

// Opens everything afresh each time: a restarted agent recreates its segments.
Sample take_sample(const std::string& instance) {
  Sample sample;
  auto health = open_health(instance);
  sample.when = std::chrono::steady_clock::now();
  sample.wall_ms = now_ms();
  for (std::size_t i = 0; i < health.slot_count(); ++i)
    sample.modules.push_back(health.snapshot(i));
  for (const auto& destination : destinations_of(instance)) {
    auto segment = open_destination(instance, destination);
    for (std::size_t i = 0; i < segment.ring_count(); ++i) {
      sample.rings.push_back(
          {destination, std::string(segment.source_name(i)), segment.ring_stats(i)});
    }
  }
  return sample;
}

bool is_level(shm::Counter counter) {
  return counter == shm::Counter::rss_bytes || counter == shm::Counter::series;
}

bool should_run(shm::ModuleState state) {
  return state == shm::ModuleState::running || state == shm::ModuleState::starting;
}

struct ModuleView {
  const shm::HealthSnapshot* now = nullptr;
  std::optional<double> heartbeat_age_s;
  bool stale = false;
  double uptime_s = 0;
  std::array<double, shm::counter_count> rates{};  // per second; levels left 0
};

ModuleView view_of(const shm::HealthSnapshot& now, const shm::HealthSnapshot* before,
                   double seconds, std::int64_t wall_ms) {
  ModuleView v;
  v.now = &now;
  if (now.last_heartbeat_ms > 0) v.heartbeat_age_s = (wall_ms - now.last_heartbeat_ms) / 1000.0;
  if (should_run(now.state)) {
    if (now.start_time_ms > 0) v.uptime_s = std::max(0.0, (wall_ms - now.start_time_ms) / 1000.0);
    const auto age_ms =
        now.last_heartbeat_ms > 0 ? wall_ms - now.last_heartbeat_ms : wall_ms - now.start_time_ms;
    v.stale = now.state == shm::ModuleState::running && age_ms > stale_after_ms;
  }
  // Rates only across the same process: a restart resets nothing (counters live
  // in shm) but a changed pid means the interval saw a crash, still a valid delta.
  if (before && seconds > 0) {
    for (std::size_t c = 0; c < shm::counter_count; ++c) {
      if (is_level(static_cast<shm::Counter>(c))) continue;
      const auto a = before->counters[c], b = now.counters[c];
      v.rates[c] = b >= a ? static_cast<double>(b - a) / seconds : 0;
    }
  }
  return v;
}

// Rates rounded to 3 decimals, so the JSON is readable.
double round3(double v) {
  return std::round(v * 1000) / 1000;
}

void append_number(double v, std::string& out) {
  debug_output::append_json_number(Number{v}, out);
}
void append_int(std::uint64_t v, std::string& out) {
  out += std::to_string(v);
}

std::string render_json(const Sample& now, const Sample* before) {
  const double seconds =
      before ? std::chrono::duration<double>(now.when - before->when).count() : 0;
  std::string out = "{\"modules\":[";
  bool first = true;
  for (const auto& module : now.modules) {
    const shm::HealthSnapshot* prev = nullptr;
    if (before) {
      for (const auto& m : before->modules) {
        if (m.name == module.name) prev = &m;
      }
    }
    const auto v = view_of(module, prev, seconds, now.wall_ms);
    if (!first) out += ',';
    first = false;
    out += "{\"name\":";
    debug_output::append_json_string(module.name, out);
    out += ",\"type\":";
    debug_output::append_json_string(module.type, out);
    out += ",\"pid\":" + std::to_string(module.pid);
    out += ",\"state\":";
    debug_output::append_json_string(shm::to_string(module.state), out);
    out += ",\"start_time_ms\":" + std::to_string(module.start_time_ms);
    out += ",\"uptime_s\":";
    append_number(round3(v.uptime_s), out);
    out += ",\"restarts\":" + std::to_string(module.restarts);
    out += ",\"heartbeat_age_s\":";
    if (v.heartbeat_age_s) {
      append_number(round3(*v.heartbeat_age_s), out);
    } else {
      out += "null";
    }
    out += std::string(",\"stale\":") + (v.stale ? "true" : "false");
    out += ",\"counters\":{";
    for (std::size_t c = 0; c < shm::counter_count; ++c) {
      if (c) out += ',';
      debug_output::append_json_string(shm::to_string(static_cast<shm::Counter>(c)), out);
      out += ':';
      append_int(module.counters[c], out);
    }
    out += "},\"rates\":{";
    bool first_rate = true;
    for (std::size_t c = 0; c < shm::counter_count; ++c) {
      if (is_level(static_cast<shm::Counter>(c))) continue;
      if (!first_rate) out += ',';
      first_rate = false;
      debug_output::append_json_string(shm::to_string(static_cast<shm::Counter>(c)), out);
      out += ':';
      append_number(round3(v.rates[c]), out);
    }
    out += "},\"cpu_s\":";
    append_number(round3(module.counters[std::size_t(shm::Counter::cpu_ns)] / 1e9), out);
    out += ",\"rss_bytes\":";
    append_int(module.counters[std::size_t(shm::Counter::rss_bytes)], out);
    // The module's named values, as it last self_reported them (or, with self_report
    // off, as of its last heartbeat); values_offered > their number: some were cut.
    out += ",\"values\":{";
    for (std::size_t i = 0; i < module.values.size(); ++i) {
      if (i) out += ',';
      debug_output::append_json_string(module.values[i].name, out);
      out += ':' + std::to_string(module.values[i].value);
    }
    out += "},\"values_offered\":" + std::to_string(module.values_offered);
    out += ",\"values_time_ms\":" + std::to_string(module.values_time_ms);
    out += std::string(",\"torn\":") + (module.torn ? "true" : "false");
    out += '}';
  }
  out += "],\"rings\":[";
  first = true;
  for (const auto& ring : now.rings) {
    if (!first) out += ',';
    first = false;
    out += "{\"destination\":";
    debug_output::append_json_string(ring.destination, out);
    out += ",\"source\":";
    debug_output::append_json_string(ring.source, out);
    out += ",\"capacity_bytes\":";
    append_int(ring.stats.capacity, out);
    out += ",\"used_bytes\":";
    append_int(ring.stats.write_pos - ring.stats.read_pos, out);
    out += ",\"drops\":";
    append_int(ring.stats.records_dropped, out);
    out += '}';
  }
  out += "]}\n";
  return out;
}

std::string human(double v) {
  char buf[32];
  if (v >= 1e9) {
    std::snprintf(buf, sizeof buf, "%.1fG", v / 1e9);
  } else if (v >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.1fM", v / 1e6);
  } else if (v >= 1e4) {
    std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
  } else if (v == std::floor(v)) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f", v);
  }
  return buf;
}

std::string duration(double seconds) {
  char buf[32];
  const auto s = static_cast<long long>(seconds);
  if (s >= 86400) {
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
  } else if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, s % 3600 / 60);
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%llds", s);
  }
  return buf;
}

std::string pad(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text + ' ';
}

std::string render_table(const std::string& instance, const Sample& now, const Sample* before) {
  const double seconds =
      before ? std::chrono::duration<double>(now.when - before->when).count() : 0;
  std::ostringstream out;
  char when[64];
  const std::time_t t = now.wall_ms / 1000;
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
  out << "bucky3 instance \"" << instance << "\", " << when << "\n\n";
  out << pad("MODULE", 20) << pad("TYPE", 19) << pad("PID", 7) << pad("STATE", 8)
      << pad("UPTIME", 7) << pad("RESTARTS", 8) << pad("HEARTBEAT", 11) << pad("IN/s", 7)
      << pad("OUT/s", 7) << pad("ERRORS", 6) << pad("CPU%", 5) << pad("RSS", 6) << "DROPS\n";
  for (const auto& module : now.modules) {
    const shm::HealthSnapshot* prev = nullptr;
    if (before) {
      for (const auto& m : before->modules) {
        if (m.name == module.name) prev = &m;
      }
    }
    const auto v = view_of(module, prev, seconds, now.wall_ms);
    const auto rate = [&](shm::Counter c) { return v.rates[std::size_t(c)]; };
    const auto counter = [&](shm::Counter c) { return module.counters[std::size_t(c)]; };
    std::string heartbeat =
        v.heartbeat_age_s ? human(std::round(*v.heartbeat_age_s * 10) / 10) + "s" : "-";
    if (v.stale) heartbeat += " STALE";
    std::string drops;
    for (const auto c :
         {shm::Counter::drops_kernel, shm::Counter::drops_series_cap, shm::Counter::drops_ring_full,
          shm::Counter::drops_buffer, shm::Counter::drops_other, shm::Counter::lines_invalid}) {
      if (counter(c) == 0) continue;
      auto name = std::string(shm::to_string(c));
      if (name.starts_with("drops_")) name = name.substr(6);
      drops += (drops.empty() ? "" : " ") + name + "=" + human(double(counter(c)));
    }
    const double in = std::max(rate(shm::Counter::lines_in), rate(shm::Counter::metrics_in));
    out << pad(module.name, 20) << pad(module.type, 19) << pad(std::to_string(module.pid), 7)
        << pad(std::string(shm::to_string(module.state)), 8)
        << pad(should_run(module.state) ? duration(v.uptime_s) : "-", 7)
        << pad(std::to_string(module.restarts), 8) << pad(heartbeat, 11) << pad(human(in), 7)
        << pad(human(rate(shm::Counter::metrics_out)), 7)
        << pad(human(double(counter(shm::Counter::errors))), 6)
        << pad(human(std::round(rate(shm::Counter::cpu_ns) / 1e7 * 10) / 10), 5)
        << pad(human(double(counter(shm::Counter::rss_bytes))), 6) << (drops.empty() ? "-" : drops)
        << '\n';
  }
  // Named values, one line per module that has any: "rw: a=1 b=2 (64 of 70)" when cut.
  bool values_header = false;
  for (const auto& module : now.modules) {
    if (module.values.empty()) continue;
    if (!values_header) out << "\nVALUES\n";
    values_header = true;
    out << module.name << ':';
    for (const auto& v : module.values) out << ' ' << v.name << '=' << v.value;
    if (module.values_offered > module.values.size())
      out << " (" << module.values.size() << " of " << module.values_offered << ")";
    out << '\n';
  }
  out << '\n'
      << pad("RING (destination <- source)", 44) << pad("FILL", 7) << pad("CAPACITY", 8)
      << pad("BATCHES/s", 9) << pad("BYTES/s", 8) << "DROPPED\n";
  for (const auto& ring : now.rings) {
    const RingSample* prev = nullptr;
    if (before) {
      for (const auto& r : before->rings) {
        if (r.destination == ring.destination && r.source == ring.source) prev = &r;
      }
    }
    const auto used = ring.stats.write_pos - ring.stats.read_pos;
    char fill[16];
    std::snprintf(fill, sizeof fill, "%.1f%%", 100.0 * double(used) / double(ring.stats.capacity));
    double batches = 0, bytes = 0;
    if (prev && seconds > 0 && ring.stats.records_written >= prev->stats.records_written) {
      batches = double(ring.stats.records_written - prev->stats.records_written) / seconds;
      bytes = double(ring.stats.bytes_written - prev->stats.bytes_written) / seconds;
    }
    out << pad(ring.destination + " <- " + ring.source, 44) << pad(fill, 7)
        << pad(human(double(ring.stats.capacity)), 8) << pad(human(batches), 9)
        << pad(human(bytes), 8) << human(double(ring.stats.records_dropped)) << '\n';
  }
  return out.str();
}

int print_errors(const std::string& instance, const std::string& name, bool json) {
  auto health = open_health(instance);
  const auto slot = health.find(name);
  if (!slot) {
    std::string known;
    for (std::size_t i = 0; i < health.slot_count(); ++i) {
      known += (i ? ", " : "") + health.snapshot(i).name;
    }
    throw Failure("instance \"" + instance + "\" has no module \"" + name +
                  "\" (modules: " + known + ")");
  }
  const auto snapshot = health.snapshot(*slot);
  std::string out;
  if (json) {
    out = "{\"module\":";
    debug_output::append_json_string(name, out);
    out += ",\"errors_total\":" + std::to_string(snapshot.errors_total) + ",\"errors\":[";
    for (std::size_t i = 0; i < snapshot.errors.size(); ++i) {
      const auto& e = snapshot.errors[i];
      if (i) out += ',';
      out += "{\"time_ms\":" + std::to_string(e.time_ms) + ",\"reason\":";
      debug_output::append_json_string(e.reason, out);
      out += ",\"text\":";
      debug_output::append_json_string(e.text, out);
      out += '}';
    }
    out += "]}\n";
  } else {
    out = "last " + std::to_string(snapshot.errors.size()) + " of " +
          std::to_string(snapshot.errors_total) + " errors of " + name + ", oldest first:\n";
    for (const auto& e : snapshot.errors) {
      char when[64];
      const std::time_t t = e.time_ms / 1000;
      std::tm tm{};
      ::gmtime_r(&t, &tm);
      std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
      out += std::string(when) + " UTC  " + e.reason + ": ";
      debug_output::append_json_string(e.text, out);  // quoted: invisible bytes show
      out += '\n';
    }
  }
  std::cout << out << std::flush;
  return 0;
}

}  // namespace

int run_status(const std::vector<std::string>& args) {
  const Options options("status", args, {"--once", "--json"},
                        {"--instance", "--errors", "--interval"});
  if (!options.positional().empty()) {
    throw UsageError("status: unexpected argument \"" + options.positional()[0] + "\"");
  }
  const auto instance = options.instance();
  const bool json = options.has("--json");
  if (const auto name = options.get("--errors")) return print_errors(instance, *name, json);
  const auto interval = std::chrono::duration<double>(options.number("--interval").value_or(1.0));
  install_stop_signals();
  const bool clear = !json && !options.has("--once") && ::isatty(STDOUT_FILENO);
  auto before = take_sample(instance);
  for (;;) {
    std::this_thread::sleep_for(interval);
    if (stop_requested()) return 0;
    auto now = take_sample(instance);
    const auto text = json ? render_json(now, &before) : render_table(instance, now, &before);
    if (clear) std::cout << "\x1b[H\x1b[2J";
    std::cout << text << (json || clear ? "" : "\n") << std::flush;
    if (options.has("--once") || !std::cout) return std::cout ? 0 : 1;
    before = std::move(now);
  }
}

// ---------------------------------------------------------------- list

namespace {

// Who holds a flock on `path`: /proc/locks names the holder by device and inode,
// which works for a user who may not open the 0600 lock file itself.
std::optional<pid_t> flock_holder(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  std::ifstream locks("/proc/locks");
  std::string line;
  char wanted[64];
  std::snprintf(wanted, sizeof wanted, "%02x:%02x:%llu", ::major(st.st_dev), ::minor(st.st_dev),
                static_cast<unsigned long long>(st.st_ino));
  while (std::getline(locks, line)) {
    std::istringstream fields(line);
    std::string number, kind, advisory, mode, pid, device;
    fields >> number >> kind;
    if (kind == "->") fields >> kind;  // a waiter: "1: -> FLOCK ..."
    fields >> advisory >> mode >> pid >> device;
    if (kind == "FLOCK" && device == wanted) return static_cast<pid_t>(std::stol(pid));
  }
  return std::nullopt;
}

std::string describe_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "?";
  char buf[128];
  const group* grp = ::getgrgid(st.st_gid);
  std::snprintf(buf, sizeof buf, "%04o %s %s", static_cast<unsigned>(st.st_mode & 07777),
                grp ? grp->gr_name : std::to_string(st.st_gid).c_str(),
                (std::to_string(st.st_size) + " B").c_str());
  return buf;
}

// What a /dev/shm/bucky3.<instance>.<suffix> file is, by its suffix.
std::string kind_of(const std::string& suffix) {
  if (suffix == "health") return "health";
  if (suffix.ends_with(".series")) return "series";
  if (suffix.find('.') != std::string::npos) return "file";  // e.g. a .tmp being written
  return "destination";
}

}  // namespace

int run_list(const std::vector<std::string>& args) {
  const Options options("list", args, {"--json"}, {"--instance"});
  if (!options.positional().empty()) {
    throw UsageError("list: unexpected argument \"" + options.positional()[0] + "\"");
  }
  const auto only = options.get("--instance");
  std::map<std::string, std::vector<std::string>> instances;  // instance -> suffixes
  if (DIR* dir = ::opendir("/dev/shm")) {
    while (const dirent* entry = ::readdir(dir)) {
      const std::string name = entry->d_name;
      if (!name.starts_with("bucky3.")) continue;
      // Instance names hold no '.', suffixes may ("rw.series": a module's saved series).
      const auto dot = name.find('.', 7);
      if (dot == std::string::npos || dot <= 7) continue;
      const auto instance = name.substr(7, dot - 7);
      if (only && instance != *only) continue;
      instances[instance].push_back(name.substr(dot + 1));
    }
    ::closedir(dir);
  }
  if (only && instances.empty()) {
    throw Failure("no such instance \"" + *only + "\": nothing named /dev/shm/bucky3." + *only +
                  ".* on this host");
  }
  const bool json = options.has("--json");
  std::string out = json ? "{\"instances\":[" : "";
  bool first_instance = true;
  for (auto& [instance, suffixes] : instances) {
    std::sort(suffixes.begin(), suffixes.end());
    const auto lock = shm_path(instance, "lock");
    const bool has_lock = std::find(suffixes.begin(), suffixes.end(), "lock") != suffixes.end();
    const pid_t holder = has_lock ? flock_holder(lock).value_or(0) : 0;
    const bool alive = holder > 0 && (::kill(holder, 0) == 0 || errno == EPERM);
    const std::string state = alive ? "running" : "stale";
    const std::string why = alive      ? "supervisor pid " + std::to_string(holder)
                            : has_lock ? "lock file not held by a live supervisor"
                                       : "no lock file";
    if (json) {
      if (!first_instance) out += ',';
      out += "{\"instance\":";
      debug_output::append_json_string(instance, out);
      out += ",\"state\":";
      debug_output::append_json_string(state, out);
      out += ",\"supervisor_pid\":" + (alive ? std::to_string(holder) : std::string("null"));
      out += ",\"segments\":[";
      bool first = true;
      for (const auto& suffix : suffixes) {
        if (suffix == "lock") continue;
        if (!first) out += ',';
        first = false;
        struct stat st {};
        ::stat(shm_path(instance, suffix).c_str(), &st);
        out += "{\"name\":";
        debug_output::append_json_string(shm::segment_name(instance, suffix), out);
        out += ",\"kind\":";
        debug_output::append_json_string(kind_of(suffix), out);
        out += ",\"bytes\":" + std::to_string(st.st_size);
        out += ",\"stale\":" + std::string(alive ? "false" : "true") + "}";
      }
      out += "]}";
    } else {
      out += "instance " + instance + ": " + state + " (" + why + ")\n";
      for (const auto& suffix : suffixes) {
        const auto path = shm_path(instance, suffix);
        out += "  " + pad(path, 48) + pad(describe_file(path), 28);
        const auto kind = kind_of(suffix);
        out += kind == "health"   ? "health block"
               : suffix == "lock" ? "lock file"
               : kind == "series" ? "live series of a remote_write_client"
               : kind == "file"   ? "file"
                                  : "destination";
        if (!alive && suffix != "lock") out += ", STALE";
        out += '\n';
      }
    }
    first_instance = false;
  }
  if (json) {
    out += "]}\n";
  } else if (instances.empty()) {
    out = "no bucky3 instances on this host (nothing named /dev/shm/bucky3.*)\n";
  }
  std::cout << out << std::flush;
  return 0;
}

}  // namespace bucky3::ring_tool
