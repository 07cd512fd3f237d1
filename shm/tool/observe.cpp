// bucky3-ring top, tail, dump: follow rings as a read-only observer.
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iostream>

#include "exporters/debug/format.h"
#include "shm/batch_codec.h"
#include "shm/dump.h"
#include "shm/talkers.h"
#include "shm/tool/tool.h"

#ifndef BUCKY3_VERSION
#define BUCKY3_VERSION "dev"
#endif

namespace bucky3::ring_tool {

namespace {

using Clock = std::chrono::steady_clock;

std::optional<Clock::time_point> deadline_of(const Options& options) {
  if (const auto seconds = options.number("--seconds")) {
    return Clock::now() +
           std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(*seconds));
  }
  return std::nullopt;
}

bool past(const std::optional<Clock::time_point>& deadline) {
  return deadline && Clock::now() >= *deadline;
}

// One stderr line per second at most about overruns, with the total since the last.
class MissedReporter {
 public:
  explicit MissedReporter(std::string command) : command_(std::move(command)) {}
  void add(const std::string& destination, const std::string& source, std::uint64_t records,
           std::uint64_t bytes) {
    records_ += records;
    bytes_ += bytes;
    total_ += records;
    last_ring_ = destination + " <- " + source;
    report(false);
  }
  void report(bool force) {
    if (records_ == 0 && bytes_ == 0) return;
    const auto now = Clock::now();
    if (!force && now - last_ < std::chrono::seconds(1)) return;
    last_ = now;
    std::cerr << "bucky3-ring: " << command_ << ": missed " << records_ << " records (" << bytes_
              << " bytes) of " << last_ring_
              << ": the producer lapped this observer and overwrote them first\n";
    records_ = bytes_ = 0;
  }
  std::uint64_t total() const { return total_; }

 private:
  std::string command_, last_ring_;
  std::uint64_t records_ = 0, bytes_ = 0, total_ = 0;
  Clock::time_point last_{};
};

}  // namespace

// ---------------------------------------------------------------- top

