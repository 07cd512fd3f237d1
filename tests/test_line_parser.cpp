// tests/test_line_parser.cpp — parse_line() on StatsD, DogStatsD and Telegraf lines,
// valid and invalid, through a one-line rendering of what was parsed.
#include <QtTest>

#include "collectors/statsd/line_parser.h"

using namespace bucky3::statsd;

namespace {

std::string_view view(const QByteArray& bytes) {
  return {bytes.constData(), std::size_t(bytes.size())};
}

const char* type_name(SampleType type) {
  switch (type) {
    case SampleType::counter: return "c";
    case SampleType::gauge: return "g";
    case SampleType::timer: return "ms";
    case SampleType::histogram: return "h";
    case SampleType::distribution: return "d";
    case SampleType::set: return "s";
  }
  return "?";
}

// "name [k=v k2=v2] c:1 g:+2 s=alice @0.5 T123 B=bucket": easy to read in a table.
QString render(const ParsedLine& p) {
  QString out = QString::fromUtf8(p.name.data(), qsizetype(p.name.size()));
  out += " [";
  for (std::size_t i = 0; i < p.tags.size(); ++i) {
    if (i > 0) out += ' ';
    out += QString::fromUtf8(p.tags[i].key.data(), qsizetype(p.tags[i].key.size()));
    out += '=';
    out += QString::fromUtf8(p.tags[i].value.data(), qsizetype(p.tags[i].value.size()));
  }
  out += ']';
  for (const Sample& s : p.samples) {
    out += ' ';
    out += type_name(s.type);
    if (s.type == SampleType::set) {
      out += '=' + QString::fromUtf8(s.member.data(), qsizetype(s.member.size()));
    } else {
      out += ':';
      if (s.delta && s.value >= 0) out += '+';
      out += QString::number(s.value, 'g', 17);
    }
  }
  if (p.sample_rate != 1) out += " @" + QString::number(p.sample_rate);
  if (p.timestamp_ms) out += " T" + QString::number(*p.timestamp_ms);
  if (!p.bucket.empty())
    out += " B=" + QString::fromUtf8(p.bucket.data(), qsizetype(p.bucket.size()));
  return out;
}

}  // namespace

