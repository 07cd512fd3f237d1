// tests/test_exposition.cpp — the exposition encoder, the series store and the health
// families: name rules, escaping, numbers, the golden page, eviction, caps, gzip, promtool.

#include <QFile>
#include <QProcess>
#include <QtTest>
#include <cmath>
#include <limits>

#include "exporters/prometheus/exposition.h"
#include "exporters/prometheus/health.h"
#include "exporters/prometheus/series_store.h"
#include "tests/support/compression.h"
#include "tests/support/metric_views.h"

using namespace bucky3;
using namespace bucky3::prometheus;
using namespace bucky3::test;
using namespace std::chrono_literals;

namespace {

QString q(std::string_view s) {
  return QString::fromUtf8(s.data(), qsizetype(s.size()));
}

// The fixed set behind tests/data/prometheus/golden.prom.
std::vector<Metric> golden_metrics() {
  const double inf = std::numeric_limits<double>::infinity();
  return {
      metric("stats_counters", {{"name", "foo"}, {"host", "web-1"}},
             {{"count", 3.0}, {"rate", 0.3}}, 1764100000000),
      metric("stats_gauges", {{"name", "temp"}, {"path", "C:\\dir \"quoted\"\nline2"}},
             {{"", 21.5}}),
      metric("my.app-latency", {{"dc.zone", "eu-1"}, {"value", "user tag"}},
             {{"p99", std::int64_t{12}}, {"p50", std::int64_t{7}}}),
      metric("2xx_responses", {}, {{"", std::int64_t{42}}}),
      metric("special", {{"kind", "ieee"}}, {{"nan", std::nan("")}, {"pos", inf}, {"neg", -inf}}),
      // Two later points of one series: the newest (by timestamp) is kept.
      metric("system_memory", {{"host", "h"}}, {{"free", std::int64_t{100}}}, 1000),
      metric("system_memory", {{"host", "h"}}, {{"free", std::int64_t{200}}}, 2000),
      metric("system_memory", {{"host", "h"}}, {{"free", std::int64_t{150}}}, 1500),
      metric("numbers", {},
             {{"int_max", std::numeric_limits<std::int64_t>::max()},
              {"int_min", std::numeric_limits<std::int64_t>::min()},
              {"tenth", 0.1},
              {"tiny", 1e-300},
              {"big", 1e21},
              {"whole", 3.0}}),
      // Sanitize to one family and one series: merged, the last write wins.
      metric("merged.name", {{"k", "v"}}, {{"", std::int64_t{1}}}),
      metric("merged_name", {{"k", "v"}}, {{"", std::int64_t{2}}}),
      metric("temp\xC3\xA9rature", {{"city", "Z\xC3\xBCrich"}}, {{"", 12.25}}),
      metric("__reserved", {{"__meta", "x"}, {"a.b", "dotted"}, {"a_b", "exact"}},
             {{"", std::int64_t{0}}}),
  };
}

std::string golden_text() {
  SeriesStore store;
  const auto now = SeriesStore::Clock::now();
  for (const auto& m : golden_metrics()) store.apply(m, now);
  return *store.text();
}

std::string health_text() {
  std::vector<ModuleHealth> modules(2);
  modules[0].name = "statsd_server";
  modules[0].type = "statsd_server";
  modules[0].up = true;
  modules[0].restarts = 1;
  modules[0].heartbeat_age_seconds = 0.25;
  modules[0].metrics_in = 1000;
  modules[0].drops_kernel = 3;
  modules[0].cpu_seconds = 1.5;
  modules[0].resident_memory_bytes = 12 << 20;
  modules[1].name = "prometheus_exporter";
  modules[1].type = "prometheus_exporter";
  std::vector<RingHealth> rings{{"statsd_server", "prometheus_exporter", 100, 8 << 20, 2}};
  ExporterHealth exporter{5, 1000, 10, 1, 2, 4000};
  std::string out;
  render_agent_health(modules, rings, exporter, out);
  return out;
}

struct PromtoolResult {
  int exit_code = -1;
  QByteArray output;
};

PromtoolResult promtool_check(const std::string& text) {
  QProcess process;
  process.setProcessChannelMode(QProcess::MergedChannels);
  process.start("promtool", {"check", "metrics"});
  if (!process.waitForStarted()) return {};
  process.write(text.data(), qint64(text.size()));
  process.closeWriteChannel();
  process.waitForFinished(60'000);
  return {process.exitCode(), process.readAll()};
}

}  // namespace

class TestExposition : public QObject {
  Q_OBJECT
 private slots:
  void metric_names_data() {
    QTest::addColumn<QByteArray>("in");
    QTest::addColumn<QByteArray>("out");
    QTest::newRow("plain") << QByteArray("stats_counters") << QByteArray("stats_counters");
    QTest::newRow("dots and dashes") << QByteArray("my.app-x") << QByteArray("my_app_x");
    QTest::newRow("colon is not kept") << QByteArray("a:b") << QByteArray("a_b");
    QTest::newRow("camelCase kept") << QByteArray("myApp") << QByteArray("myApp");
    QTest::newRow("leading digit") << QByteArray("2xx") << QByteArray("_2xx");
    QTest::newRow("empty") << QByteArray("") << QByteArray("_");
    QTest::newRow("reserved prefix") << QByteArray("__x") << QByteArray("metric__x");
    QTest::newRow("becomes reserved") << QByteArray(".-x") << QByteArray("metric__x");
    QTest::newRow("one _ per utf-8 char")
        << QByteArray("t\xC3\xA9t\xE2\x82\xAC") << QByteArray("t_t_");
    QTest::newRow("invalid utf-8 bytes") << QByteArray("a\xFF\xFE") << QByteArray("a__");
    QTest::newRow("space and quote") << QByteArray("a b\"") << QByteArray("a_b_");
  }
  void metric_names() {
    QFETCH(QByteArray, in);
    QFETCH(QByteArray, out);
    QCOMPARE(QByteArray::fromStdString(sanitize_metric_name(in.toStdString())), out);
  }

