// tests/test_influxdb_line_protocol.cpp — the line protocol encoder: one row per
// escape, field type, NaN, timestamp and datagram rule, compared with the exact line.
#include <QtTest/QtTest>
#include <cmath>
#include <limits>

#include "exporters/influxdb/line_protocol.h"
#include "tests/support/metric_views.h"

using namespace bucky3;
using namespace bucky3::influxdb;
using test::metric;

namespace {
constexpr double nan_ = std::numeric_limits<double>::quiet_NaN();
constexpr double inf_ = std::numeric_limits<double>::infinity();

std::string line_of(const Metric& m, EncodeStats* stats_out = nullptr) {
  const auto decoded = test::decode({m});
  std::string out;
  EncodeStats stats;
  append_line(decoded[0], out, stats);
  if (stats_out) *stats_out = stats;
  return out;
}
}  // namespace

Q_DECLARE_METATYPE(bucky3::Metric)

class TestInfluxdbLineProtocol : public QObject {
  Q_OBJECT
 private slots:
  void encodes_lines_data() {
    QTest::addColumn<Metric>("input");
    QTest::addColumn<QByteArray>("line");
    QTest::newRow("single float value") << metric("stats_gauges", {{"name", "g"}}, {{"", 1.5}})
                                        << QByteArray("stats_gauges,name=g value=1.5\n");
    QTest::newRow("float that looks integral")
        << metric("m", {}, {{"", 3.0}}) << QByteArray("m value=3\n");
    QTest::newRow("integer") << metric("m", {}, {{"", std::int64_t{42}}})
                             << QByteArray("m value=42i\n");
    QTest::newRow("negative integer")
        << metric("m", {}, {{"", std::int64_t{-7}}}) << QByteArray("m value=-7i\n");
    QTest::newRow("int64 extremes")
        << metric("m", {}, {{"a", INT64_MIN}, {"b", INT64_MAX}})
        << QByteArray("m a=-9223372036854775808i,b=9223372036854775807i\n");
    QTest::newRow("named values keep their order and types")
        << metric("system_cpu", {{"host", "h"}}, {{"user", std::int64_t{10}}, {"idle", 0.25}})
        << QByteArray("system_cpu,host=h user=10i,idle=0.25\n");
    QTest::newRow("shortest round trip")
        << metric("m", {}, {{"", 0.1}, {"x", 1e21}, {"y", -2.5e-8}})
        << QByteArray("m value=0.1,x=1e+21,y=-2.5e-08\n");
    QTest::newRow("tags sorted") << metric("m", {{"b", "2"}, {"a", "1"}, {"c", "3"}}, {{"", 1.0}})
                                 << QByteArray("m,a=1,b=2,c=3 value=1\n");
    QTest::newRow("empty tag value left out")
        << metric("m", {{"a", ""}, {"b", "x"}}, {{"", 1.0}}) << QByteArray("m,b=x value=1\n");
    QTest::newRow("timestamp in ns") << metric("m", {}, {{"", 1.0}}, 1764100000123)
                                     << QByteArray("m value=1 1764100000123000000\n");
    QTest::newRow("measurement comma and space") << metric("my measurement,x=y", {}, {{"", 1.0}})
                                                 << QByteArray("my\\ measurement\\,x=y value=1\n");
    QTest::newRow("tag key and value escapes") << metric("m", {{"a b", "c,d=e f"}}, {{"", 1.0}})
                                               << QByteArray("m,a\\ b=c\\,d\\=e\\ f value=1\n");
    QTest::newRow("field key escapes")
        << metric("m", {}, {{"a,b=c d", 1.0}}) << QByteArray("m a\\,b\\=c\\ d=1\n");
    QTest::newRow("backslash kept before ordinary chars")
        << metric("m", {{"dir", "C:\\Users"}}, {{"", 1.0}})
        << QByteArray("m,dir=C:\\Users value=1\n");
    QTest::newRow("trailing backslash doubled")
        << metric("m", {{"k", "a\\"}}, {{"", 1.0}}) << QByteArray("m,k=a\\\\ value=1\n");
    QTest::newRow("backslash before a special doubled")
        << metric("m", {{"k", "a\\,b"}}, {{"", 1.0}}) << QByteArray("m,k=a\\\\\\,b value=1\n");
    QTest::newRow("double quote is plain in tags")
        << metric("m", {{"k", "say \"hi\""}}, {{"", 1.0}})
        << QByteArray("m,k=say\\ \"hi\" value=1\n");
    QTest::newRow("newline becomes an escaped space")
        << metric("m", {{"k", "a\nb"}}, {{"", 1.0}}) << QByteArray("m,k=a\\ b value=1\n");
    QTest::newRow("utf-8 untouched") << metric("mé", {{"città", "zürich"}}, {{"", 1.0}})
                                     << QByteArray("mé,città=zürich value=1\n");
    QTest::newRow("NaN field left out")
        << metric("m", {}, {{"a", nan_}, {"b", 2.0}}) << QByteArray("m b=2\n");
    QTest::newRow("infinities left out")
        << metric("m", {}, {{"a", inf_}, {"b", -inf_}, {"c", std::int64_t{1}}})
        << QByteArray("m c=1i\n");
    QTest::newRow("only NaN: line dropped")
        << metric("m", {{"a", "b"}}, {{"", nan_}}) << QByteArray("");
    QTest::newRow("empty bucket: line dropped") << metric("", {}, {{"", 1.0}}) << QByteArray("");
    QTest::newRow("empty value name in named values is value")
        << metric("m", {}, {{"x", 1.0}, {"", 2.0}}) << QByteArray("m x=1,value=2\n");
    QTest::newRow("ts past year 2262: server time")
        << metric("m", {}, {{"", 1.0}}, INT64_MAX / 10) << QByteArray("m value=1\n");
    const std::string long_value(5000, 'v');
    QTest::newRow("long line") << metric("m", {{"k", long_value}}, {{"", 1.0}})
                               << QByteArray(("m,k=" + long_value + " value=1\n").c_str());
  }
  void encodes_lines() {
    QFETCH(Metric, input);
    QFETCH(QByteArray, line);
    QCOMPARE(QByteArray::fromStdString(line_of(input)), line);
  }

