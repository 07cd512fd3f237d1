// tests/test_e2e_clients.cpp — real StatsD client libraries against a running
// bucky3: npm hot-shots 17.1.1 (DogStatsD mode with tags, `d` and `|T`,
// Telegraf mode, TCP) and Debian's python3-statsd (UDP, TCP). Each client sends
// a known mix then an invalid sentinel line; once the sentinel shows in the
// health block every line before it was read, the agent is stopped (its one
// flush holds everything) and debug_output's JSON is checked value by value.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <QtTest>
#include <map>

#include "shm/health.h"
#include "tests/support/agent.h"
#include "tests/support/json_lines.h"

using namespace bucky3::test;
using namespace std::chrono_literals;

namespace {

using Lines = std::map<QString, QJsonObject>;

Lines parse_lines(const std::string& out) {
  return json_lines_by_key(out);
}

QJsonObject values(const Lines& lines, const QString& key) {
  const auto it = lines.find(key);
  if (it == lines.end()) {
    QString keys;
    for (const auto& [k, v] : lines) keys += k + "\n";
    qWarning().noquote() << "missing" << key << "in\n" << keys;
    return {};
  }
  return it->second["values"].toObject();
}

double value(const Lines& lines, const QString& key) {
  const auto it = lines.find(key);
  return it == lines.end() ? -1e300 : it->second["value"].toDouble();
}

class Agent {
 public:
  Agent() {
    agent_.start_with(
        config_head(agent_.instance, "60") +
        statsd_module(agent_.udp, agent_.tcp, "    percentile_thresholds: [50, 100]\n") +
        debug_json_module());
    ready_ = agent_.listening(15s);
  }

  bool ready() const { return ready_; }
  int udp() const { return agent_.udp; }
  int tcp() const { return agent_.tcp; }
  std::string sentinel() const { return "!!sentinel-" + agent_.instance; }
  std::string err() const { return agent_.process.err(); }

  // Waits until the sentinel line shows in the module's recent errors.
  bool saw_sentinel() {
    return poll_until(
        [&] {
          try {
            const auto health =
                bucky3::shm::HealthBlock::open(agent_.instance, bucky3::shm::Access::read_only);
            const auto slot = health.find("statsd");
            if (!slot) return false;
            for (const auto& e : health.snapshot(*slot).errors)
              if (e.text.find(sentinel()) != std::string::npos) return true;
          } catch (const std::exception&) {
          }
          return false;
        },
        20s);
  }

  // Stops the agent (its sources flush once) and returns debug_output's lines.
  Lines stop() {
    agent_.process.signal(SIGTERM);
    const auto status = agent_.process.wait(15s);
    if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0)
      qWarning() << "agent did not stop cleanly";
    return parse_lines(agent_.process.out());
  }

 private:
  AgentProcess agent_;
  bool ready_ = false;
};

std::string node_dir() {
  return source_dir() + "/tests/node";
}

}  // namespace

class TestE2eClients : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase() {
    if (::access((node_dir() + "/node_modules/hot-shots/package.json").c_str(), R_OK) != 0)
      QFAIL("hot-shots is not installed: run scripts/install-deps.sh");
  }

  void hot_shots_data() {
    QTest::addColumn<QString>("mode");
    QTest::newRow("dogstatsd udp") << "dogstatsd";
    QTest::newRow("telegraf udp") << "telegraf";
    QTest::newRow("tcp") << "tcp";
  }
  void hot_shots() {
    QFETCH(QString, mode);
    Agent agent;
    QVERIFY2(agent.ready(), agent.err().c_str());
    const std::int64_t ts = std::time(nullptr) - 30;
    const int port = mode == "tcp" ? agent.tcp() : agent.udp();
    std::string out;
    QCOMPARE(run_command({"/usr/bin/env", "node", node_dir() + "/send_mix.js", mode.toStdString(),
                          std::to_string(port), agent.sentinel(), std::to_string(ts)},
                         &out),
             0);
    QVERIFY2(agent.saw_sentinel(), (out + agent.err()).c_str());
    const auto lines = agent.stop();

    const QString tags = " env=prod";
    QCOMPARE(values(lines, "stats_counters env=prod name=hot.hits region=eu")["count"].toDouble(),
             10.0);
    QCOMPARE(value(lines, "stats_gauges name=hot.temp"), 21.5);
    const auto p100 = values(lines, "stats_timers env=prod name=hot.lat percentile=100 region=eu");
    QCOMPARE(p100["count"].toDouble(), 4.0);
    QCOMPARE(p100["sum"].toDouble(), 1000.0);
    QCOMPARE(p100["lower"].toDouble(), 100.0);
    QCOMPARE(p100["upper"].toDouble(), 400.0);
    const auto p50 = values(lines, "stats_timers env=prod name=hot.lat percentile=50 region=eu");
    QCOMPARE(p50["count"].toDouble(), 2.0);
    QCOMPARE(p50["upper"].toDouble(), 200.0);
    QCOMPARE(values(lines, "stats_timers name=hot.hist percentile=100")["sum"].toDouble(), 3.0);
    QCOMPARE(values(lines, "stats_sets name=hot.users")["count"].toDouble(), 2.0);
    if (mode != "telegraf") {
      QCOMPARE(values(lines, "stats_timers kind=a name=hot.dist percentile=100")["sum"].toDouble(),
               7.0);
      const auto it = lines.find("stats_gauges name=hot.ts_gauge");
      QVERIFY(it != lines.end());
      QCOMPARE(it->second["value"].toDouble(), 1.0);
      QCOMPARE(it->second["timestamp"].toDouble(), double(ts) * 1000);
    }
  }

  void python_statsd_data() {
    QTest::addColumn<QString>("mode");
    QTest::newRow("udp") << "udp";
    QTest::newRow("tcp") << "tcp";
  }
  void python_statsd() {
    QFETCH(QString, mode);
    Agent agent;
    QVERIFY2(agent.ready(), agent.err().c_str());
    const int port = mode == "tcp" ? agent.tcp() : agent.udp();
    std::string out;
    // Debian's python3-statsd imports only under /usr/bin/python3.
    QCOMPARE(run_command({"/usr/bin/python3", source_dir() + "/tests/clients/send_mix.py",
                          mode.toStdString(), std::to_string(port), agent.sentinel()},
                         &out),
             0);
    QVERIFY2(agent.saw_sentinel(), (out + agent.err()).c_str());
    const auto lines = agent.stop();
    QCOMPARE(values(lines, "stats_counters name=py.hits")["count"].toDouble(), 8.0);
    QCOMPARE(value(lines, "stats_gauges name=py.temp"), 23.0);
    const auto p100 = values(lines, "stats_timers name=py.lat percentile=100");
    QCOMPARE(p100["count"].toDouble(), 4.0);
    QCOMPARE(p100["mean"].toDouble(), 250.0);
    QCOMPARE(values(lines, "stats_sets name=py.users")["count"].toDouble(), 2.0);
  }
};

QTEST_GUILESS_MAIN(TestE2eClients)
#include "test_e2e_clients.moc"