  void label_names_data() {
    QTest::addColumn<QByteArray>("in");
    QTest::addColumn<QByteArray>("out");
    QTest::newRow("plain") << QByteArray("host") << QByteArray("host");
    QTest::newRow("value tag") << QByteArray("value") << QByteArray("tag_value");
    QTest::newRow("dotted") << QByteArray("dc.zone") << QByteArray("dc_zone");
    QTest::newRow("leading digit") << QByteArray("1a") << QByteArray("_1a");
    QTest::newRow("reserved") << QByteArray("__name__") << QByteArray("tag__name__");
    QTest::newRow("empty") << QByteArray("") << QByteArray("_");
  }
  void label_names() {
    QFETCH(QByteArray, in);
    QFETCH(QByteArray, out);
    QCOMPARE(QByteArray::fromStdString(sanitize_label_name(in.toStdString())), out);
  }

  void label_values_data() {
    QTest::addColumn<QByteArray>("in");
    QTest::addColumn<QByteArray>("out");
    QTest::newRow("plain") << QByteArray("abc") << QByteArray("abc");
    QTest::newRow("backslash") << QByteArray("a\\b") << QByteArray("a\\\\b");
    QTest::newRow("quote") << QByteArray("a\"b") << QByteArray("a\\\"b");
    QTest::newRow("newline") << QByteArray("a\nb") << QByteArray("a\\nb");
    QTest::newRow("utf-8 kept") << QByteArray("Z\xC3\xBCrich") << QByteArray("Z\xC3\xBCrich");
    QTest::newRow("invalid utf-8") << QByteArray("a\xFF") << QByteArray("a\xEF\xBF\xBD");
    QTest::newRow("truncated sequence")
        << QByteArray("a\xE2\x82") << QByteArray("a\xEF\xBF\xBD\xEF\xBF\xBD");
    QTest::newRow("surrogate") << QByteArray("\xED\xA0\x80")
                               << QByteArray("\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  }
  void label_values() {
    QFETCH(QByteArray, in);
    QFETCH(QByteArray, out);
    std::string rendered;
    append_label_value(rendered, in.toStdString());
    QCOMPARE(QByteArray::fromStdString(rendered), out);
  }

  void numbers_data() {
    QTest::addColumn<bool>("integer");
    QTest::addColumn<double>("value");
    QTest::addColumn<qint64>("int_value");
    QTest::addColumn<QByteArray>("out");
    const double inf = std::numeric_limits<double>::infinity();
    QTest::newRow("int") << true << 0.0 << qint64(42) << QByteArray("42");
    QTest::newRow("int max") << true << 0.0 << std::numeric_limits<qint64>::max()
                             << QByteArray("9223372036854775807");
    QTest::newRow("negative int") << true << 0.0 << qint64(-7) << QByteArray("-7");
    QTest::newRow("double whole") << false << 3.0 << qint64(0) << QByteArray("3");
    QTest::newRow("tenth") << false << 0.1 << qint64(0) << QByteArray("0.1");
    QTest::newRow("third") << false << 1.0 / 3 << qint64(0) << QByteArray("0.3333333333333333");
    QTest::newRow("large") << false << 1e21 << qint64(0) << QByteArray("1e+21");
    QTest::newRow("nan") << false << std::nan("") << qint64(0) << QByteArray("NaN");
    QTest::newRow("+inf") << false << inf << qint64(0) << QByteArray("+Inf");
    QTest::newRow("-inf") << false << -inf << qint64(0) << QByteArray("-Inf");
  }
  void numbers() {
    QFETCH(bool, integer);
    QFETCH(double, value);
    QFETCH(qint64, int_value);
    QFETCH(QByteArray, out);
    std::string rendered;
    append_number(rendered, integer ? Number{std::int64_t{int_value}} : Number{value});
    QCOMPARE(QByteArray::fromStdString(rendered), out);
    if (!integer && std::isfinite(value)) QCOMPARE(std::stod(rendered), value);  // round trip
  }

  void label_set_collisions_keep_one() {
    // "a.b" and "a_b" both become a_b; the exact spelling wins, "value" moves aside.
    std::vector<Tag> tags{{"a.b", "dotted"}, {"a_b", "exact"}, {"tag_value", "t"}, {"value", "v"}};
    QCOMPARE(q(render_label_set(tags)), QString("a_b=\"exact\",tag_value=\"t\""));
    std::vector<Tag> dotted_only{{"a-b", "1"}, {"a.b", "2"}};
    QCOMPARE(q(render_label_set(dotted_only)), QString("a_b=\"1\""));
  }

  void label_sets_data() {
    QTest::addColumn<QStringList>("tags");  // key=value, in this order
    QTest::addColumn<QString>("rendered");
    QTest::newRow("sorted plain keys") << QStringList{"a=1", "b=2"} << "a=\"1\",b=\"2\"";
    QTest::newRow("unsorted keys") << QStringList{"b=2", "a=1"} << "a=\"1\",b=\"2\"";
    QTest::newRow("repeated key keeps the first") << QStringList{"a=1", "a=2"} << "a=\"1\"";
    QTest::newRow("sanitizing reorders") << QStringList{"a.z=1", "a_b=2"} << "a_b=\"2\",a_z=\"1\"";
    QTest::newRow("value tag") << QStringList{"host=h", "value=v"} << "host=\"h\",tag_value=\"v\"";
    QTest::newRow("none") << QStringList{} << "";
  }
  void label_sets() {
    QFETCH(QStringList, tags);
    QFETCH(QString, rendered);
    std::vector<std::string> storage;
    for (const auto& tag : tags) storage.push_back(tag.toStdString());
    std::vector<TagView> refs;
    for (const auto& tag : storage) {
      const auto eq = tag.find('=');
      refs.push_back({std::string_view(tag).substr(0, eq), std::string_view(tag).substr(eq + 1)});
    }
    std::string out = "prefix";
    append_label_set(out, refs);
    QCOMPARE(q(out), "prefix" + rendered);
  }

  void applies_views_without_owning_copies() {
    // The shape of shm::MetricView: string_views and spans into a decoded record.
    struct FieldView {
      std::string_view name;
      Number value;
    };
    struct View {
      std::string_view bucket;
      std::optional<std::int64_t> timestamp_ms;
      std::span<const TagView> metadata;
      std::span<const FieldView> values;
    };
    const TagView tags[] = {{"host", "h"}, {"name", "n"}};
    const FieldView values[] = {{"count", std::int64_t{3}}, {"rate", 0.5}};
    SeriesStore store;
    store.apply(View{"stats.counters", 1000, tags, values}, SeriesStore::Clock::now());
    QCOMPARE(q(*store.text()),
             QString("# HELP stats_counters Bucky3 bucket stats.counters\n"
                     "# TYPE stats_counters gauge\n"
                     "stats_counters{host=\"h\",name=\"n\",value=\"count\"} 3 1000\n"
                     "stats_counters{host=\"h\",name=\"n\",value=\"rate\"} 0.5 1000\n"));
  }

  void user_buckets_never_share_our_families() {
    SeriesStore store;
    const auto now = SeriesStore::Clock::now();
    store.apply(metric("bucky3_module_up", {}, {{"", 1.0}}), now);
    store.apply(metric("bucky3.ring.used_bytes", {}, {{"", 1.0}}), now);
    store.apply(metric("bucky3", {{"name", "statsd"}}, {{"cpu", 1.0}}), now);  // self_report
    const auto text = q(*store.text());
    QVERIFY(text.contains("\nuser_bucky3_module_up 1\n"));
    QVERIFY(text.contains("\nuser_bucky3_ring_used_bytes 1\n"));
    QVERIFY(text.contains("\nbucky3{name=\"statsd\",value=\"cpu\"} 1\n"));
  }

  void sample_lines() {
    std::string out;
    append_sample(out, "stats_counters", "name=\"foo\"", "count", std::int64_t{3}, std::nullopt);
    append_sample(out, "up", "", "", 1.0, std::int64_t{1764100000000});
    append_sample(out, "x", "", "rate", 0.5, std::nullopt);
    QCOMPARE(q(out), QString("stats_counters{name=\"foo\",value=\"count\"} 3\n"
                             "up 1 1764100000000\n"
                             "x{value=\"rate\"} 0.5\n"));
  }

  void golden_page() {
    const auto text = golden_text();
    const QString path =
        qEnvironmentVariable("BUCKY3_SOURCE_DIR") + "/tests/data/prometheus/golden.prom";
    QFile file(path);
    if (qEnvironmentVariableIsSet("BUCKY3_UPDATE_GOLDEN")) {
      QVERIFY(file.open(QIODevice::WriteOnly));
      file.write(text.data(), qint64(text.size()));
      QSKIP("golden file rewritten");
    }
    QVERIFY2(file.open(QIODevice::ReadOnly), qPrintable(path));
    QCOMPARE(QByteArray::fromStdString(text), file.readAll());
  }

  void golden_page_families_are_grouped_and_unique() {
    const auto text = golden_text();
    QSet<QString> seen;
    QString current;
    for (const auto& line : q(text).split('\n', Qt::SkipEmptyParts)) {
      if (line.startsWith("# TYPE ")) {
        current = line.section(' ', 2, 2);
        QVERIFY2(!seen.contains(current), qPrintable("family twice: " + current));
        seen.insert(current);
      } else if (!line.startsWith('#')) {
        const auto name = line.section(QRegularExpression("[{ ]"), 0, 0);
        QCOMPARE(name, current);
      }
    }
    QVERIFY(seen.contains("merged_name"));
    QVERIFY(!text.empty());
  }

  void promtool_accepts_golden_page() {
    if (QStandardPaths::findExecutable("promtool").isEmpty()) QSKIP("promtool not installed");
    const auto result = promtool_check(golden_text());
    QVERIFY2(result.exit_code == 0 && result.output.isEmpty(), result.output.constData());
  }

  void promtool_accepts_health() {
    if (QStandardPaths::findExecutable("promtool").isEmpty()) QSKIP("promtool not installed");
    const auto text = health_text();
    const auto result = promtool_check(text);
    QVERIFY2(result.exit_code == 0 && result.output.isEmpty(), result.output.constData());
    QVERIFY(text.find("# TYPE bucky3_module_restarts_total counter\n") != std::string::npos);
    QVERIFY(text.find("bucky3_module_drops_total{module=\"statsd_server\",type=\"statsd_server\","
                      "cause=\"kernel\"} 3\n") != std::string::npos);
    QVERIFY(text.find("bucky3_ring_capacity_bytes{source=\"statsd_server\",destination="
                      "\"prometheus_exporter\"} 8388608\n") != std::string::npos);
  }

  void promtool_never_fails_to_parse_hostile_names() {
    if (QStandardPaths::findExecutable("promtool").isEmpty()) QSKIP("promtool not installed");
    const char* hostile[] = {
        "a.b.c",    "a-b-c",   "camelCaseName",        "9lives",   "__",       "",
        "value",    "x y\tz",  "\xE2\x82\xAC\xC3\xA9", "\xFF\xFE", "{}=\",\\", "le",
        "__name__", "quantile"};
    SeriesStore store;
    const auto now = SeriesStore::Clock::now();
    for (const char* name : hostile) {
      std::vector<Tag> tags;
      for (const char* key : hostile) tags.push_back({key, std::string(name) + "\n\"\\"});
      store.apply(metric(name, tags, {{"", 1.0}}), now);
      store.apply(metric(name, tags, {{name, 2.0}, {"value", 3.0}}), now);
    }
    const auto result = promtool_check(*store.text());
    // 0 clean, 3 lint only (camelCase is a lint warning); 1 would be a parse error.
    QVERIFY2(result.exit_code == 0 || result.exit_code == 3, result.output.constData());
    QVERIFY2(!result.output.contains("error while linting"), result.output.constData());
  }

  void older_point_is_ignored_and_no_timestamp_last_write_wins() {
    SeriesStore store;
    const auto now = SeriesStore::Clock::now();
    store.apply(metric("g", {}, {{"", 1.0}}, 2000), now);
    store.apply(metric("g", {}, {{"", 2.0}}, 1000), now);
    QCOMPARE(q(*store.text()), QString("# HELP g Bucky3 bucket g\n# TYPE g gauge\ng 1 2000\n"));
    QCOMPARE(store.stats().points_stale, std::uint64_t{1});
    store.apply(metric("h", {}, {{"", 1.0}}), now);
    store.apply(metric("h", {}, {{"", 5.0}}), now);
    QVERIFY(store.text()->find("h 5\n") != std::string::npos);
    QCOMPARE(store.stats().series, std::size_t{2});
  }

  void eviction_removes_series_not_refreshed() {
    SeriesStore store({.values_timeout = 60s, .max_series = 100});
    const auto t0 = SeriesStore::Clock::now();
    store.apply(metric("a", {{"k", "1"}}, {{"", 1.0}}), t0);
    store.apply(metric("a", {{"k", "2"}}, {{"x", 1.0}, {"y", 2.0}}), t0);
    store.apply(metric("b", {}, {{"", 1.0}}), t0);
    QCOMPARE(store.evict(t0 + 30s), std::size_t{0});
    store.apply(metric("a", {{"k", "2"}}, {{"y", 3.0}}), t0 + 30s);
    QCOMPARE(store.evict(t0 + 61s), std::size_t{3});
    QCOMPARE(q(*store.text()),
             QString("# HELP a Bucky3 bucket a\n# TYPE a gauge\na{k=\"2\",value=\"y\"} 3\n"));
    const auto stats = store.stats();
    QCOMPARE(stats.series, std::size_t{1});
    QCOMPARE(stats.families, std::size_t{1});
    QCOMPARE(stats.evicted, std::uint64_t{3});
    QCOMPARE(stats.text_bytes, std::size_t{std::string("a{k=\"2\",value=\"y\"} 3\n").size()});
    QCOMPARE(store.evict(t0 + 200s), std::size_t{1});
    QCOMPARE(q(*store.text()), QString());
  }

  void max_series_drops_new_series_only() {
    SeriesStore store({.values_timeout = 60s, .max_series = 3});
    const auto now = SeriesStore::Clock::now();
    for (int i = 0; i < 5; ++i)
      store.apply(metric("m", {{"i", std::to_string(i)}}, {{"", 1.0}}), now);
    store.apply(metric("m", {{"i", "0"}}, {{"", 7.0}}), now);  // existing: still updated
    store.apply(metric("other", {}, {{"", 1.0}}), now);        // new family: dropped
    const auto stats = store.stats();
    QCOMPARE(stats.series, std::size_t{3});
    QCOMPARE(stats.series_dropped, std::uint64_t{3});
    QCOMPARE(stats.families, std::size_t{1});
    QVERIFY(store.text()->find("m{i=\"0\"} 7\n") != std::string::npos);
    QVERIFY(store.text()->find("other") == std::string::npos);
  }

  void page_is_cached_until_a_change() {
    SeriesStore store;
    const auto now = SeriesStore::Clock::now();
    store.apply(metric("a", {}, {{"", 1.0}}), now);
    const auto first = store.page(false, "tail 1\n");
    const auto second = store.page(false, "tail 2\n");
    QCOMPARE(first.chunks[0].get(), second.chunks[0].get());
    QCOMPARE(q(second.joined()),
             QString("# HELP a Bucky3 bucket a\n# TYPE a gauge\na 1\ntail 2\n"));
    store.apply(metric("a", {}, {{"", 1.0}}), now);  // same value: nothing to rebuild
    QCOMPARE(store.page(false).chunks[0].get(), first.chunks[0].get());
    store.apply(metric("a", {}, {{"", 2.0}}), now);
    QVERIFY(store.page(false).chunks[0].get() != first.chunks[0].get());
  }

  void gzip_page_decompresses_to_text_and_tail_data() {
    QTest::addColumn<int>("series");
    QTest::addColumn<QByteArray>("tail");
    QTest::newRow("empty store, empty tail") << 0 << QByteArray();
    QTest::newRow("small") << 3 << QByteArray("bucky3_exporter_series 3\n");
    QTest::newRow("bigger than the window") << 20000 << QByteArray("x 1\n");
  }
  void gzip_page_decompresses_to_text_and_tail() {
    QFETCH(int, series);
    QFETCH(QByteArray, tail);
    SeriesStore store;
    const auto now = SeriesStore::Clock::now();
    for (int i = 0; i < series; ++i) {
      store.apply(metric("s", {{"i", std::to_string(i)}}, {{"", double(i) / 7}}), now);
    }
    const auto page = store.page(true, tail.toStdString());
    QVERIFY(page.gzip);
    QCOMPARE(QByteArray::fromStdString(gunzip(page.joined())),
             QByteArray::fromStdString(*store.text()) + tail);
    const auto again = store.page(true, "other\n");
    QCOMPARE(again.chunks[0].get(), page.chunks[0].get());  // the deflated text is reused
    QCOMPARE(QByteArray::fromStdString(gunzip(again.joined())),
             QByteArray::fromStdString(*store.text() + "other\n"));
  }
};

QTEST_GUILESS_MAIN(TestExposition)
#include "test_exposition.moc"
