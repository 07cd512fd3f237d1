// tests/test_statsd_options.cpp — statsd_server's keys as the module reads them:
// histogram_bins parsed from its YAML (errors with file:line:col, as the
// loader's own), and the schema defaults as the aggregator's and receiver's options.
#include <QtTest>
#include <cmath>
#include <cstdlib>

#include "collectors/statsd/options.h"
#include "tests/support/config_error.h"

using namespace bucky3;
using namespace bucky3::config;
using bucky3::statsd::histogram_bin_rules;

namespace {

std::string source_dir() {
  const char* dir = std::getenv("BUCKY3_SOURCE_DIR");
  return dir ? dir : ".";
}

// The check the module registry passes to the loader for statsd_server.
void check(const ModuleConfig& module) {
  if (module.type == "statsd_server") histogram_bin_rules(module.options);
}

std::string error_of(const QByteArray& yaml) {
  return bucky3::test::config_error_of(yaml, check);
}

}  // namespace

class TestStatsdOptions : public QObject {
  Q_OBJECT

 private slots:
  void histogram_bins_from_full_config() {
    setenv("INFLUXDB_PASSWORD", "secret", 1);
    const Config c = load_config_file(source_dir() + "/tests/data/config/full.yaml", check);
    const auto bins = histogram_bin_rules(c.find("statsd")->options);
    QCOMPARE(bins.size(), std::size_t{2});
    QCOMPARE(bins[0].bins.size(), std::size_t{3});
    QCOMPARE(bins[0].bins[0], (std::pair<std::string, double>{"under_100ms", 100}));
    QCOMPARE(bins[0].bins[2].first, std::string("over_300ms"));
    QVERIFY(std::isinf(bins[0].bins[2].second));
    QVERIFY(bins[0].match.name);
    QVERIFY(bins[1].match.empty());
  }

  void histogram_bins_only_on_statsd() {
    const Config c = load_config_text("modules:\n  out:\n    type: debug_output\n", "t.yaml");
    QVERIFY_THROWS_EXCEPTION(std::logic_error, histogram_bin_rules(c.find("out")->options));
  }

  // Without the module's check the loader accepts any YAML there; the module
  // refuses it when it starts.
  void loader_alone_leaves_bins_to_the_module() {
    const QByteArray yaml =
        "modules:\n  src:\n    type: statsd_server\n    histogram_bins: [{bins: {}}]\n";
    const Config c = load_config_text(std::string_view(yaml.constData(), yaml.size()), "t.yaml");
    QVERIFY_THROWS_EXCEPTION(ConfigError, histogram_bin_rules(c.find("src")->options));
    QCOMPARE(
        QByteArray::fromStdString(error_of(yaml)),
        QByteArray("t.yaml:4:29: modules.src.histogram_bins[0].bins: must name at least one bin"));
  }

  void matches_by_name() {
    const QByteArray yaml =
        "modules:\n  src:\n    type: statsd_server\n    histogram_bins:\n"
        "      - {match: {name: \"^myapp_\"}, bins: {fast: 100, slow: .inf}}\n";
    const Config c = load_config_text(std::string_view(yaml.constData(), yaml.size()), "t.yaml");
    const auto options = statsd::aggregator_options(c.find("src")->options);
    QCOMPARE(options.histogram_rules.size(), std::size_t{1});
    QVERIFY(options.histogram_rules[0].matches("myapp_latency", {}));
    QVERIFY(!options.histogram_rules[0].matches("other", {}));
  }

  void defaults_are_the_schema_defaults() {
    const auto a = statsd::default_aggregator_options();
    QCOMPARE(a.percentile_thresholds, (std::vector<double>{50, 90, 99, 100}));
    QVERIFY(a.histogram_rules.empty());
    QCOMPARE(a.timers_bucket, std::string("stats_timers"));
    QCOMPARE(a.histograms_bucket, std::string("stats_histograms"));
    QCOMPARE(a.sets_bucket, std::string("stats_sets"));
    QCOMPARE(a.gauges_bucket, std::string("stats_gauges"));
    QCOMPARE(a.counters_bucket, std::string("stats_counters"));
    QCOMPARE(a.max_series, std::size_t{100000});
    QCOMPARE(a.timer_sample_limit, std::size_t{100000});
    QCOMPARE(a.timestamp_window_s, 600.0);
    const auto r = statsd::default_receiver_options();
    QCOMPARE(r.udp_host, std::string("127.0.0.1:8125"));
    QVERIFY(!r.tcp_host);
    QVERIFY(!r.unix_socket);
    QCOMPARE(r.unix_socket_mode, 0660u);
    QCOMPARE(r.socket_buffer, std::size_t{8 << 20});
    QCOMPARE(r.max_datagram_size, std::size_t{1 << 20});
    QCOMPARE(r.tcp_max_connections, std::size_t{1000});
    QCOMPARE(r.tcp_max_line_length, std::size_t{65536});
  }

  void rejects_data() {
    QTest::addColumn<QByteArray>("yaml");
    QTest::addColumn<QByteArray>("error");
    const QByteArray mods = "modules:\n  out:\n    type: debug_output\n";
    QTest::newRow("bins not number")
        << QByteArray(mods +
                      "  src:\n    type: statsd_server\n    histogram_bins:\n"
                      "      - bins: {a: 10, b: inf}\n")
        << QByteArray(
               "t.yaml:7:26: modules.src.histogram_bins[0].bins.b: must be a number or .inf, got "
               "\"inf\"");
    QTest::newRow("bins missing")
        << QByteArray(mods +
                      "  src:\n    type: statsd_server\n    histogram_bins:\n"
                      "      - match: {name: x}\n")
        << QByteArray("t.yaml:7:9: modules.src.histogram_bins[0].bins: is required");
    QTest::newRow("bins empty")
        << QByteArray(mods + "  src:\n    type: statsd_server\n    histogram_bins: [{bins: {}}]\n")
        << QByteArray(
               "t.yaml:6:29: modules.src.histogram_bins[0].bins: must name at least one bin");
    QTest::newRow("bins zero bound")
        << QByteArray(mods +
                      "  src:\n    type: statsd_server\n    histogram_bins: [{bins: {a: 0}}]\n")
        << QByteArray(
               "t.yaml:6:33: modules.src.histogram_bins[0].bins.a: must be greater than 0, got 0");
    QTest::newRow("bins unknown key")
        << QByteArray(
               mods +
               "  src:\n    type: statsd_server\n    histogram_bins: [{bins: {a: 1}, x: 1}]\n")
        << QByteArray(
               "t.yaml:6:37: modules.src.histogram_bins[0].x: unknown histogram_bins key; expected "
               "match or bins");
    QTest::newRow("bins match key")
        << QByteArray(mods +
                      "  src:\n    type: statsd_server\n    histogram_bins: [{match: {nme: a}, "
                      "bins: {a: 1}}]\n")
        << QByteArray(
               "t.yaml:6:31: modules.src.histogram_bins[0].match.nme: unknown match key; expected "
               "bucket, name or metadata");
  }
  void rejects() {
    QFETCH(QByteArray, yaml);
    QFETCH(QByteArray, error);
    QCOMPARE(QByteArray::fromStdString(error_of(yaml)), error);
  }
};

QTEST_MAIN(TestStatsdOptions)
#include "test_statsd_options.moc"
