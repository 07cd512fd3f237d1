// tests/test_e2e_prometheus.cpp — a real Prometheus server (Debian package)
// scrapes a running bucky3 every second; StatsD lines sent to the agent are
// found through Prometheus' HTTP query API, and the scrape is promtool-clean.
#include <signal.h>
#include <unistd.h>

#include <QtTest>

#include "tests/support/agent.h"

using namespace bucky3::test;
using namespace std::chrono_literals;

namespace {

// The value of the first series an instant query returns, or nullopt.
std::optional<double> query(int prometheus_port, const std::string& promql) {
  const auto body =
      http_get("http://127.0.0.1:" + std::to_string(prometheus_port) + "/api/v1/query?query=" +
               QUrl::toPercentEncoding(QString::fromStdString(promql)).toStdString());
  const auto doc = QJsonDocument::fromJson(QByteArray::fromStdString(body));
  const auto result = doc.object()["data"].toObject()["result"].toArray();
  if (result.isEmpty()) return std::nullopt;
  return result[0].toObject()["value"].toArray()[1].toString().toDouble();
}

}  // namespace

class TestE2ePrometheus : public QObject {
  Q_OBJECT
 private slots:
  void prometheus_scrapes_statsd_values() {
    if (::access("/usr/bin/prometheus", X_OK) != 0)
      QFAIL("prometheus is not installed (scripts/install-deps.sh)");
    TempDir dir;
    const int statsd_port = free_port(true);
    const int exporter_port = free_port(false);
    const auto instance = unique_instance();
    Process agent;
    agent.start({bucky3_binary(),
                 dir.write("bucky3.yaml", "instance: " + instance +
                                              "\nflush_interval: 1\nrandomize_startup: false\n"
                                              "metadata: {host: e2e}\n"
                                              "modules:\n"
                                              "  statsd:\n"
                                              "    type: statsd_server\n"
                                              "    local_host: 127.0.0.1:" +
                                              std::to_string(statsd_port) +
                                              "\n"
                                              "  prom:\n"
                                              "    type: prometheus_exporter\n"
                                              "    local_host: 127.0.0.1:" +
                                              std::to_string(exporter_port) + "\n")},
                dir.path());
    const std::string metrics_url =
        "http://127.0.0.1:" + std::to_string(exporter_port) + "/metrics";
    QVERIFY2(
        poll_until(
            [&] { return http_get(metrics_url).find("bucky3_module_up") != std::string::npos; },
            15s),
        agent.err().c_str());

    const int prometheus_port = free_port(false);
    const auto prom_config =
        dir.write("prometheus.yml",
                  "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                  "scrape_configs:\n  - job_name: bucky3\n    static_configs:\n"
                  "      - targets: ['127.0.0.1:" +
                      std::to_string(exporter_port) + "']\n");
    Process prometheus;
    prometheus.start({"/usr/bin/prometheus", "--config.file=" + prom_config,
                      "--storage.tsdb.path=" + dir.path() + "/tsdb",
                      "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port)},
                     dir.path());

    // A gauge, a counter and a tagged timer, sent every 200 ms so each
    // interval carries the same values whenever Prometheus looks.
    std::optional<double> gauge, count, p90_upper, up;
    const bool found = poll_until(
        [&] {
          send_udp(
              statsd_port,
              "e2e_gauge:42.5|g\ne2e_hits:3|c\ne2e_lat:10|ms|#route:/a\ne2e_lat:20|ms|#route:/a\n");
          gauge = query(prometheus_port, "stats_gauges{name=\"e2e_gauge\",host=\"e2e\"}");
          p90_upper = query(
              prometheus_port,
              "stats_timers{name=\"e2e_lat\",route=\"/a\",percentile=\"100\",value=\"upper\"}");
          up = query(prometheus_port, "bucky3_module_up{module=\"statsd\"}");
          count = query(prometheus_port, "stats_counters{name=\"e2e_hits\",value=\"count\"}");
          std::this_thread::sleep_for(200ms);
          return gauge && p90_upper && up && count;
        },
        60s);
    QVERIFY2(found, (prometheus.err().substr(0, 2000) + agent.err()).c_str());
    QCOMPARE(*gauge, 42.5);
    QCOMPARE(*p90_upper, 20.0);
    QCOMPARE(*up, 1.0);
    // Counts per interval: a multiple of 3 (several sends may land in one interval).
    QVERIFY(*count >= 3.0 && std::fmod(*count, 3.0) == 0.0);
    // Prometheus saw the target healthy.
    QCOMPARE(query(prometheus_port, "up{job=\"bucky3\"}").value_or(0), 1.0);

    // What Prometheus scraped is clean for promtool too.
    const auto page = dir.write("page.txt", http_get(metrics_url));
    std::string lint;
    QCOMPARE(run_command({"/bin/sh", "-c", "promtool check metrics < " + page}, &lint), 0);
    QVERIFY2(lint.empty(), lint.c_str());

    prometheus.signal(SIGTERM);
    prometheus.wait(10s);
    agent.signal(SIGTERM);
    QVERIFY(agent.wait(10s).has_value());
  }
};

QTEST_GUILESS_MAIN(TestE2ePrometheus)
#include "test_e2e_prometheus.moc"
