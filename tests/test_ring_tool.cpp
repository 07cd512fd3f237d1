// tests/test_ring_tool.cpp — bucky3-ring on a live agent: status (JSON shape,
// rates, stale heartbeats, --errors), list (stale instances), top, tail, dump
// and cat (what cat --json prints is what debug_output printed), tail and dump
// across a restart of the agent, a read-only
// user in the shm_group and one outside it, and each exit code.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "shm/batch_codec.h"
#include "shm/dump.h"
#include "shm/health.h"
#include "shm/segment.h"
#include "tests/support/agent.h"

using namespace bucky3::test;
using namespace std::chrono_literals;

namespace {

std::string ring_binary() {
  return build_dir() + "/bin/bucky3-ring";
}

struct Result {
  int exit_code = -1;
  std::string out, err;
};

Result finish(Process& p, std::chrono::milliseconds timeout = 60s) {
  const auto status = p.wait(timeout);
  Result r;
  r.out = p.out();
  r.err = p.err();
  if (status && WIFEXITED(*status)) r.exit_code = WEXITSTATUS(*status);
  return r;
}

// `prefix` runs bucky3-ring under another program (setpriv).
Result run_ring(const std::vector<std::string>& args, const TempDir& dir,
                const std::vector<std::string>& prefix = {}) {
  std::vector<std::string> argv = prefix;
  argv.push_back(ring_binary());
  argv.insert(argv.end(), args.begin(), args.end());
  Process p;
  p.start(argv, dir.path());
  return finish(p);
}

QJsonObject json_of(const std::string& text) {
  QJsonParseError error{};
  const auto doc = QJsonDocument::fromJson(QByteArray::fromStdString(text), &error);
  if (!doc.isObject())
    qWarning("not a JSON object (%s): %s", qPrintable(error.errorString()), text.c_str());
  return doc.object();
}

std::set<QString> keys_of(const QJsonObject& o) {
  std::set<QString> out;
  for (const auto& k : o.keys()) out.insert(k);
  return out;
}

// statsd_server into debug_output JSON.
struct Agent : AgentProcess {
  std::string shm_group;  // empty: segments 0600

  void start() {
    const auto globals = (shm_group.empty() ? "" : "shm_group: " + shm_group + "\n") +
                         "metadata: {host: ringtool}\n";
    start_with(config_head(instance, "0.5", globals) + statsd_module(udp) + debug_json_module());
  }
  bool listening() { return AgentProcess::listening(10s); }
  // Sends for `duration`, one datagram each 50 ms, from a thread the caller joins.
  std::thread traffic(std::chrono::milliseconds duration, int names = 3) const {
    return std::thread([port = udp, duration, names] {
      const auto end = std::chrono::steady_clock::now() + duration;
      for (int i = 0; std::chrono::steady_clock::now() < end; ++i) {
        std::string lines = "hits:1|c\nlat:" + std::to_string(i % 7) + "|ms\n";
        for (int n = 0; n < names; ++n) lines += "many:1|c|#id:" + std::to_string(n) + "\n";
        send_udp(port, lines);
        std::this_thread::sleep_for(50ms);
      }
    });
  }
};

// Starts `bucky3-ring dump --ring sink -o path` (plus `extra`) on `instance`; true
// once the file has its header.
bool start_sink_dump(Process& dump, const std::string& instance, const std::string& path,
                     const TempDir& dir, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv{ring_binary(), "dump", "--ring", "sink", "-o", path};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.insert(argv.end(), {"--instance", instance});
  dump.start(argv, dir.path());
  return poll_until(
      [&] { return std::filesystem::exists(path) && std::filesystem::file_size(path) > 0; }, 10s);
}

// One encoded batch of `count` stats_counters metrics named `name`, count 1.
std::vector<std::byte> counter_batch(const std::string& name, std::size_t count = 1) {
  std::vector<bucky3::Metric> metrics(count);
  for (auto& m : metrics) {
    m.bucket = "stats_counters";
    m.metadata = {{"name", name}};
    m.values = {{"count", 1.0}};
  }
  std::vector<std::byte> record;
  bucky3::shm::encode_batch(metrics, record);
  return record;
}

// True while `pid` is stopped (SIGSTOP): state T in /proc/<pid>/stat.
bool is_stopped(pid_t pid) {
  const auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  const auto paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'T';
}

}  // namespace