int run_top(const std::vector<std::string>& args) {
  const Options options(
      "top", args, {"--json", "--once"},
      {"--instance", "--ring", "--source", "--by", "--seconds", "--interval", "--limit"});
  if (!options.positional().empty()) {
    throw UsageError("top: unexpected argument \"" + options.positional()[0] + "\"");
  }
  const auto by_text = options.get("--by").value_or("series");
  const auto by = shm::parse_talker_order(by_text);
  if (!by) throw UsageError("top: --by takes series, metrics or bytes, got \"" + by_text + "\"");
  const auto interval = std::chrono::duration<double>(options.number("--interval").value_or(2.0));
  const auto limit = static_cast<std::size_t>(options.number("--limit").value_or(15));
  const bool json = options.has("--json");
  auto deadline = deadline_of(options);
  // --once: one table after one interval.
  if (options.has("--once") && !deadline) {
    deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(interval);
  }
  install_stop_signals();
  RingSet rings(options.instance(), options.get("--ring"), options.get("--source"), "top");
  auto ring_list = rings.rings();
  // A ring keeps its row across a restart of the agent; a ring that only the
  // recreated segment has gets a new one.
  std::vector<shm::TopTalkers> talkers(ring_list.size());
  std::vector<std::uint64_t> missed(ring_list.size());
  std::map<std::pair<std::string, std::string>, std::size_t> rows;
  for (std::size_t i = 0; i < ring_list.size(); ++i)
    rows[{ring_list[i].destination, ring_list[i].source}] = i;
  const auto row_of = [&](const std::string& d, const std::string& s) {
    const auto [it, added] = rows.try_emplace({d, s}, ring_list.size());
    if (added) {
      ring_list.push_back({d, s});
      talkers.emplace_back();
      missed.push_back(0);
    }
    return it->second;
  };
  shm::DecodedBatch decoded;
  std::uint64_t undecodable = 0;
  RingSet::Handlers handlers;
  handlers.record = [&](const std::string& d, const std::string& s,
                        const std::vector<std::byte>& record) {
    if (shm::decode_batch(record, decoded)) {
      ++undecodable;
      return;
    }
    talkers[row_of(d, s)].add(decoded, now_ms());
  };
  handlers.missed = [&](const std::string& d, const std::string& s, std::uint64_t records,
                        std::uint64_t) { missed[row_of(d, s)] += records; };
  handlers.reopened = [&](const std::string& d, const std::string& s, std::uint64_t records,
                          std::uint64_t) { missed[row_of(d, s)] += records; };
  const bool clear = !json && !deadline && ::isatty(STDOUT_FILENO);
  const auto print = [&] {
    std::string out;
    const auto row = [&](const shm::Talker& t, bool tag_key) {
      char buf[96];
      const auto age = t.last_seen_ms ? (now_ms() - t.last_seen_ms) / 1000.0 : 0.0;
      std::snprintf(buf, sizeof buf, "%10llu%s %10llu %12llu ",
                    static_cast<unsigned long long>(t.series), t.estimated ? "~" : " ",
                    static_cast<unsigned long long>(t.metrics),
                    static_cast<unsigned long long>(t.bytes));
      out += buf;
      if (tag_key) {
        std::snprintf(buf, sizeof buf, "%8llu ", static_cast<unsigned long long>(t.values));
        out += buf;
      }
      std::snprintf(buf, sizeof buf, "%7.1fs  ", age);
      out += buf;
      out += t.key + "\n";
    };
    const auto json_list = [&](const std::vector<shm::Talker>& list, bool tag_key) {
      out += '[';
      for (std::size_t i = 0; i < list.size(); ++i) {
        const auto& t = list[i];
        if (i) out += ',';
        out += "{\"key\":";
        debug_output::append_json_string(t.key, out);
        out += ",\"series\":" + std::to_string(t.series) +
               ",\"metrics\":" + std::to_string(t.metrics) +
               ",\"bytes\":" + std::to_string(t.bytes);
        if (tag_key) out += ",\"values\":" + std::to_string(t.values);
        out += ",\"last_seen_ms\":" + std::to_string(t.last_seen_ms) +
               ",\"estimated\":" + (t.estimated ? "true" : "false") + "}";
      }
      out += ']';
    };
    if (json) out += "{\"by\":\"" + by_text + "\",\"rings\":[";
    for (std::size_t i = 0; i < ring_list.size(); ++i) {
      const auto& t = talkers[i];
      if (json) {
        if (i) out += ',';
        out += "{\"destination\":";
        debug_output::append_json_string(ring_list[i].destination, out);
        out += ",\"source\":";
        debug_output::append_json_string(ring_list[i].source, out);
        out += ",\"batches\":" + std::to_string(t.batches()) +
               ",\"metrics\":" + std::to_string(t.metrics()) +
               ",\"bytes\":" + std::to_string(t.bytes()) +
               ",\"series\":" + std::to_string(t.series()) +
               ",\"missed_records\":" + std::to_string(missed[i]) + ",\"names\":";
        json_list(t.top_names(*by, limit), false);
        out += ",\"tag_keys\":";
        json_list(t.top_tag_keys(*by, limit), true);
        out += '}';
        continue;
      }
      out += ring_list[i].destination + " <- " + ring_list[i].source + ": " +
             std::to_string(t.metrics()) + " metrics in " + std::to_string(t.batches()) +
             " batches, " + std::to_string(t.series()) + " series, " + std::to_string(t.bytes()) +
             " bytes";
      if (missed[i]) out += ", " + std::to_string(missed[i]) + " records missed";
      out += " (by " + by_text + ")\n";
      out += "    SERIES      METRICS        BYTES  LAST SEEN  NAME\n";
      for (const auto& talker : t.top_names(*by, limit)) row(talker, false);
      out += "    SERIES      METRICS        BYTES   VALUES LAST SEEN  TAG KEY\n";
      for (const auto& talker : t.top_tag_keys(*by, limit)) row(talker, true);
      out += '\n';
    }
    if (json) out += "]}\n";
    if (clear) std::cout << "\x1b[H\x1b[2J";
    std::cout << out << std::flush;
  };
  auto next_print = Clock::now() + std::chrono::duration_cast<Clock::duration>(interval);
  for (;;) {
    rings.poll(handlers, 10000);
    if (stop_requested() || past(deadline)) break;
    if (!deadline && Clock::now() >= next_print) {
      print();
      next_print += std::chrono::duration_cast<Clock::duration>(interval);
    }
    rings.wait(std::chrono::milliseconds(50));
  }
  print();
  if (undecodable)
    std::cerr << "bucky3-ring: top: " << undecodable << " undecodable batches skipped\n";
  return std::cout ? 0 : 1;
}

// ---------------------------------------------------------------- tail

int run_tail(const std::vector<std::string>& args) {
  const Options options("tail", args, {"--json"},
                        {"--instance", "--ring", "--source", "--seconds"});
  if (!options.positional().empty()) {
    throw UsageError("tail: unexpected argument \"" + options.positional()[0] + "\"");
  }
  const bool json = options.has("--json");
  const auto deadline = deadline_of(options);
  install_stop_signals();
  RingSet rings(options.instance(), options.get("--ring"), options.get("--source"), "tail");
  MissedReporter reporter("tail");
  shm::DecodedBatch decoded;
  std::string out;
  RingSet::Handlers handlers;
  handlers.record = [&](const std::string& d, const std::string& s,
                        const std::vector<std::byte>& record) {
    if (const auto error = shm::decode_batch(record, decoded)) {
      std::cerr << "bucky3-ring: tail: undecodable batch in " << d << " <- " << s << ": "
                << error->reason << '\n';
      return;
    }
    for (const auto& view : decoded.metrics) {
      if (json) {
        debug_output::append_json_line(view.to_metric(), out);
      } else {
        out += d + " <- " + s + "  ";
        debug_output::append_text_line(view.to_metric(), out);
      }
    }
  };
  handlers.missed = [&](const std::string& d, const std::string& s, std::uint64_t records,
                        std::uint64_t bytes) { reporter.add(d, s, records, bytes); };
  while (!stop_requested() && !past(deadline)) {
    rings.poll(handlers, 1000);
    if (!out.empty()) {
      std::cout << out << std::flush;
      out.clear();
      if (!std::cout) return 1;  // the pipe closed: `tail | head` is done
    }
    rings.wait(std::chrono::milliseconds(100));
  }
  reporter.report(true);
  return 0;
}

