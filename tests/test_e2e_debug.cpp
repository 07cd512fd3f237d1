// tests/test_e2e_debug.cpp — end to end through real processes: StatsD lines
// over UDP and TCP into a running bucky3, through the shared-memory rings, out
// of debug_output as JSON Lines, checked value by value.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <QtTest>
#include <cmath>
#include <map>
#include <thread>

#include "tests/support/agent.h"
#include "tests/support/json_lines.h"

using namespace bucky3::test;
using namespace std::chrono_literals;

namespace {

std::map<QString, QJsonObject> parse_lines(const std::string& out) {
  return json_lines_by_key(out, {"host"});
}

// statsd_server (UDP and TCP, percentiles, histogram bins) into debug_output JSON.
struct Agent : AgentProcess {
  std::string flush_interval = "0.5";
  std::string extra_globals;  // more top-level lines, each ending in \n

  void start() {
    start_with(config_head(instance, flush_interval, extra_globals + "metadata: {host: e2e}\n") +
               statsd_module(udp, tcp,
                             "    percentile_thresholds: [90, 100]\n"
                             "    histogram_bins:\n"
                             "      - match: {name: \"^lat$\"}\n"
                             "        bins: {fast: 5, slow: .inf}\n") +
               debug_json_module());
  }
  bool listening() { return AgentProcess::listening(10s); }
};

const char* kMix =
    "foo:1|c\nfoo:1|c\nfoo:1|c\nfoo:2|c|@0.5\n"
    "g:5|g\ng:+3|g\ng2:-2|g\n"
    "s:a|s\ns:b|s\ns:a|s\n"
    "lat:1|ms\nlat:2|ms\nlat:3|ms\nlat:4|ms\nlat:5|ms\nlat:6|ms\nlat:7|ms\nlat:8|ms\nlat:9|ms\nlat:"
    "10|ms\n"
    "tagged:1|c|#env:prod,region=eu\n"
    "this is not statsd\n"
    "over:1|c|#bucket=custom\n";

// The keys check_mix reads. kMix is one datagram, so all of them leave in one flush.
const QStringList kMixKeys{"stats_counters name=foo",
                           "stats_gauges name=g",
                           "stats_gauges name=g2",
                           "stats_sets name=s",
                           "stats_timers name=lat percentile=90",
                           "stats_timers name=lat percentile=100",
                           "stats_histograms histogram=fast name=lat",
                           "stats_histograms histogram=slow name=lat",
                           "stats_counters env=prod name=tagged region=eu",
                           "custom name=over"};

// debug_output has written the whole flush of kMix: every key, and the last line ends.
bool mix_is_out(const std::string& out) {
  if (out.empty() || out.back() != '\n') return false;
  const auto got = parse_lines(out);
  for (const auto& key : kMixKeys)
    if (!got.count(key)) return false;
  return true;
}

void check_mix(const std::map<QString, QJsonObject>& got) {
  const auto values = [&](const QString& key) {
    const auto it = got.find(key);
    if (it == got.end()) {
      qWarning() << "missing" << key;
      return QJsonObject{};
    }
    return it->second["values"].toObject();
  };
  QCOMPARE(values("stats_counters name=foo")["count"].toDouble(), 7.0);
  QVERIFY(values("stats_counters name=foo")["rate"].toDouble() > 0);
  QCOMPARE(got.at("stats_gauges name=g")["value"].toDouble(), 8.0);
  QCOMPARE(got.at("stats_gauges name=g2")["value"].toDouble(), -2.0);
  QCOMPARE(values("stats_sets name=s")["count"].toDouble(), 2.0);
  const auto p90 = values("stats_timers name=lat percentile=90");
  QCOMPARE(p90["count"].toDouble(), 9.0);
  QCOMPARE(p90["lower"].toDouble(), 1.0);
  QCOMPARE(p90["upper"].toDouble(), 9.0);
  QCOMPARE(p90["mean"].toDouble(), 5.0);
  QCOMPARE(p90["sum"].toDouble(), 45.0);
  QVERIFY(std::abs(p90["stdev"].toDouble() - std::sqrt(7.5)) < 1e-9);
  const auto p100 = values("stats_timers name=lat percentile=100");
  QCOMPARE(p100["count"].toDouble(), 10.0);
  QCOMPARE(p100["sum"].toDouble(), 55.0);
  const auto fast = values("stats_histograms histogram=fast name=lat");
  QCOMPARE(fast["count"].toDouble(), 4.0);  // 1..4: strictly under 5
  QCOMPARE(fast["upper"].toDouble(), 4.0);
  QCOMPARE(values("stats_histograms histogram=slow name=lat")["count"].toDouble(), 6.0);
  QCOMPARE(values("stats_counters env=prod name=tagged region=eu")["count"].toDouble(), 1.0);
  QCOMPARE(values("custom name=over")["count"].toDouble(), 1.0);
  // Global metadata merged into every metric.
  for (const auto& [key, obj] : got)
    QCOMPARE(obj["metadata"].toObject()["host"].toString(), QString("e2e"));
}

}  // namespace