class TestRingTool : public QObject {
  Q_OBJECT
 private slots:
  void status_json_has_the_issue_shape() {
    Agent agent;
    agent.start();
    QVERIFY2(agent.listening(), agent.process.err().c_str());
    auto sender = agent.traffic(2500ms);
    TempDir dir;
    const auto r = run_ring({"status", "--once", "--json", "--instance", agent.instance}, dir);
    sender.join();
    QVERIFY2(r.exit_code == 0, r.err.c_str());
    QCOMPARE(std::count(r.out.begin(), r.out.end(), '\n'), 1L);  // one document
    const auto doc = json_of(r.out);
    QCOMPARE(keys_of(doc), (std::set<QString>{"modules", "rings"}));
    const auto modules = doc["modules"].toArray();
    QCOMPARE(modules.size(), 2);
    const std::set<QString> module_keys{"name",
                                        "type",
                                        "pid",
                                        "state",
                                        "start_time_ms",
                                        "uptime_s",
                                        "restarts",
                                        "heartbeat_age_s",
                                        "stale",
                                        "counters",
                                        "rates",
                                        "cpu_s",
                                        "rss_bytes",
                                        "values",
                                        "values_offered",
                                        "values_time_ms",
                                        "torn"};
    QJsonObject statsd;
    for (const auto& m : modules) {
      const auto o = m.toObject();
      QCOMPARE(keys_of(o), module_keys);
      QCOMPARE(o["state"].toString(), QString("running"));
      QCOMPARE(o["stale"].toBool(), false);
      QVERIFY(o["pid"].toInt() > 0);
      QVERIFY(o["rss_bytes"].toDouble() > 0);
      if (o["name"].toString() == "statsd") statsd = o;
    }
    QCOMPARE(statsd["type"].toString(), QString("statsd_server"));
    QVERIFY(statsd["counters"].toObject()["lines_in"].toDouble() > 0);
    // Sampled a second apart while traffic flowed: ~100 lines/s.
    QVERIFY2(statsd["rates"].toObject()["lines_in"].toDouble() > 10, r.out.c_str());
    // statsd_server's own values (self_report off: written every heartbeat), whole.
    const auto values = statsd["values"].toObject();
    QCOMPARE(keys_of(values), (std::set<QString>{"service_checks", "events", "out_of_window",
                                                 "kernel_drops", "socket_buffer_bytes"}));
    QVERIFY2(values["socket_buffer_bytes"].toDouble() > 0, r.out.c_str());
    QCOMPARE(statsd["values_offered"].toInt(), 5);
    QVERIFY(statsd["values_time_ms"].toDouble() > 0);
    QCOMPARE(statsd["torn"].toBool(), false);
    for (const auto& m : modules) {
      if (m.toObject()["name"].toString() != "out") continue;
      QVERIFY(m.toObject()["values"].toObject().isEmpty());  // debug_output has none
      QCOMPARE(m.toObject()["values_offered"].toInt(), 0);
    }
    const auto rings = doc["rings"].toArray();
    QCOMPARE(rings.size(), 1);
    const auto ring = rings[0].toObject();
    QCOMPARE(keys_of(ring),
             (std::set<QString>{"destination", "source", "capacity_bytes", "used_bytes", "drops"}));
    QCOMPARE(ring["destination"].toString(), QString("out"));
    QCOMPARE(ring["source"].toString(), QString("statsd"));
    QVERIFY(ring["capacity_bytes"].toDouble() > 0);

    const auto table = run_ring({"status", "--once", "--instance", agent.instance}, dir);
    QVERIFY2(table.exit_code == 0, table.err.c_str());
    QVERIFY2(table.out.find("statsd_server") != std::string::npos, table.out.c_str());
    QVERIFY(table.out.find("out <- statsd") != std::string::npos);
    QVERIFY2(table.out.find("\nVALUES\nstatsd: service_checks=") != std::string::npos,
             table.out.c_str());
  }