class TestLineParser : public QObject {
  Q_OBJECT
 private slots:
  void parses_valid_lines_data() {
    QTest::addColumn<QByteArray>("line");
    QTest::addColumn<QString>("expected");
    auto row = [](const char* tag, const char* line, const char* expected) {
      QTest::newRow(tag) << QByteArray(line) << QString::fromUtf8(expected);
    };
    // Types and values.
    row("counter", "hits:1|c", "hits [] c:1");
    row("counter float", "hits:2.5|c", "hits [] c:2.5");
    row("counter plus", "hits:+3|c", "hits [] c:3");
    row("counter negative", "hits:-3|c", "hits [] c:-3");
    row("counter exponent", "hits:1e3|c", "hits [] c:1000");
    row("gauge", "temp:21.5|g", "temp [] g:21.5");
    row("gauge plus delta", "temp:+4|g", "temp [] g:+4");
    row("gauge minus delta", "temp:-4|g", "temp [] g:-4");
    row("timer", "db.query:12.5|ms", "db.query [] ms:12.5");
    row("histogram", "size:3|h", "size [] h:3");
    row("distribution", "lat:7|d", "lat [] d:7");
    row("set", "users:alice|s", "users [] s=alice");
    row("set numeric member", "users:42|s", "users [] s=42");
    row("carriage return", "hits:1|c\r", "hits [] c:1");
    row("name chars", "a_b.c-D9:1|c", "a_b.c-D9 [] c:1");
    // Several samples per line.
    row("multi sample", "a:1|c:2|g", "a [] c:1 g:2");
    row("multi sample three", "a:1|c:+2|g:5|ms", "a [] c:1 g:+2 ms:5");
    row("packed", "lat:1:2:3|d", "lat [] d:1 d:2 d:3");
    row("packed then multi", "a:1:2|ms:3|c", "a [] ms:1 ms:2 c:3");
    row("packed sets", "u:al:bo|s", "u [] s=al s=bo");
    row("multi sample with fields", "a:1|c:2|c|@0.5|#k:v", "a [k=v] c:1 c:2 @0.5");
    // Sample rate.
    row("rate", "hits:1|c|@0.1", "hits [] c:1 @0.1");
    row("rate one", "hits:1|c|@1", "hits [] c:1");
    // DogStatsD tags.
    row("tags colon", "hits:1|c|#env:prod,host:a", "hits [env=prod host=a] c:1");
    row("tags equals", "hits:1|c|#env=prod,host=a", "hits [env=prod host=a] c:1");
    row("split at first", "hits:1|c|#url:http://x=1", "hits [url=http://x=1] c:1");
    row("split at first equals", "hits:1|c|#k=a:b", "hits [k=a:b] c:1");
    row("tags sorted", "hits:1|c|#z:1,a:2,m:3", "hits [a=2 m=3 z=1] c:1");
    row("trailing comma", "hits:1|c|#a:1,", "hits [a=1] c:1");
    row("doubled comma", "hits:1|c|#a:1,,b:2", "hits [a=1 b=2] c:1");
    row("bare tag", "hits:1|c|#canary", "hits [canary=true] c:1");
    row("repeated key last wins", "hits:1|c|#a:1,b:2,a:3", "hits [a=3 b=2] c:1");
    row("empty value", "hits:1|c|#a:", "hits [a=] c:1");
    row("escape comma", "hits:1|c|#path:a\\,b,x:1", "hits [path=a,b x=1] c:1");
    row("escape backslash", "hits:1|c|#p:a\\\\b", "hits [p=a\\b] c:1");
    row("escape newline tab cr", "hits:1|c|#p:a\\nb\\tc\\rd", "hits [p=a\nb\tc\rd] c:1");
    row("escaped then plain", "hits:1|c|#p:\\,,q:z", "hits [p=, q=z] c:1");
    // A backslash that is no escape is kept as written, with the byte after it.
    row("windows path", "hits:1|c|#dir:C:\\Users", "hits [dir=C:\\Users] c:1");
    row("quote after backslash", "hits:1|c|#q:a\\\"b", "hits [q=a\\\"b] c:1");
    row("unknown escape kept", "hits:1|c|#a:x\\qy", "hits [a=x\\qy] c:1");
    row("dangling backslash kept", "hits:1|c|#a:x\\", "hits [a=x\\] c:1");
    row("kept then escape", "hits:1|c|#d:C:\\Data\\,x\\\\y,z:1", "hits [d=C:\\Data,x\\y z=1] c:1");
    row("path then next tag", "hits:1|c|#dir:C:\\Users\\me,env:prod",
        "hits [dir=C:\\Users\\me env=prod] c:1");
    row("telegraf quote", "cpu,q=a\\\"b:1|c", "cpu [q=a\\\"b] c:1");
    row("utf8 value", "hits:1|c|#city:Zürich", "hits [city=Zürich] c:1");
    row("empty tags field", "hits:1|c|#", "hits [] c:1");
    row("two tag fields", "hits:1|c|#a:1|#b:2", "hits [a=1 b=2] c:1");
    // Telegraf tags in the name.
    row("telegraf", "cpu,host=a,dc=x:1|c", "cpu [dc=x host=a] c:1");
    row("telegraf and dogstatsd", "cpu,host=a:1|c|#host:b,z:1", "cpu [host=b z=1] c:1");
    row("telegraf trailing comma", "cpu,host=a,:1|c", "cpu [host=a] c:1");
    // Fields in any order.
    row("fields any order", "hits:1|c|#a:1|@0.5|T1764100000", "hits [a=1] c:1 @0.5 T1764100000000");
    row("fields reversed", "hits:1|c|T1764100000|@0.25|#a:1",
        "hits [a=1] c:1 @0.25 T1764100000000");
    row("ts seconds", "hits:1|c|T1764100000", "hits [] c:1 T1764100000000");
    row("ts milliseconds", "hits:1|c|T1764100000123", "hits [] c:1 T1764100000123");
    row("ts fraction", "hits:1|c|T1764100000.5", "hits [] c:1 T1764100000500");
    row("timestamp tag", "hits:1|c|#timestamp:1764100000,a:1", "hits [a=1] c:1 T1764100000000");
    row("timestamp tag ms", "hits:1|c|#timestamp=1764100000999", "hits [] c:1 T1764100000999");
    row("bucket tag", "hits:1|c|#bucket:my_bucket,a:1", "hits [a=1] c:1 B=my_bucket");
    row("telegraf bucket", "hits,bucket=b2:1|c", "hits [] c:1 B=b2");
    row("container", "hits:1|c|c:abc123", "hits [container_id=abc123] c:1");
    row("container after tags", "hits:1|c|#a:1|c:ci-1", "hits [a=1 container_id=ci-1] c:1");
    row("unknown fields", "hits:1|c|e:x|card:high|zzz", "hits [] c:1");
    row("empty field", "hits:1|c||#a:1", "hits [a=1] c:1");
  }
  void parses_valid_lines() {
    QFETCH(QByteArray, line);
    QFETCH(QString, expected);
    ParsedLine parsed;
    const auto error = parse_line(view(line), parsed);
    QVERIFY2(!error, error ? std::string(error->reason).c_str() : "");
    QCOMPARE(parsed.kind, LineKind::metric);
    QCOMPARE(render(parsed), expected);
  }