// ---------------------------------------------------------------- dump

int run_dump(const std::vector<std::string>& args) {
  const Options options("dump", args, {},
                        {"--instance", "--ring", "--source", "--seconds", "--batches", "-o",
                         "--output", "--zstd-level"});
  if (!options.positional().empty()) {
    throw UsageError("dump: unexpected argument \"" + options.positional()[0] + "\"");
  }
  const auto ring = options.get("--ring");
  if (!ring)
    throw UsageError("dump: --ring DEST is required (the destination whose rings to capture)");
  const auto path = options.get("-o") ? options.get("-o") : options.get("--output");
  if (!path) throw UsageError("dump: -o FILE (or -o - for stdout) is required");
  if (options.has("--seconds") && options.has("--batches")) {
    throw UsageError("dump: give --seconds or --batches, not both");
  }
  const auto deadline = deadline_of(options);
  const auto max_batches = options.number("--batches");
  const int level = static_cast<int>(options.number("--zstd-level").value_or(1));
  if (*path == "-" && ::isatty(STDOUT_FILENO)) {
    throw UsageError("dump: refusing to write a binary dump to a terminal; use -o FILE or a pipe");
  }
  install_stop_signals();
  const auto instance = options.instance();
  RingSet rings(instance, ring, options.get("--source"), "dump");

  std::ofstream file;
  std::ostream* out = &std::cout;
  if (*path != "-") {
    file.open(*path, std::ios::binary | std::ios::trunc);
    if (!file) throw Failure("dump: cannot create " + *path + ": " + std::strerror(errno));
    out = &file;
  }
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const shm::dump::Header header{.instance = instance,
                                 .ring = *ring,
                                 .source = options.get("--source").value_or(""),
                                 .host = host,
                                 .capture_start_ms = now_ms(),
                                 .writer = std::string("bucky3-ring ") + BUCKY3_VERSION};
  MissedReporter reporter("dump");
  try {
    shm::dump::Writer writer(*out, header, {.zstd_level = level});
    RingSet::Handlers handlers;
    handlers.record = [&](const std::string&, const std::string& s,
                          const std::vector<std::byte>& record) {
      // A re-opened segment's leftovers are handed out whole: --batches N stays N.
      if (max_batches && writer.records() >= *max_batches) return;
      writer.add_record(now_ms(), s, record);
    };
    handlers.missed = [&](const std::string& d, const std::string& s, std::uint64_t records,
                          std::uint64_t bytes) {
      writer.add_missed(now_ms(), s, records, bytes);
      reporter.add(d, s, records, bytes);
    };
    // The agent restarted: what its new segment got before we re-opened it is a
    // gap in the capture, recorded like an overrun (RingSet says it on stderr).
    handlers.reopened = [&](const std::string&, const std::string& s, std::uint64_t records,
                            std::uint64_t bytes) {
      if (records) writer.add_missed(now_ms(), s, records, bytes);
    };
    auto next_flush = Clock::now() + std::chrono::seconds(1);
    for (;;) {
      const std::size_t room =
          max_batches ? static_cast<std::size_t>(*max_batches) - writer.records() : 10000;
      rings.poll(handlers, std::min<std::size_t>(room, 10000));
      if (max_batches && writer.records() >= *max_batches) break;
      if (stop_requested() || past(deadline)) break;
      if (Clock::now() >= next_flush) {
        // At least once a second, so a reader on a pipe is never far behind.
        writer.flush();
        next_flush = Clock::now() + std::chrono::seconds(1);
      }
      rings.wait(std::chrono::milliseconds(20));
    }
    writer.close(now_ms());
    reporter.report(true);
    std::cerr << "bucky3-ring: dump: " << writer.records() << " batches from " << instance << "/"
              << *ring << " into " << (*path == "-" ? std::string("stdout") : *path) << " ("
              << writer.bytes_written() << " bytes, " << writer.missed_records()
              << " records missed)\n";
  } catch (const shm::dump::WriteError& e) {
    throw Failure(std::string("dump: ") + e.what());
  }
  return 0;
}

}  // namespace bucky3::ring_tool