  void status_flags_a_stale_heartbeat_and_lists_errors() {
    Agent agent;
    agent.start();
    QVERIFY(agent.listening());
    send_udp(agent.udp, "this is not statsd\nok:1|c\nbad:x|c\n");
    TempDir dir;
    QVERIFY(poll_until(
        [&] {
          const auto r = run_ring(
              {"status", "--errors", "statsd", "--json", "--instance", agent.instance}, dir);
          return json_of(r.out)["errors"].toArray().size() >= 2;
        },
        10s));
    const auto errors =
        run_ring({"status", "--errors", "statsd", "--json", "--instance", agent.instance}, dir);
    QVERIFY2(errors.out.find("this is not statsd") != std::string::npos, errors.out.c_str());
    QVERIFY2(errors.out.find("bad:x|c") != std::string::npos, errors.out.c_str());
    const auto text = run_ring({"status", "--errors", "statsd", "--instance", agent.instance}, dir);
    QVERIFY2(text.out.find("\"this is not statsd\"") != std::string::npos, text.out.c_str());
    const auto none = run_ring({"status", "--errors", "nope", "--instance", agent.instance}, dir);
    QCOMPARE(none.exit_code, 1);
    QVERIFY2(none.err.find("has no module \"nope\"") != std::string::npos, none.err.c_str());

    // A stopped process cannot heartbeat: after 5 s it is flagged.
    const auto pid = module_pid(agent.process.pid(), "out");
    QVERIFY(pid > 0);
    ::kill(pid, SIGSTOP);
    std::this_thread::sleep_for(5500ms);
    const auto r = run_ring({"status", "--once", "--json", "--instance", agent.instance}, dir);
    const auto table = run_ring({"status", "--once", "--instance", agent.instance}, dir);
    ::kill(pid, SIGCONT);
    bool stale_out = false, stale_statsd = true;
    for (const auto& m : json_of(r.out)["modules"].toArray()) {
      const auto o = m.toObject();
      if (o["name"].toString() == "out") stale_out = o["stale"].toBool();
      if (o["name"].toString() == "statsd") stale_statsd = o["stale"].toBool();
    }
    QVERIFY2(stale_out, r.out.c_str());
    QVERIFY(!stale_statsd);
    QVERIFY2(table.out.find("STALE") != std::string::npos, table.out.c_str());
  }

  void list_shows_running_and_stale_instances() {
    TempDir dir;
    std::string instance;
    {
      Agent agent;
      agent.start();
      QVERIFY(agent.listening());
      instance = agent.instance;
      const auto r = run_ring({"list", "--json", "--instance", instance}, dir);
      QVERIFY2(r.exit_code == 0, r.err.c_str());
      const auto inst = json_of(r.out)["instances"].toArray()[0].toObject();
      QCOMPARE(inst["state"].toString(), QString("running"));
      QCOMPARE(inst["supervisor_pid"].toInt(), int(agent.process.pid()));
      QCOMPARE(inst["segments"].toArray().size(), 2);  // health + out
      const auto text = run_ring({"list"}, dir);
      QVERIFY(text.out.find("instance " + instance + ": running") != std::string::npos);
      // kill -9: no one removes the segments; the lock dies with the supervisor.
      agent.process.signal(SIGKILL);
      agent.process.wait(10s);
      const auto stale = run_ring({"list", "--instance", instance}, dir);
      QVERIFY2(
          stale.out.find("instance " + instance +
                         ": stale (lock file not held by a live supervisor)") != std::string::npos,
          stale.out.c_str());
      QVERIFY(stale.out.find("STALE") != std::string::npos);
      const auto js = run_ring({"list", "--json", "--instance", instance}, dir);
      QCOMPARE(json_of(js.out)["instances"].toArray()[0].toObject()["state"].toString(),
               QString("stale"));
    }
    for (const auto& entry : std::filesystem::directory_iterator("/dev/shm")) {
      if (entry.path().filename().string().starts_with("bucky3." + instance + ".")) {
        std::filesystem::remove(entry.path());
      }
    }
    const auto gone = run_ring({"list", "--instance", instance}, dir);
    QCOMPARE(gone.exit_code, 1);
    QVERIFY(gone.err.find("no such instance") != std::string::npos);
  }

  void top_counts_series_per_name() {
    Agent agent;
    agent.start();
    QVERIFY(agent.listening());
    TempDir dir;
    Process top;
    top.start({ring_binary(), "top", "--json", "--ring", "out", "--seconds", "3", "--by", "series",
               "--instance", agent.instance},
              dir.path());
    std::this_thread::sleep_for(300ms);
    auto sender = agent.traffic(2000ms, 7);
    sender.join();
    const auto r = finish(top);
    QVERIFY2(r.exit_code == 0, r.err.c_str());
    const auto ring = json_of(r.out)["rings"].toArray()[0].toObject();
    QCOMPARE(ring["destination"].toString(), QString("out"));
    QVERIFY(ring["metrics"].toDouble() > 0);
    const auto names = ring["names"].toArray();
    QVERIFY(!names.isEmpty());
    const auto first = names[0].toObject();
    QCOMPARE(first["key"].toString(), QString("stats_counters name=many"));  // 7 series by id
    QCOMPARE(first["series"].toInt(), 7);
    QVERIFY(first["last_seen_ms"].toDouble() > 0);
    bool id_key = false;
    for (const auto& k : ring["tag_keys"].toArray()) {
      const auto o = k.toObject();
      if (o["key"].toString() == "id") {
        id_key = true;
        QCOMPARE(o["values"].toInt(), 7);
      }
    }
    QVERIFY(id_key);
    // The terminal table for people.
    Process table;
    table.start({ring_binary(), "top", "--once", "--interval", "1.5", "--instance", agent.instance},
                dir.path());
    auto more = agent.traffic(1000ms, 2);
    more.join();
    const auto t = finish(table);
    QVERIFY2(t.exit_code == 0, t.err.c_str());
    QVERIFY2(t.out.find("stats_counters name=many") != std::string::npos, t.out.c_str());
    QVERIFY(t.out.find("TAG KEY") != std::string::npos);
  }