  void rejects_invalid_lines_data() {
    QTest::addColumn<QByteArray>("line");
    QTest::addColumn<QString>("reason");
    QTest::addColumn<QByteArray>("field");
    auto row = [](const char* tag, QByteArray line, const char* reason, QByteArray field) {
      QTest::newRow(tag) << line << QString(reason) << field;
    };
    row("no colon", "hits", "no ':' after the name", "hits");
    row("empty name", ":1|c", "invalid name", "");
    row("name starts with digit", "1hits:1|c", "invalid name", "1hits");
    row("name starts with underscore", "_hits:1|c", "invalid name", "_hits");
    row("name bad char", "hi ts:1|c", "invalid name", "hi ts");
    row("name slash", "a/b:1|c", "invalid name", "a/b");
    row("no type", "hits:1", "no '|' and type after the value", "1");
    row("empty type", "hits:1|", "unknown type", "");
    row("unknown type", "hits:1|x", "unknown type", "x");
    row("type case", "hits:1|C", "unknown type", "C");
    row("not a number", "hits:x|c", "value is not a number", "x");
    row("empty value", "hits:|c", "value is not a number", "");
    row("two signs", "hits:+-1|c", "value is not a number", "+-1");
    row("double plus", "hits:++1|c", "value is not a number", "++1");
    row("trailing junk", "hits:1x|c", "value is not a number", "1x");
    row("hex", "hits:0x10|c", "value is not a number", "0x10");
    row("nan", "hits:nan|c", "value is not finite", "nan");
    row("inf", "hits:inf|g", "value is not finite", "inf");
    row("packed empty", "lat:1::2|d", "value is not a number", "");
    row("multi bad second type", "a:1|c:2|q", "unknown type", "q");
    row("empty set member", "u:|s", "set member is empty", "");
    row("rate zero", "hits:1|c|@0", "sample rate is not in (0, 1]", "@0");
    row("rate above one", "hits:1|c|@1.5", "sample rate is not in (0, 1]", "@1.5");
    row("rate negative", "hits:1|c|@-0.5", "sample rate is not in (0, 1]", "@-0.5");
    row("rate text", "hits:1|c|@x", "sample rate is not in (0, 1]", "@x");
    row("rate nan", "hits:1|c|@nan", "sample rate is not in (0, 1]", "@nan");
    row("tag key digit", "hits:1|c|#1a:b", "invalid tag key", "1a:b");
    row("tag key empty", "hits:1|c|#:b", "invalid tag key", ":b");
    row("tag key space", "hits:1|c|#a b:c", "invalid tag key", "a b:c");
    row("telegraf bad key", "cpu,9=a:1|c", "invalid tag key", "9=a");
    row("bad ts", "hits:1|c|Tsoon", "timestamp is not a number", "Tsoon");
    row("negative ts", "hits:1|c|T-5", "timestamp is not a number", "T-5");
    row("bad ts tag", "hits:1|c|#timestamp:x", "timestamp is not a number", "x");
    row("empty bucket", "hits:1|c|#bucket:", "bucket is empty", "bucket");
    row("bad utf8", QByteArray("hits:1|c|#a:\xff"), "line is not valid UTF-8",
        QByteArray("hits:1|c|#a:\xff"));
    row("overlong utf8", QByteArray("hits:1|c|#a:\xc0\xaf"), "line is not valid UTF-8",
        QByteArray("hits:1|c|#a:\xc0\xaf"));
    row("surrogate utf8", QByteArray("hits:1|c|#a:\xed\xa0\x80"), "line is not valid UTF-8",
        QByteArray("hits:1|c|#a:\xed\xa0\x80"));
    row("truncated utf8", QByteArray("hits:1|c|#a:\xe2\x82"), "line is not valid UTF-8",
        QByteArray("hits:1|c|#a:\xe2\x82"));
    row("utf8 name", "zürich:1|c", "invalid name", "zürich");
  }
  void rejects_invalid_lines() {
    QFETCH(QByteArray, line);
    QFETCH(QString, reason);
    QFETCH(QByteArray, field);
    ParsedLine parsed;
    const auto error = parse_line(view(line), parsed);
    QVERIFY2(error, line.constData());
    QCOMPARE(QString::fromUtf8(error->reason.data(), qsizetype(error->reason.size())), reason);
    QCOMPARE(QByteArray(error->field.data(), qsizetype(error->field.size())), field);
  }

