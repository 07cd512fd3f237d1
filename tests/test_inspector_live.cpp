// tests/test_inspector_live.cpp — the inspector against a real bucky3: its
// models fed by LiveSource from a running daemon receiving real UDP StatsD,
// re-attach after the daemon restarts, and the bucky3-inspector binary itself:
// a dump on stdin (a file, and `bucky3-ring dump -o - |` from the live daemon)
// and the permission message for a user without access.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <QAbstractItemModelTester>
#include <QDateTime>
#include <QtTest>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "inspector/live_source.h"
#include "inspector/models/health_model.h"
#include "inspector/models/roles.h"
#include "inspector/models/series_model.h"
#include "inspector/models/talkers_model.h"
#include "inspector/series_store.h"
#include "shm/batch_codec.h"
#include "shm/dump.h"
#include "shm/talkers.h"
#include "tests/support/agent.h"

using namespace bucky3;
using namespace bucky3::inspector;
using namespace bucky3::test;
using namespace std::chrono_literals;

namespace {

std::int64_t now_ms() {
  return QDateTime::currentMSecsSinceEpoch();
}

std::string inspector_binary() {
  return build_dir() + "/bin/bucky3-inspector";
}
std::string ring_binary() {
  return build_dir() + "/bin/bucky3-ring";
}

// statsd_server into debug_output JSON and the Prometheus exporter.
struct Agent : AgentProcess {
  void start() {
    start_with(config_head(instance, "0.5", "metadata: {host: live}\n") + statsd_module(udp) +
               debug_json_module() + prometheus_module(http));
  }
  bool listening() { return AgentProcess::listening(15s); }
  void stop() {
    process.signal(SIGTERM);
    process.wait(15s);
  }
};

// The inspector's pipeline in-process: a LiveSource feeding a store and the talkers.
struct Inspector {
  LiveSource live;
  SeriesStore store;
  shm::TopTalkers talkers;
  std::size_t batches = 0;
  explicit Inspector(const std::string& instance) : live(instance) {
    live.set_batch_handler([this](const RingView& ring, const shm::DecodedBatch& batch, std::size_t,
                                  std::int64_t now, bool primary) {
      ++batches;
      if (primary) store.add(batch, ring.source, now);
      if (ring.destination == "out") talkers.add(batch, now);
    });
  }
  void poll() {
    const auto now = now_ms();
    live.drain(now);
    live.refresh(now);
  }
};

std::string write_dump_file(const TempDir& dir, int flushes) {
  std::ostringstream out;
  shm::dump::Writer writer(out, {"default", "out", "", "somehost", 1000, "test"});
  for (int i = 0; i < flushes; ++i) {
    Metric m;
    m.bucket = "stats_gauges";
    m.metadata = {{"name", "piped"}};
    m.values = {{"", double(i)}};
    m.timestamp_ms = 1764100000000 + 1000 * i;
    std::vector<std::byte> batch;
    shm::encode_batch(std::vector<Metric>{m}, batch);
    writer.add_record(1764100000000 + 1000 * i, "statsd", batch);
  }
  writer.close(1764100000000 + 1000 * flushes);
  return dir.write("piped.b3dump", out.str());
}

}  // namespace

class TestInspectorLive : public QObject {
  Q_OBJECT
 private slots:
  void models_follow_a_live_daemon();
  void reattaches_after_a_daemon_restart();
  void binary_reads_a_dump_file_on_stdin();
  void binary_reads_bucky3_ring_dump_from_a_pipe();
  void binary_says_why_it_cannot_attach();
  void binary_answers_help_without_a_display();
};

