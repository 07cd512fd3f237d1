// tests/test_debug_format.cpp — debug_output's JSON Lines and text formats.
#include <QtTest>
#include <cmath>
#include <limits>

#include "exporters/debug/format.h"

using namespace bucky3;
using namespace bucky3::debug_output;

Q_DECLARE_METATYPE(bucky3::Number)

namespace {
Metric counter_metric() {
  Metric m;
  m.bucket = "stats_counters";
  m.set_tag("name", "foo");
  m.values = {{"count", 3.0}, {"rate", 0.3}};
  m.timestamp_ms = 1764100000000;
  return m;
}
}  // namespace

class TestDebugFormat : public QObject {
  Q_OBJECT
 private slots:
  void json_matches_design_example() {
    std::string out;
    append_json_line(counter_metric(), out);
    QCOMPARE(
        QString::fromStdString(out),
        QString(
            R"({"bucket":"stats_counters","metadata":{"name":"foo"},"values":{"count":3.0,"rate":0.3},"timestamp":1764100000000})"
            "\n"));
  }

  void json_single_value_without_timestamp() {
    Metric m;
    m.bucket = "system_memory";
    m.values = {{"", std::int64_t{42}}};
    std::string out;
    append_json_line(m, out);
    QCOMPARE(QString::fromStdString(out),
             QString("{\"bucket\":\"system_memory\",\"metadata\":{},\"value\":42}\n"));
  }

  void json_numbers_data() {
    QTest::addColumn<bucky3::Number>("value");
    QTest::addColumn<QString>("text");
    QTest::newRow("integer") << Number{std::int64_t{-7}} << "-7";
    QTest::newRow("big integer") << Number{std::int64_t{9007199254740993}} << "9007199254740993";
    QTest::newRow("whole double") << Number{3.0} << "3.0";
    QTest::newRow("fraction") << Number{0.1} << "0.1";
    QTest::newRow("shortest") << Number{1.0 / 3} << "0.3333333333333333";
    QTest::newRow("exponent") << Number{1e300} << "1e+300";
    QTest::newRow("tiny") << Number{5e-324} << "5e-324";
    QTest::newRow("negative zero") << Number{-0.0} << "-0.0";
    QTest::newRow("nan") << Number{std::numeric_limits<double>::quiet_NaN()} << "\"NaN\"";
    QTest::newRow("+inf") << Number{std::numeric_limits<double>::infinity()} << "\"+Inf\"";
    QTest::newRow("-inf") << Number{-std::numeric_limits<double>::infinity()} << "\"-Inf\"";
  }
  void json_numbers() {
    QFETCH(bucky3::Number, value);
    QFETCH(QString, text);
    std::string out;
    append_json_number(value, out);
    QCOMPARE(QString::fromStdString(out), text);
  }

  void json_strings_data() {
    QTest::addColumn<QByteArray>("raw");
    QTest::addColumn<QByteArray>("json");
    QTest::newRow("plain") << QByteArray("abc") << QByteArray("\"abc\"");
    QTest::newRow("quote and backslash") << QByteArray("a\"b\\c") << QByteArray("\"a\\\"b\\\\c\"");
    QTest::newRow("newline tab") << QByteArray("a\nb\tc\r") << QByteArray("\"a\\nb\\tc\\r\"");
    QTest::newRow("control") << QByteArray("\x01") << QByteArray("\"\\u0001\"");
    QTest::newRow("utf-8 kept") << QByteArray("z\xc3\xbc") << QByteArray("\"z\xc3\xbc\"");
  }
  void json_strings() {
    QFETCH(QByteArray, raw);
    QFETCH(QByteArray, json);
    std::string out;
    append_json_string(std::string_view(raw.constData(), raw.size()), out);
    QCOMPARE(QByteArray::fromStdString(out), json);
  }

  void json_parses_back() {
    std::string out;
    Metric m = counter_metric();
    m.set_tag("path", "C:\\x \"y\"\n");
    append_json_line(m, out);
    QJsonParseError error;
    const auto doc = QJsonDocument::fromJson(QByteArray::fromStdString(out), &error);
    QCOMPARE(error.error, QJsonParseError::NoError);
    QCOMPARE(doc.object()["metadata"].toObject()["path"].toString(), QString("C:\\x \"y\"\n"));
    QCOMPARE(doc.object()["values"].toObject()["rate"].toDouble(), 0.3);
  }

  void text_line() {
    std::string out;
    append_text_line(counter_metric(), out);
    QCOMPARE(QString::fromStdString(out),
             QString("stats_counters name=foo count=3.0 rate=0.3 @1764100000000\n"));
    Metric m;
    m.bucket = "x";
    m.values = {{"", std::numeric_limits<double>::quiet_NaN()}};
    out.clear();
    append_text_line(m, out);
    QCOMPARE(QString::fromStdString(out), QString("x - value=NaN\n"));
  }
};

QTEST_GUILESS_MAIN(TestDebugFormat)
#include "test_debug_format.moc"