  void recognises_service_checks_and_events_data() {
    QTest::addColumn<QByteArray>("line");
    QTest::addColumn<int>("kind");
    QTest::newRow("service check")
        << QByteArray("_sc|db.up|0|#env:prod") << int(LineKind::service_check);
    QTest::newRow("event") << QByteArray("_e{5,4}:title|text|#a:b") << int(LineKind::event);
    QTest::newRow("event crlf") << QByteArray("_e{1,1}:t|x\r") << int(LineKind::event);
    QTest::newRow("metric") << QByteArray("_scx:1|c") << -1;
  }
  void recognises_service_checks_and_events() {
    QFETCH(QByteArray, line);
    QFETCH(int, kind);
    ParsedLine parsed;
    const auto error = parse_line(view(line), parsed);
    if (kind < 0) {
      QVERIFY(error);  // "_scx" is no valid name either
      return;
    }
    QVERIFY(!error);
    QCOMPARE(int(parsed.kind), kind);
    QVERIFY(parsed.samples.empty());
  }

  void timestamps_data() {
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<qint64>("ms");
    QTest::newRow("seconds") << QByteArray("1764100000") << qint64(1764100000000);
    QTest::newRow("just under 1e11") << QByteArray("99999999999") << qint64(99999999999000);
    QTest::newRow("exactly 1e11 is ms") << QByteArray("100000000000") << qint64(100000000000);
    QTest::newRow("ms") << QByteArray("1764100000123") << qint64(1764100000123);
    QTest::newRow("zero") << QByteArray("0") << qint64(0);
    QTest::newRow("bad") << QByteArray("12a") << qint64(-1);
    QTest::newRow("huge") << QByteArray("1e30") << qint64(-1);
  }
  void timestamps() {
    QFETCH(QByteArray, text);
    QFETCH(qint64, ms);
    const auto parsed = parse_timestamp_ms(view(text));
    if (ms < 0) {
      QVERIFY(!parsed);
    } else {
      QVERIFY(parsed);
      QCOMPARE(qint64(*parsed), ms);
    }
  }

  // Escaped values live in ParsedLine::unescaped; many of them must not
  // invalidate the earlier views (the buffer is reserved once per line).
  void many_escaped_values_stay_valid() {
    std::string line = "m:1|c|#";
    for (int i = 0; i < 50; ++i)
      line += "k" + std::to_string(i) + ":v\\," + std::to_string(i) + ",";
    ParsedLine parsed;
    QVERIFY(!parse_line(line, parsed));
    QCOMPARE(parsed.tags.size(), std::size_t{50});
    for (const bucky3::TagView& tag : parsed.tags) {
      const std::string expected = "v," + std::string(tag.key.substr(1));
      QCOMPARE(std::string(tag.value), expected);
    }
  }

  // A warm ParsedLine is reused: nothing of the previous line leaks into the next.
  void reuse_clears_previous_line() {
    ParsedLine parsed;
    QVERIFY(!parse_line("a:1|c|@0.5|#x:1,bucket:b|T1764100000", parsed));
    QVERIFY(!parse_line("b:2|g", parsed));
    QCOMPARE(render(parsed), QString("b [] g:2"));
  }
};

QTEST_GUILESS_MAIN(TestLineParser)
#include "test_line_parser.moc"