  void counts_what_it_drops() {
    EncodeStats stats;
    line_of(metric("m", {}, {{"a", nan_}, {"b", 2.0}}), &stats);
    QCOMPARE(stats.values_dropped, 1u);
    QCOMPARE(stats.lines, 1u);
    line_of(metric("m", {}, {{"a", nan_}, {"b", inf_}}), &stats);
    QCOMPARE(stats.values_dropped, 2u);
    QCOMPARE(stats.lines_dropped, 1u);
    QCOMPARE(stats.lines, 0u);
  }

  void packs_datagrams_between_lines() {
    std::size_t too_long = 0;
    const auto datagrams = pack_datagrams("aaaa\nbbbb\ncccc\n", 10, too_long);
    QCOMPARE(datagrams.size(), 2u);
    QCOMPARE(datagrams[0].bytes, std::string("aaaa\nbbbb\n"));
    QCOMPARE(datagrams[0].lines, 2u);
    QCOMPARE(datagrams[1].bytes, std::string("cccc\n"));
    QCOMPARE(too_long, 0u);
  }

  void drops_a_line_longer_than_a_datagram() {
    std::size_t too_long = 0;
    const auto datagrams = pack_datagrams("ok\n" + std::string(20, 'x') + "\nfine\n", 10, too_long);
    QCOMPARE(too_long, 1u);
    QCOMPARE(datagrams.size(), 1u);
    QCOMPARE(datagrams[0].bytes, std::string("ok\nfine\n"));
    // Exactly the limit fits.
    too_long = 0;
    QCOMPARE(pack_datagrams("123456789\n", 10, too_long).size(), 1u);
    QCOMPARE(too_long, 0u);
  }

  void splits_bodies_at_a_line() {
    QCOMPARE(split_lines_in_two("a\nb\nc\nd\n"), (std::vector<std::string>{"a\nb\n", "c\nd\n"}));
    QCOMPARE(split_lines_in_two("aaaaaaaa\nb\n"), (std::vector<std::string>{"aaaaaaaa\n", "b\n"}));
    QVERIFY(split_lines_in_two("single line\n").empty());
    QVERIFY(split_lines_in_two("").empty());
  }
};

QTEST_GUILESS_MAIN(TestInfluxdbLineProtocol)
#include "test_influxdb_line_protocol.moc"