  // tail, dump and cat against what debug_output printed.
  void tail_dump_and_cat_match_debug_output() {
    Agent agent;
    agent.start();
    QVERIFY(agent.listening());
    TempDir dir;
    const auto dump_path = dir.path() + "/capture.b3dump";
    Process tail, dump;
    tail.start({ring_binary(), "tail", "--json", "--seconds", "3", "--instance", agent.instance},
               dir.path());
    dump.start(
        {ring_binary(), "dump", "--ring", "out", "-o", dump_path, "--instance", agent.instance},
        dir.path());
    std::this_thread::sleep_for(300ms);
    auto sender = agent.traffic(2000ms);
    sender.join();
    std::this_thread::sleep_for(700ms);  // one more flush interval
    dump.signal(SIGINT);                 // no limit: runs until SIGINT, then closes the file
    const auto d = finish(dump);
    const auto t = finish(tail);
    QVERIFY2(d.exit_code == 0, d.err.c_str());
    QVERIFY2(d.err.find("0 records missed") != std::string::npos, d.err.c_str());
    QVERIFY2(t.exit_code == 0, t.err.c_str());

    const auto cat = run_ring({"cat", "--json", dump_path}, dir);
    QVERIFY2(cat.exit_code == 0, cat.err.c_str());
    QVERIFY(!cat.out.empty());
    // Every line cat prints is a line debug_output printed, in the same order.
    const auto printed = agent.process.out();
    QVERIFY2(printed.find(cat.out) != std::string::npos, cat.out.c_str());
    QVERIFY(printed.find(t.out.substr(0, t.out.find('\n') + 1)) != std::string::npos);
    QVERIFY(t.out.find("\"name\":\"hits\"") != std::string::npos);
    const auto text = run_ring({"cat", dump_path}, dir);
    QVERIFY(text.out.find("stats_counters host=ringtool,name=hits count=") != std::string::npos);

    // Cut: what it holds, where it was cut, exit 1.
    const auto whole = read_file(dump_path);
    const auto boundary = dir.write("boundary.b3dump", whole.substr(0, whole.size() - 44));
    auto cut = run_ring({"cat", "--json", boundary}, dir);
    QCOMPARE(cut.exit_code, 1);
    QCOMPARE(cut.out, cat.out);
    QVERIFY2(cut.err.find("without its trailer") != std::string::npos, cut.err.c_str());
    const auto middle = dir.write("middle.b3dump", whole.substr(0, whole.size() - 60));
    cut = run_ring({"cat", "--json", middle}, dir);
    QCOMPARE(cut.exit_code, 1);
    QVERIFY2(cut.err.find("truncated: cut inside") != std::string::npos, cut.err.c_str());
    auto flipped = whole;
    flipped[whole.size() / 2] = static_cast<char>(flipped[whole.size() / 2] ^ 0x20);
    cut = run_ring({"cat", dir.write("flipped.b3dump", flipped)}, dir);
    QCOMPARE(cut.exit_code, 1);
    QVERIFY2(cut.err.find("corrupt: ") != std::string::npos, cut.err.c_str());

    // A limit: --batches.
    Process limited;
    const auto two = dir.path() + "/two.b3dump";
    limited.start({ring_binary(), "dump", "--ring", "out", "--batches", "2", "-o", two,
                   "--instance", agent.instance},
                  dir.path());
    auto more = agent.traffic(2000ms);
    more.join();
    const auto l = finish(limited);
    QVERIFY2(l.exit_code == 0, l.err.c_str());
    QVERIFY2(l.err.find("dump: 2 batches") != std::string::npos, l.err.c_str());
  }

