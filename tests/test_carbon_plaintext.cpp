// tests/test_carbon_plaintext.cpp — Graphite plaintext paths: name_mapping order,
// sorted remaining tags, value names, sanitized tokens, prefix, 1.1 tags, NaN, long lines.
#include <QtTest/QtTest>
#include <limits>

#include "exporters/carbon/plaintext.h"
#include "tests/support/metric_views.h"

using namespace bucky3;
using namespace bucky3::carbon;
using test::metric;

Q_DECLARE_METATYPE(bucky3::Metric)

namespace {
constexpr std::int64_t now_s = 1764100000;

std::string lines_of(const Metric& m, const PathOptions& options = {},
                     EncodeStats* stats_out = nullptr) {
  const auto decoded = test::decode({m});
  std::string out;
  EncodeStats stats;
  append_lines(decoded[0], options, now_s, out, stats);
  if (stats_out) *stats_out = stats;
  return out;
}
}  // namespace

class TestCarbonPlaintext : public QObject {
  Q_OBJECT
 private slots:
  void builds_paths_data() {
    QTest::addColumn<Metric>("input");
    QTest::addColumn<QByteArray>("lines");
    QTest::newRow("default mapping, single value")
        << metric("stats_gauges", {{"host", "web1"}, {"name", "queue"}}, {{"", 5.0}})
        << QByteArray("stats_gauges.web1.queue.value 5 1764100000\n");
    QTest::newRow("named values: one line each, value name last")
        << metric("stats_counters", {{"host", "h"}, {"name", "hits"}},
                  {{"count", 3.0}, {"rate", 0.3}})
        << QByteArray(
               "stats_counters.h.hits.count 3 1764100000\nstats_counters.h.hits.rate 0.3 "
               "1764100000\n");
    QTest::newRow("remaining tags sorted by key after the mapped ones")
        << metric("system_disk", {{"host", "h"}, {"zone", "z"}, {"disk", "sda"}, {"app", "a"}},
                  {{"reads", std::int64_t{10}}})
        << QByteArray("system_disk.h.a.sda.z.reads 10 1764100000\n");
    QTest::newRow("missing mapped keys skipped")
        << metric("m", {{"name", "n"}}, {{"", 1.0}}) << QByteArray("m.n.value 1 1764100000\n");
    QTest::newRow("tag named value is an ordinary tag")
        << metric("m", {{"host", "h"}, {"value", "v"}}, {{"x", 1.0}})
        << QByteArray("m.h.v.x 1 1764100000\n");
    QTest::newRow("own timestamp in seconds")
        << metric("m", {}, {{"", 1.0}}, 1700000000999) << QByteArray("m.value 1 1700000000\n");
    QTest::newRow("integers stay integers")
        << metric("m", {}, {{"", std::int64_t{-12}}}) << QByteArray("m.value -12 1764100000\n");
    QTest::newRow("sanitized tokens") << metric("a.b", {{"host", "x/y*z[1] w"}}, {{"p.q", 1.0}})
                                      << QByteArray("a_b.x_y_z_1__w.p_q 1 1764100000\n");
    QTest::newRow("semicolon would start tags") << metric("m", {{"host", "a;b=c"}}, {{"", 1.0}})
                                                << QByteArray("m.a_b=c.value 1 1764100000\n");
    QTest::newRow("control characters") << metric("m", {{"host", "a\tb\nc"}}, {{"", 1.0}})
                                        << QByteArray("m.a_b_c.value 1 1764100000\n");
    QTest::newRow("empty tag left out") << metric("m", {{"host", ""}, {"name", "n"}}, {{"", 1.0}})
                                        << QByteArray("m.n.value 1 1764100000\n");
    QTest::newRow("NaN and Inf left out")
        << metric("m", {},
                  {{"a", std::numeric_limits<double>::quiet_NaN()},
                   {"b", 2.0},
                   {"c", -std::numeric_limits<double>::infinity()}})
        << QByteArray("m.b 2 1764100000\n");
    QTest::newRow("utf-8 kept") << metric("m", {{"host", "zürich"}}, {{"", 1.0}})
                                << QByteArray("m.zürich.value 1 1764100000\n");
  }
  void builds_paths() {
    QFETCH(Metric, input);
    QFETCH(QByteArray, lines);
    QCOMPARE(QByteArray::fromStdString(lines_of(input)), lines);
  }

  void custom_mapping_and_unmapped_bucket() {
    PathOptions options;
    options.name_mapping = {"name", "host"};
    // The bucket, unmapped, sorts among the remaining tags by key ("bucket"), as in Python Bucky3.
    QCOMPARE(
        lines_of(metric("cpu", {{"host", "h"}, {"name", "n"}, {"a", "1"}, {"c", "3"}}, {{"", 1.0}}),
                 options),
        std::string("n.h.1.cpu.3.value 1 1764100000\n"));
  }

  void prefix() {
    PathOptions options;
    options.prefix = "servers.eu";
    QCOMPARE(lines_of(metric("m", {{"host", "h"}}, {{"v", 1.0}}), options),
             std::string("servers.eu.m.h.v 1 1764100000\n"));
  }

  void graphite_tags() {
    PathOptions options;
    options.tags = true;
    QCOMPARE(lines_of(metric("system_disk", {{"host", "h"}, {"disk", "sda"}, {"dc", "eu;1"}},
                             {{"reads", 1.0}}),
                      options),
             std::string("system_disk.h.reads;dc=eu_1;disk=sda 1 1764100000\n"));
    QCOMPARE(lines_of(metric("m", {{"k=x", "~v"}}, {{"", 1.0}}), options),
             std::string("m.value;k_x=_~v 1 1764100000\n"));
  }

  void long_lines_dropped_and_counted() {
    PathOptions options;
    options.max_line_bytes = 100;
    EncodeStats stats;
    QCOMPARE(lines_of(metric("m", {{"host", std::string(200, 'h')}}, {{"a", 1.0}, {"b", 2.0}}),
                      options, &stats),
             std::string());
    QCOMPARE(stats.lines_too_long, 2u);
    QCOMPARE(stats.metrics_dropped, 1u);
    QCOMPARE(lines_of(metric("m", {{"host", std::string(74, 'h')}}, {{"", 1.0}}), options, &stats)
                 .size(),
             96u);
  }
};

QTEST_GUILESS_MAIN(TestCarbonPlaintext)
#include "test_carbon_plaintext.moc"