void TestInspectorLive::models_follow_a_live_daemon() {
  Agent agent;
  agent.start();
  QVERIFY2(agent.listening(), agent.process.err().c_str());
  Inspector inspector(agent.instance);
  HealthModel health;
  RingModel rings;
  SeriesModel series(inspector.store);
  SeriesFilterModel filter(inspector.store);
  filter.setSourceModel(&series);
  PlotModel plot(inspector.store);
  TalkersModel names(TalkersModel::Kind::names);
  QAbstractItemModelTester health_tester(&health,
                                         QAbstractItemModelTester::FailureReportingMode::QtTest);
  QAbstractItemModelTester ring_tester(&rings,
                                       QAbstractItemModelTester::FailureReportingMode::QtTest);
  QAbstractItemModelTester series_tester(&series,
                                         QAbstractItemModelTester::FailureReportingMode::QtTest);
  QAbstractItemModelTester filter_tester(&filter,
                                         QAbstractItemModelTester::FailureReportingMode::QtTest);
  QAbstractItemModelTester plot_tester(&plot,
                                       QAbstractItemModelTester::FailureReportingMode::QtTest);
  QAbstractItemModelTester names_tester(&names,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
  plot.add_pattern(QStringLiteral("stats_gauges{host=live,name=temp*}"));
  filter.set_tag_filter(QStringLiteral("room=kitchen"));
  int round = 0;
  const auto step = [&] {
    send_udp(agent.udp,
             "hits:1|c|#room:kitchen\nhits:2|c|#room:hall\ntemp:" + std::to_string(20 + round % 5) +
                 "|g|#room:kitchen\nthis is not statsd\n");
    ++round;
    inspector.poll();
    health.set_modules(inspector.live.modules());
    rings.set_rings(inspector.live.rings());
    series.refresh(now_ms());
    plot.apply_patterns();
    plot.set_window(now_ms() - 60000, now_ms());
    plot.refresh();
    names.update(inspector.talkers, now_ms());
  };
  // Until the plotted gauge has a few points and the rates are measured.
  QVERIFY2(poll_until(
               [&] {
                 step();
                 std::this_thread::sleep_for(100ms);
                 return plot.rowCount() == 1 && plot.plotted_point_count() >= 3 &&
                        !inspector.live.modules().empty() &&
                        inspector.live.modules()[0].in_per_s > 0;
               },
               30s),
           inspector.live.status().c_str());
  QVERIFY(inspector.live.agent_running());
  // Health: the three modules, running, with their real pids.
  QCOMPARE(health.rowCount(), 3);
  const auto children = children_of(agent.process.pid());
  for (int row = 0; row < health.rowCount(); ++row) {
    QCOMPARE(health.index(row, HealthModel::State).data().toString(), QStringLiteral("running"));
    const pid_t pid = health.index(row, HealthModel::Pid).data().toInt();
    QVERIFY2(std::find(children.begin(), children.end(), pid) != children.end(),
             "a module's pid is a child of bucky3");
    QVERIFY(!health.index(row, 0).data(StaleRole).toBool());
  }
  const auto* statsd = health.module(0);
  QCOMPARE(statsd->health.name, std::string("statsd"));
  QVERIFY(!statsd->health.errors.empty());
  QCOMPARE(statsd->health.errors.back().text, std::string("this is not statsd"));
  QVERIFY(!statsd->health.errors.back().reason.empty());
  ErrorModel errors;
  QAbstractItemModelTester error_tester(&errors,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
  errors.set_errors(statsd->health.errors);
  QCOMPARE(errors.index(0, ErrorModel::Text).data().toString(),
           QStringLiteral("this is not statsd"));
  // Rings: statsd into each destination.
  QCOMPARE(rings.rowCount(), 2);
  QStringList destinations{rings.index(0, RingModel::Destination).data().toString(),
                           rings.index(1, RingModel::Destination).data().toString()};
  destinations.sort();
  QCOMPARE(destinations, (QStringList{"out", "prom"}));
  QVERIFY(rings.index(0, RingModel::Fill).data(FillRole).toDouble() >= 0);
  // Series: one ring per source feeds the store, so no point is counted twice.
  const auto gauge = inspector.store.find("stats_gauges{host=live,name=temp,room=kitchen}");
  QVERIFY(gauge);
  const auto& points = inspector.store.at(*gauge).points;
  for (std::size_t i = 1; i < points.size(); ++i)
    QVERIFY(points[i].time_ms > points[i - 1].time_ms);
  // The tag filter keeps the kitchen only.
  QStringList left;
  for (int b = 0; b < filter.rowCount(); ++b) {
    for (int r = 0; r < filter.rowCount(filter.index(b, 0)); ++r)
      left << filter.index(r, 0, filter.index(b, 0)).data(LabelRole).toString();
  }
  QVERIFY(!left.isEmpty());
  for (const auto& label : left)
    QVERIFY2(label.contains(QStringLiteral("room=kitchen")), qPrintable(label));
  QVERIFY(left.contains(QStringLiteral("stats_counters{host=live,name=hits,room=kitchen}.count")));
  // Talkers: the counter name is ranked with its series.
  bool found = false;
  for (int r = 0; r < names.rowCount(); ++r) {
    if (names.index(r, TalkersModel::Key).data().toString() ==
        QStringLiteral("stats_counters name=hits")) {
      found = true;
      QCOMPARE(names.index(r, TalkersModel::Series).data(SortRole).toULongLong(),
               2ull);  // kitchen, hall
    }
  }
  QVERIFY(found);
}

void TestInspectorLive::reattaches_after_a_daemon_restart() {
  Agent agent;
  agent.start();
  QVERIFY2(agent.listening(), agent.process.err().c_str());
  Inspector inspector(agent.instance);
  QVERIFY(poll_until(
      [&] {
        inspector.poll();
        return inspector.live.attached() && inspector.live.agent_running();
      },
      10s));
  QCOMPARE(inspector.live.attach_count(), 1ull);
  const auto old_pid = inspector.live.modules().at(0).health.pid;
  agent.stop();
  // Segments gone with the agent: the inspector says it waits.
  QVERIFY2(poll_until(
               [&] {
                 inspector.poll();
                 return !inspector.live.attached() || !inspector.live.agent_running();
               },
               10s),
           inspector.live.status().c_str());
  agent.process.start({bucky3_binary(), agent.dir.path() + "/bucky3.yaml"}, agent.dir.path());
  QVERIFY2(agent.listening(), agent.process.err().c_str());
  QVERIFY2(poll_until(
               [&] {
                 send_udp(agent.udp, "after_restart:1|c\n");
                 std::this_thread::sleep_for(100ms);
                 inspector.poll();
                 return inspector.store.find("stats_counters{host=live,name=after_restart}.count")
                     .has_value();
               },
               20s),
           inspector.live.status().c_str());
  QVERIFY(inspector.live.attach_count() >= 2);
  QVERIFY(inspector.live.agent_running());
  QVERIFY(inspector.live.modules().at(0).health.pid != old_pid);
  QVERIFY2(inspector.live.status().find("attached to " + agent.instance) == 0,
           inspector.live.status().c_str());
}

void TestInspectorLive::binary_reads_a_dump_file_on_stdin() {
  TempDir dir;
  const auto dump = write_dump_file(dir, 30);
  std::string out;
  const int code = run_command({"/bin/sh", "-c",
                                "QT_QPA_PLATFORM=offscreen exec " + inspector_binary() +
                                    " --select 'stats_gauges{name=piped}' --screenshot " +
                                    dir.path() + "/shot.png - < " + dump},
                               &out, 60s);
  QVERIFY2(code == 0, out.c_str());
  // Every point of the 30 s capture is in the 5 min window.
  QVERIFY2(out.find("plotted 1 series, 30 points") != std::string::npos, out.c_str());
  QVERIFY2(out.find("stdin (instance default, ring out, host somehost): 30 records, complete") !=
               std::string::npos,
           out.c_str());
  QVERIFY(read_file(dir.path() + "/shot.png").substr(1, 3) == "PNG");
}

void TestInspectorLive::binary_reads_bucky3_ring_dump_from_a_pipe() {
  // What `ssh server bucky3-ring dump -o - | bucky3-inspector -` does, on one host.
  Agent agent;
  agent.start();
  QVERIFY2(agent.listening(), agent.process.err().c_str());
  std::atomic<bool> feeding{true};
  std::thread feeder([&] {
    for (int i = 0; feeding; ++i) {
      send_udp(agent.udp, "piped:" + std::to_string(i % 7) + "|g\n");
      std::this_thread::sleep_for(50ms);
    }
  });
  std::string out;
  const int code = run_command(
      {"/bin/sh", "-c",
       ring_binary() + " dump --instance " + agent.instance + " --ring out --seconds 4 -o - | " +
           "QT_QPA_PLATFORM=offscreen " + inspector_binary() +
           " --select 'stats_gauges{host=live,name=piped}' --quit-after 7 -"},
      &out, 60s);
  feeding = false;
  feeder.join();
  QVERIFY2(code == 0, out.c_str());
  const std::regex plotted("plotted 1 series, ([0-9]+) points");
  std::smatch match;
  QVERIFY2(std::regex_search(out, match, plotted), out.c_str());
  QVERIFY2(std::stoi(match[1]) >= 3, out.c_str());  // 0.5 s flushes over 4 s
  QVERIFY2(out.find(", complete") != std::string::npos, out.c_str());
}

void TestInspectorLive::binary_says_why_it_cannot_attach() {
  if (::getuid() != 0) QSKIP("needs root to run the inspector as another user");
  Agent agent;  // segments 0600 root
  agent.start();
  QVERIFY2(agent.listening(), agent.process.err().c_str());
  std::string out;
  const int code =
      run_command({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                   "/usr/bin/env", "QT_QPA_PLATFORM=offscreen", "XDG_RUNTIME_DIR=/tmp",
                   inspector_binary(), "--instance", agent.instance, "--quit-after", "1.5"},
                  &out, 60s);
  QVERIFY2(code == 0, out.c_str());
  QVERIFY2(out.find("bucky3-inspector: /dev/shm/bucky3." + agent.instance +
                    ".health: permission denied (mode 0600, owner root, group root)") !=
               std::string::npos,
           out.c_str());
  QVERIFY2(out.find("shm_group") != std::string::npos, out.c_str());
}

void TestInspectorLive::binary_answers_help_without_a_display() {
  // `bucky3-inspector --help` over ssh, on a server with no X, no Wayland and no
  // QT_QPA_PLATFORM: the text, exit 0, not Qt's "could not connect to display" abort.
  for (const char* flag : {"--help", "--version"}) {
    std::string out;
    const int code = run_command({"/usr/bin/env", "-u", "DISPLAY", "-u", "WAYLAND_DISPLAY", "-u",
                                  "QT_QPA_PLATFORM", inspector_binary(), flag},
                                 &out, 30s);
    QVERIFY2(code == 0, (std::string(flag) + ": " + out).c_str());
    QVERIFY2(out.find(std::string(flag) == "--help" ? "--screenshot" : "bucky3-inspector ") !=
                 std::string::npos,
             out.c_str());
  }
  // A bad option next to --help still fails with the usage, exit 2.
  std::string out;
  const int code = run_command({"/usr/bin/env", "-u", "DISPLAY", "-u", "QT_QPA_PLATFORM",
                                inspector_binary(), "--help", "--no-such-option"},
                               &out, 30s);
  QVERIFY2(code == 2, out.c_str());
  QVERIFY2(out.find("no-such-option") != std::string::npos, out.c_str());
}

QTEST_GUILESS_MAIN(TestInspectorLive)
#include "test_inspector_live.moc"