  // The agent restarts (its segments are removed and created anew) under a running
  // tail and dump: both notice the new file, say so, and keep getting data; the
  // dump records the gap as missed records.
  void tail_and_dump_follow_a_restarted_agent() {
    Agent agent;
    agent.start();
    QVERIFY2(agent.listening(), agent.process.err().c_str());
    TempDir dir;
    const auto dump_path = dir.path() + "/restart.b3dump";
    Process tail, dump;
    tail.start({ring_binary(), "tail", "--json", "--instance", agent.instance}, dir.path());
    dump.start(
        {ring_binary(), "dump", "--ring", "out", "-o", dump_path, "--instance", agent.instance},
        dir.path());
    const auto tail_has = [&](const std::string& text) {
      return poll_until([&] { return tail.out().find(text) != std::string::npos; }, 20s);
    };
    // Before: a first name reaches tail (so both have mapped the first segment).
    QVERIFY(poll_until(
        [&] {
          send_udp(agent.udp, "before_restart:1|c\n");
          return tail.out().find("before_restart") != std::string::npos;
        },
        20s));
    agent.process.signal(SIGTERM);
    QVERIFY(agent.process.wait(20s));
    QVERIFY2(poll_until([&] { return tail.err().find("was removed") != std::string::npos; }, 10s),
             tail.err().c_str());
    // The same agent again: same instance and config, new segments.
    Process again;
    again.start({bucky3_binary(), agent.dir.path() + "/bucky3.yaml"}, agent.dir.path());
    QVERIFY2(
        poll_until([&] { return again.err().find("listening on UDP") != std::string::npos; }, 20s),
        again.err().c_str());
    QVERIFY2(poll_until(
                 [&] {
                   send_udp(agent.udp, "after_restart:1|c\n");
                   return tail.out().find("after_restart") != std::string::npos;
                 },
                 20s),
             (tail.err() + again.err()).c_str());
    QVERIFY(tail_has("after_restart"));
    QVERIFY2(tail.err().find("was recreated (agent restarted)") != std::string::npos,
             tail.err().c_str());
    // Give the dump one more flush, then close it.
    std::this_thread::sleep_for(1500ms);
    dump.signal(SIGINT);
    tail.signal(SIGINT);
    const auto d = finish(dump);
    const auto t = finish(tail);
    again.signal(SIGTERM);
    again.wait(20s);
    qInfo("tail said: %s", t.err.c_str());
    qInfo("dump said: %s", d.err.c_str());
    QVERIFY2(d.exit_code == 0, d.err.c_str());
    QVERIFY2(t.exit_code == 0, t.err.c_str());
    QVERIFY2(d.err.find("was recreated (agent restarted)") != std::string::npos, d.err.c_str());
    const auto cat = run_ring({"cat", "--json", dump_path}, dir);
    QVERIFY2(cat.exit_code == 0, cat.err.c_str());
    QVERIFY2(cat.out.find("before_restart") != std::string::npos, cat.out.c_str());
    QVERIFY2(cat.out.find("after_restart") != std::string::npos, cat.out.c_str());
    // What the new segment got before the dump re-opened it is a recorded gap (the
    // agent's first flush may come before or after that, so only when it said so).
    if (d.err.find("; 0 records published before") == std::string::npos) {
      QVERIFY2(cat.err.find("the capture missed") != std::string::npos, cat.err.c_str());
    }
  }