class TestE2eDebug : public QObject {
  Q_OBJECT
 private slots:
  void udp_mix_comes_out_exact() {
    Agent agent;
    agent.start();
    QVERIFY2(agent.listening(), agent.process.err().c_str());
    send_udp(agent.udp, kMix);  // one datagram: one flush interval
    QVERIFY2(poll_until([&] { return parse_lines(agent.process.out()).size() >= 10; }, 10s),
             agent.process.out().c_str());
    // Nothing half-written is read: every line of the mix's flush is out, the last whole.
    QVERIFY2(poll_until([&] { return mix_is_out(agent.process.out()); }, 10s),
             agent.process.out().c_str());
    check_mix(parse_lines(agent.process.out()));
    QVERIFY(agent.process.err().find("skipped line") != std::string::npos);
  }

  void tcp_mix_comes_out_exact() {
    Agent agent;
    agent.start();
    QVERIFY(agent.listening());
    QVERIFY(poll_until([&] { return send_tcp(agent.tcp, kMix); }, 5s));
    QVERIFY2(poll_until([&] { return parse_lines(agent.process.out()).size() >= 10; }, 10s),
             agent.process.out().c_str());
    QVERIFY2(poll_until([&] { return mix_is_out(agent.process.out()); }, 10s),
             agent.process.out().c_str());
    check_mix(parse_lines(agent.process.out()));
  }

  void sigterm_flushes_what_was_received() {
    Agent agent;
    agent.flush_interval = "60";  // no flush but the one at stop
    agent.start();
    QVERIFY(agent.listening());
    // Stop before the next flush: sources stop first and flush what they
    // hold, and the destination prints what is in its ring before it stops.
    send_udp(agent.udp, "last:5|c\n");
    // No wait: the datagram may still sit in the socket when SIGTERM lands,
    // and the server reads its sockets dry before its last flush.
    agent.process.signal(SIGTERM);
    const auto status = agent.process.wait(10s);
    QVERIFY(status.has_value());
    QCOMPARE(WEXITSTATUS(*status), 0);
    const auto got = parse_lines(agent.process.out());
    QVERIFY2(got.count("stats_counters name=last") == 1, agent.process.out().c_str());
    QCOMPARE(got.at("stats_counters name=last")["values"].toObject()["count"].toDouble(), 5.0);
  }

  void routes_only_to_listed_destinations_and_self_reports() {
    AgentProcess agent;
    auto& process = agent.process;
    const int udp = agent.udp;
    // Two destinations on one stdout, told apart by their format: the source
    // writes only to `text`, so no JSON line may appear.
    agent.start_with(config_head(agent.instance, "0.5") +
                     statsd_module(udp, 0, "    destinations: [text]\n    self_report: true\n") +
                     debug_json_module("json") +
                     "  text:\n    type: debug_output\n    format: text\n");
    QVERIFY(agent.listening(10s));
    send_udp(udp, "routed:1|c\n");
    QVERIFY2(poll_until(
                 [&] {
                   const auto out = process.out();
                   return out.find("stats_counters name=routed count=1.0") != std::string::npos &&
                          out.find("bucky3 name=statsd ") != std::string::npos;
                 },
                 15s),
             process.out().c_str());
    const auto out = process.out();
    QVERIFY2(out.find('{') == std::string::npos, out.c_str());
    // The self-report carries the module's counters.
    const auto line_start = out.find("bucky3 name=statsd ");
    const auto line = out.substr(line_start, out.find('\n', line_start) - line_start);
    QVERIFY2(line.find(" cpu_seconds=") != std::string::npos, line.c_str());
    QVERIFY2(line.find(" uptime_seconds=") != std::string::npos, line.c_str());
    QVERIFY2(line.find(" lines_in=") != std::string::npos, line.c_str());
    process.signal(SIGTERM);
    QVERIFY(process.wait(10s).has_value());
  }

  void killed_destination_loses_nothing() {
    Agent agent;
    agent.flush_interval = "0.2";
    agent.extra_globals = "chunk_size: 20\n";
    agent.start();
    QVERIFY2(agent.listening(), agent.process.err().c_str());
    auto& process = agent.process;
    const int udp = agent.udp;
    // 4000 distinct counters, each sent once; the destination is killed with
    // SIGKILL twice meanwhile. Every one must come out at least once (the batch
    // in flight at a kill may come out twice).
    constexpr int kNames = 4000;
    int kills = 0;
    for (int i = 0; i < kNames; i += 40) {
      std::string datagram;
      for (int j = i; j < i + 40; ++j) datagram += "n" + std::to_string(j) + ":1|c\n";
      send_udp(udp, datagram);
      if (i == 1200 || i == 2800) {
        if (const pid_t out = module_pid(process.pid(), "out"); out > 0) {
          ::kill(out, SIGKILL);
          ++kills;
        }
      }
      std::this_thread::sleep_for(5ms);  // spread over several flushes
    }
    QCOMPARE(kills, 2);
    const auto all_seen = [&] {
      const auto lines = parse_lines(process.out());
      for (int i = 0; i < kNames; ++i)
        if (!lines.count(QString("stats_counters name=n%1").arg(i))) return false;
      return true;
    };
    QVERIFY2(poll_until(all_seen, 20s), process.err().c_str());
    QVERIFY(process.err().find("out killed by signal") != std::string::npos);
    process.signal(SIGTERM);
    QVERIFY(process.wait(10s).has_value());
  }

  void batch_bigger_than_half_a_ring_is_split() {
    // A 256 KiB ring takes records of at most 128 KiB; 1000 metrics with long
    // tags in one chunk encode to ~170 KB, so the chunk goes as two records.
    Agent agent;
    agent.extra_globals = "chunk_size: 1000\nring_size: 256KiB\n";
    agent.start();
    QVERIFY2(agent.listening(), agent.process.err().c_str());
    auto& process = agent.process;
    const int udp = agent.udp;
    const std::string long_tag(100, 'x');
    for (int i = 0; i < 1000; i += 10) {
      std::string datagram;
      for (int j = i; j < i + 10; ++j)
        datagram += "big" + std::to_string(j) + ":1|c|#t:" + long_tag + "\n";
      send_udp(udp, datagram);
    }
    const auto all_seen = [&] {
      const auto lines = parse_lines(process.out());
      for (int i = 0; i < 1000; ++i)
        if (!lines.count(QString("stats_counters name=big%1 t=%2")
                             .arg(i)
                             .arg(QString::fromStdString(long_tag))))
          return false;
      return true;
    };
    QVERIFY2(poll_until(all_seen, 15s), process.err().c_str());
    process.signal(SIGTERM);
    QVERIFY(process.wait(10s).has_value());
  }
};

QTEST_GUILESS_MAIN(TestE2eDebug)
#include "test_e2e_debug.moc"