  // The gap across a recreated segment, exactly: the dump is stopped (SIGSTOP) while
  // the old segment gets one more record and the new one five; after SIGCONT it
  // takes the one from its old mapping, counts the five as missed in the file, and
  // captures what comes next.
  void dump_records_the_gap_of_a_recreated_segment() {
    namespace shm = bucky3::shm;
    const auto instance = unique_instance();
    auto health = shm::HealthBlock::create(
        instance, {{"src", "statsd_server"}, {"sink", "debug_output"}}, std::nullopt);
    const shm::SegmentOptions options{.ring_size_bytes = 64 << 10, .shm_group = std::nullopt};
    auto old_segment = shm::DestinationSegment::create(instance, "sink", {"src"}, options);
    TempDir dir;
    const auto path = dir.path() + "/gap.b3dump";
    Process dump;
    QVERIFY(start_sink_dump(dump, instance, path, dir));
    const auto record = counter_batch("gap");
    shm::RingWriter old_writer(old_segment, 0);
    QVERIFY(old_writer.try_write(record));
    QVERIFY(old_writer.try_write(record));
    dump.signal(SIGSTOP);
    QVERIFY(poll_until([&] { return is_stopped(dump.pid()); }, 10s));
    QVERIFY(old_writer.try_write(record));  // only in the old mapping now
    auto new_segment = shm::DestinationSegment::create(instance, "sink", {"src"}, options);
    shm::RingWriter new_writer(new_segment, 0);
    for (int i = 0; i < 5; ++i) QVERIFY(new_writer.try_write(record));  // before the re-open
    dump.signal(SIGCONT);
    QVERIFY2(poll_until([&] { return dump.err().find("was recreated") != std::string::npos; }, 10s),
             dump.err().c_str());
    QVERIFY(new_writer.try_write(record));
    QVERIFY(new_writer.try_write(record));
    // Let it take them (it polls every 20 ms; at SIGTERM it polls once more and closes).
    std::this_thread::sleep_for(300ms);
    dump.signal(SIGTERM);
    const auto r = finish(dump);
    QVERIFY2(r.exit_code == 0, r.err.c_str());
    QVERIFY2(r.err.find("was recreated (agent restarted): following the new segment; 5 records "
                        "published before it was re-opened are missed") != std::string::npos,
             r.err.c_str());
    shm::DestinationSegment::remove(instance, "sink");
    shm::HealthBlock::remove(instance);

    shm::dump::Reader reader;
    const auto bytes = read_file(path);
    reader.feed(std::as_bytes(std::span(bytes.data(), bytes.size())));
    reader.finish();
    shm::dump::Item item;
    std::uint64_t records = 0, missed = 0;
    std::optional<shm::dump::Trailer> trailer;
    while (reader.next(item) == shm::dump::Reader::Status::item) {
      if (std::get_if<shm::dump::Record>(&item)) ++records;
      if (const auto* m = std::get_if<shm::dump::Missed>(&item)) {
        QCOMPARE(m->source, std::string("src"));
        missed += m->records;
      }
      if (const auto* t = std::get_if<shm::dump::Trailer>(&item)) trailer = *t;
    }
    QCOMPARE(records, std::uint64_t{5});  // 2 + 1 from the old segment, 2 from the new
    QCOMPARE(missed, std::uint64_t{5});
    QVERIFY(trailer);
    QCOMPARE(trailer->missed_records, std::uint64_t{5});
  }

  // A producer that laps the observer: dump skips ahead, writes what it missed
  // into the file, says it on stderr, and what it did capture is intact.
  void dump_counts_what_the_producer_overwrote() {
    namespace shm = bucky3::shm;
    const auto instance = unique_instance();
    auto health = shm::HealthBlock::create(
        instance, {{"src", "statsd_server"}, {"sink", "debug_output"}}, std::nullopt);
    auto segment = shm::DestinationSegment::create(
        instance, "sink", {"src"}, {.ring_size_bytes = 4096, .shm_group = std::nullopt});
    TempDir dir;
    const auto path = dir.path() + "/lapped.b3dump";
    Process dump;
    QVERIFY(start_sink_dump(dump, instance, path, dir));
    // Producer and consumer in one loop, as fast as they go: a 4 KiB ring is
    // refilled far faster than an observer polling every millisecond can follow.
    shm::RingWriter writer(segment, 0);
    shm::RingReader reader(segment, 0);
    const auto record = counter_batch("lap", 3);
    std::uint64_t written = 0;
    const auto end = std::chrono::steady_clock::now() + 1500ms;
    while (std::chrono::steady_clock::now() < end) {
      if (writer.try_write(record)) ++written;
      while (reader.peek()) reader.commit();
    }
    std::this_thread::sleep_for(100ms);
    dump.signal(SIGTERM);
    const auto r = finish(dump);
    QVERIFY2(r.exit_code == 0, r.err.c_str());
    QVERIFY2(r.err.find("the producer lapped this observer") != std::string::npos, r.err.c_str());
    shm::DestinationSegment::remove(instance, "sink");
    shm::HealthBlock::remove(instance);

    shm::dump::Reader dump_reader;
    const auto bytes = read_file(path);
    dump_reader.feed(std::as_bytes(std::span(bytes.data(), bytes.size())));
    dump_reader.finish();
    shm::dump::Item item;
    std::uint64_t records = 0, missed = 0;
    shm::DecodedBatch decoded;
    std::optional<shm::dump::Trailer> trailer;
    for (;;) {
      const auto status = dump_reader.next(item);
      if (status != shm::dump::Reader::Status::item) {
        QCOMPARE(int(status), int(shm::dump::Reader::Status::end));
        break;
      }
      if (const auto* rec = std::get_if<shm::dump::Record>(&item)) {
        ++records;
        QVERIFY(!shm::decode_batch(rec->batch, decoded));  // nothing torn
        QCOMPARE(decoded.metrics.size(), std::size_t(3));
      } else if (const auto* m = std::get_if<shm::dump::Missed>(&item)) {
        QCOMPARE(m->source, std::string("src"));
        missed += m->records;
      } else if (const auto* t = std::get_if<shm::dump::Trailer>(&item)) {
        trailer = *t;
      }
    }
    qInfo("written %llu, captured %llu, missed %llu", (unsigned long long)written,
          (unsigned long long)records, (unsigned long long)missed);
    QVERIFY(trailer);
    QVERIFY(missed > 0);
    QCOMPARE(trailer->missed_records, missed);
    // Each record was either captured or counted missed. The count may lag by one
    // record at the end, when no later overrun completed it, and lead by one at the
    // start: records_written is bumped just after write_pos, so the one read when the
    // observer took its start position may not count the record before it yet
    // (RingSet::add_rings; seen once in CI's ASan run: 632680 + 4116296 = written + 1).
    QVERIFY2(
        records + missed <= written + 1 && records + missed + 2 >= written,
        qPrintable(
            QString("written %1, captured %2, missed %3").arg(written).arg(records).arg(missed)));
  }

  void exit_codes_and_messages() {
    TempDir dir;
    auto r = run_ring({"status", "--once", "--instance", "nosuch_instance"}, dir);
    QCOMPARE(r.exit_code, 1);
    QVERIFY2(r.err.find("no such instance \"nosuch_instance\"") != std::string::npos,
             r.err.c_str());
    r = run_ring({"status", "--frobnicate"}, dir);
    QCOMPARE(r.exit_code, 2);
    QVERIFY(r.err.find("unknown option --frobnicate") != std::string::npos);
    r = run_ring({"frobnicate"}, dir);
    QCOMPARE(r.exit_code, 2);
    r = run_ring({"dump", "--ring", "out"}, dir);
    QCOMPARE(r.exit_code, 2);
    QVERIFY(r.err.find("-o FILE") != std::string::npos);
    r = run_ring({"top", "--by", "size"}, dir);
    QCOMPARE(r.exit_code, 2);
    r = run_ring({"cat", dir.write("text.txt", "hello\n")}, dir);
    QCOMPARE(r.exit_code, 1);
    QVERIFY(r.err.find("not a .b3dump file") != std::string::npos);

    // Another layout version: a health block from a future build.
    const auto instance = unique_instance();
    const auto path = "/dev/shm/bucky3." + instance + ".health";
    {
      std::string bytes(4096, '\0');
      const std::uint64_t magic = 0x48544c4145483342ULL;  // "B3HEALTH"
      const std::uint32_t version = 99;
      std::memcpy(bytes.data(), &magic, 8);
      std::memcpy(bytes.data() + 8, &version, 4);
      std::ofstream(path, std::ios::binary) << bytes;
    }
    r = run_ring({"status", "--once", "--instance", instance}, dir);
    std::filesystem::remove(path);
    QCOMPARE(r.exit_code, 1);
    QVERIFY2(r.err.find("layout version 99") != std::string::npos, r.err.c_str());
  }

  // 0640 + shm_group: a user in the group reads everything, one outside it is
  // told why not. Needs root (setpriv changes uid).
  void read_only_user() {
    if (::geteuid() != 0) QSKIP("needs root to run bucky3-ring as another user");
    if (::access("/usr/bin/setpriv", X_OK) != 0) QSKIP("no setpriv");
    Agent agent;
    agent.shm_group = "nogroup";  // gid 65534 on Debian
    agent.start();
    QVERIFY(agent.listening());
    TempDir dir;
    const std::vector<std::string> member{"setpriv", "--reuid=65534", "--regid=65534",
                                          "--clear-groups"};
    const std::vector<std::string> supplementary{"setpriv", "--reuid=65534", "--regid=12345",
                                                 "--groups=65534"};
    const std::vector<std::string> outsider{"setpriv", "--reuid=65534", "--regid=12345",
                                            "--clear-groups"};
    const auto with = [](std::vector<std::string> prefix) {
      prefix[0] = "/usr/bin/setpriv";
      return prefix;
    };
    auto sender = agent.traffic(3000ms);
    auto r =
        run_ring({"status", "--once", "--json", "--instance", agent.instance}, dir, with(member));
    QVERIFY2(r.exit_code == 0, r.err.c_str());
    QCOMPARE(json_of(r.out)["modules"].toArray().size(), 2);
    r = run_ring({"tail", "--json", "--seconds", "1.5", "--instance", agent.instance}, dir,
                 with(supplementary));
    QVERIFY2(r.exit_code == 0, r.err.c_str());
    QVERIFY2(r.out.find("\"bucket\"") != std::string::npos, r.err.c_str());
    r = run_ring({"list", "--instance", agent.instance}, dir, with(member));
    QVERIFY2(r.out.find(": running (supervisor pid") != std::string::npos, r.out.c_str());
    r = run_ring({"status", "--once", "--instance", agent.instance}, dir, with(outsider));
    sender.join();
    QCOMPARE(r.exit_code, 1);
    QVERIFY2(r.err.find("permission denied: /dev/shm/bucky3." + agent.instance +
                        ".health is mode 0640") != std::string::npos,
             r.err.c_str());
    QVERIFY(r.err.find("group \"nogroup\"") != std::string::npos);
  }

  // tail over every destination picks up a destination that appears later (an
  // agent restarted with one more destination in its config).
  void tail_follows_a_destination_that_appears() {
    namespace shm = bucky3::shm;
    const auto instance = unique_instance();
    auto health = shm::HealthBlock::create(
        instance, {{"src", "statsd_server"}, {"first", "debug_output"}}, std::nullopt);
    const shm::SegmentOptions options{.ring_size_bytes = 64 << 10, .shm_group = std::nullopt};
    auto first = shm::DestinationSegment::create(instance, "first", {"src"}, options);
    TempDir dir;
    Process tail;
    tail.start({ring_binary(), "tail", "--instance", instance}, dir.path());
    const auto record = counter_batch("appearing");
    shm::RingWriter first_writer(first, 0);
    // tail starts at the write position: write until it has mapped and shown one.
    QVERIFY2(poll_until(
                 [&] {
                   (void)first_writer.try_write(record);
                   return tail.out().find("first <- src") != std::string::npos;
                 },
                 10s),
             tail.err().c_str());
    auto second = shm::DestinationSegment::create(instance, "second", {"src"}, options);
    shm::RingWriter second_writer(second, 0);
    QVERIFY2(poll_until(
                 [&] {
                   (void)second_writer.try_write(record);
                   return tail.out().find("second <- src") != std::string::npos;
                 },
                 10s),
             (tail.out() + tail.err()).c_str());
    QVERIFY2(tail.err().find("second is a new destination") != std::string::npos,
             tail.err().c_str());
    tail.signal(SIGINT);
    QCOMPARE(finish(tail).exit_code, 0);
    shm::DestinationSegment::remove(instance, "first");
    shm::DestinationSegment::remove(instance, "second");
    shm::HealthBlock::remove(instance);
  }

  // --batches N writes N even when a recreated segment's leftovers come in one go.
  void dump_batches_stays_exact_across_a_reopen() {
    namespace shm = bucky3::shm;
    const auto instance = unique_instance();
    auto health = shm::HealthBlock::create(
        instance, {{"src", "statsd_server"}, {"sink", "debug_output"}}, std::nullopt);
    const shm::SegmentOptions options{.ring_size_bytes = 64 << 10, .shm_group = std::nullopt};
    auto old_segment = shm::DestinationSegment::create(instance, "sink", {"src"}, options);
    TempDir dir;
    const auto path = dir.path() + "/two.b3dump";
    Process dump;
    QVERIFY(start_sink_dump(dump, instance, path, dir, {"--batches", "2"}));
    dump.signal(SIGSTOP);
    QVERIFY(poll_until([&] { return is_stopped(dump.pid()); }, 10s));
    const auto record = counter_batch("exact");
    shm::RingWriter old_writer(old_segment, 0);
    for (int i = 0; i < 4; ++i) QVERIFY(old_writer.try_write(record));
    auto new_segment = shm::DestinationSegment::create(instance, "sink", {"src"}, options);
    std::this_thread::sleep_for(300ms);  // past its 200 ms check: the re-open comes first
    dump.signal(SIGCONT);
    const auto r = finish(dump, 20s);
    QVERIFY2(r.exit_code == 0, r.err.c_str());
    QVERIFY2(r.err.find("dump: 2 batches") != std::string::npos, r.err.c_str());
    shm::DestinationSegment::remove(instance, "sink");
    shm::HealthBlock::remove(instance);
    shm::dump::Reader reader;
    const auto bytes = read_file(path);
    reader.feed(std::as_bytes(std::span(bytes.data(), bytes.size())));
    reader.finish();
    shm::dump::Item item;
    std::uint64_t records = 0;
    while (reader.next(item) == shm::dump::Reader::Status::item) {
      if (std::get_if<shm::dump::Record>(&item)) ++records;
    }
    QCOMPARE(records, std::uint64_t{2});
  }
};

QTEST_GUILESS_MAIN(TestRingTool)
#include "test_ring_tool.moc"
