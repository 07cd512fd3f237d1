// tests/test_filters.cpp — Match and apply_filters() on metrics, with rules
// written as YAML and loaded through the config, as users write them.
#include <QtTest>

#include "daemon/config/config.h"

using namespace bucky3::config;
using bucky3::Metric;
using bucky3::Tag;

namespace {

// "bucket k=v k2=v2" -> Metric; tags sorted.
Metric metric_from(const QByteArray& text) {
  const auto parts = text.split(' ');
  Metric m;
  m.bucket = parts[0].toStdString();
  for (qsizetype i = 1; i < parts.size(); ++i) {
    const auto eq = parts[i].indexOf('=');
    m.metadata.push_back({parts[i].left(eq).toStdString(), parts[i].mid(eq + 1).toStdString()});
  }
  bucky3::normalize_metadata(m.metadata);
  m.values.push_back({"", std::int64_t{1}});
  return m;
}

QByteArray text_of(const Metric& m) {
  QByteArray out = QByteArray::fromStdString(m.bucket);
  for (const auto& t : m.metadata) {
    out += ' ' + QByteArray::fromStdString(t.key) + '=' + QByteArray::fromStdString(t.value);
  }
  return out;
}

std::vector<FilterRule> rules_from(const QByteArray& filters_yaml) {
  const QByteArray yaml =
      "filters:\n" + filters_yaml + "modules:\n  out:\n    type: debug_output\n";
  return load_config_text(std::string_view(yaml.constData(), yaml.size()), "f.yaml")
      .modules[0]
      .filters;
}

Match match_from(const QByteArray& match_yaml) {
  auto rules = rules_from("  - match: " + match_yaml + "\n    drop: true\n");
  return rules.at(0).match;
}

}  // namespace

class TestFilters : public QObject {
  Q_OBJECT

 private slots:
  void matches_data() {
    QTest::addColumn<QByteArray>("match");
    QTest::addColumn<QByteArray>("metric");
    QTest::addColumn<bool>("expected");
    QTest::newRow("empty matches all") << QByteArray("{}") << QByteArray("b") << true;
    QTest::newRow("bucket search")
        << QByteArray("{bucket: stat}") << QByteArray("system_stats") << true;
    QTest::newRow("bucket anchored miss")
        << QByteArray("{bucket: \"^stat\"}") << QByteArray("system_stats") << false;
    QTest::newRow("bucket anchored hit")
        << QByteArray("{bucket: \"^sys.*s$\"}") << QByteArray("system_stats") << true;
    QTest::newRow("name on tag") << QByteArray("{name: \"^app_\"}")
                                 << QByteArray("stats_counters name=app_hits") << true;
    QTest::newRow("name is not bucket")
        << QByteArray("{name: stats}") << QByteArray("stats_counters name=hits") << false;
    QTest::newRow("name absent") << QByteArray("{name: \".*\"}") << QByteArray("b x=1") << false;
    QTest::newRow("metadata hit") << QByteArray("{metadata: {env: \"^prod$\"}}")
                                  << QByteArray("b env=prod") << true;
    QTest::newRow("metadata value miss")
        << QByteArray("{metadata: {env: \"^prod$\"}}") << QByteArray("b env=production") << false;
    QTest::newRow("metadata absent tag")
        << QByteArray("{metadata: {env: \"\"}}") << QByteArray("b host=h") << false;
    QTest::newRow("metadata empty regex present")
        << QByteArray("{metadata: {env: \"\"}}") << QByteArray("b env=") << true;
    QTest::newRow("all must hold")
        << QByteArray("{bucket: b, name: n, metadata: {a: \"1\", z: \"2\"}}")
        << QByteArray("b a=1 name=n z=3") << false;
    QTest::newRow("all hold") << QByteArray("{bucket: b, name: n, metadata: {a: \"1\", z: \"2\"}}")
                              << QByteArray("b a=1 name=n z=2") << true;
    QTest::newRow("ecmascript class")
        << QByteArray("{name: \"^\\\\d+$\"}") << QByteArray("b name=123") << true;
    QTest::newRow("alternation") << QByteArray("{bucket: \"^(cpu|mem)$\"}") << QByteArray("mem")
                                 << true;
  }
  void matches() {
    QFETCH(QByteArray, match);
    QFETCH(QByteArray, metric);
    QFETCH(bool, expected);
    const Match m = match_from(match);
    const Metric x = metric_from(metric);
    QCOMPARE(m.matches(x), expected);
    QCOMPARE(m.matches(x.bucket, x.metadata), expected);
    QCOMPARE(m.empty(), match == "{}");
  }

  void applies_data() {
    QTest::addColumn<QByteArray>("rules");
    QTest::addColumn<QByteArray>("metric");
    QTest::addColumn<QByteArray>("expected");  // "" = dropped
    QTest::newRow("no rules") << QByteArray("  []\n") << QByteArray("b a=1") << QByteArray("b a=1");
    QTest::newRow("drop") << QByteArray("  - {match: {bucket: \"^b$\"}, drop: true}\n")
                          << QByteArray("b a=1") << QByteArray("");
    QTest::newRow("drop not matching") << QByteArray("  - {match: {bucket: \"^c$\"}, drop: true}\n")
                                       << QByteArray("b a=1") << QByteArray("b a=1");
    QTest::newRow("drop false") << QByteArray("  - {drop: false}\n") << QByteArray("b")
                                << QByteArray("b");
    QTest::newRow("set adds and replaces")
        << QByteArray("  - set_metadata: {a: 2, c: 3}\n") << QByteArray("b a=1 b=1")
        << QByteArray("b a=2 b=1 c=3");
    QTest::newRow("remove") << QByteArray("  - remove_metadata: [a, missing]\n")
                            << QByteArray("b a=1 b=1") << QByteArray("b b=1");
    QTest::newRow("rename bucket") << QByteArray("  - {match: {name: x}, bucket: renamed}\n")
                                   << QByteArray("b name=x") << QByteArray("renamed name=x");
    QTest::newRow("set then remove in one rule")
        << QByteArray("  - {set_metadata: {a: 9}, remove_metadata: [a]}\n") << QByteArray("b a=1")
        << QByteArray("b");
    QTest::newRow("later rules see earlier changes")
        << QByteArray(
               "  - set_metadata: {env: prod}\n"
               "  - {match: {metadata: {env: prod}}, bucket: prod_b}\n"
               "  - {match: {bucket: \"^prod_b$\"}, remove_metadata: [env]}\n")
        << QByteArray("b") << QByteArray("prod_b");
    QTest::newRow("drop ends the list") << QByteArray(
                                               "  - {match: {name: x}, drop: true}\n"
                                               "  - set_metadata: {reached: yes}\n")
                                        << QByteArray("b name=x") << QByteArray("");
    QTest::newRow("rule before drop applies, drop still drops")
        << QByteArray(
               "  - bucket: c\n"
               "  - {match: {bucket: \"^c$\"}, drop: true}\n")
        << QByteArray("b") << QByteArray("");
    QTest::newRow("drop rule after rename misses")
        << QByteArray(
               "  - bucket: c\n"
               "  - {match: {bucket: \"^b$\"}, drop: true}\n")
        << QByteArray("b") << QByteArray("c");
  }
  void applies() {
    QFETCH(QByteArray, rules);
    QFETCH(QByteArray, metric);
    QFETCH(QByteArray, expected);
    Metric m = metric_from(metric);
    const bool kept = apply_filters(rules_from(rules), m);
    QCOMPARE(kept, !expected.isEmpty());
    if (kept) QCOMPARE(text_of(m), expected);
  }

  void keeps_values_and_timestamp() {
    Metric m = metric_from("b a=1");
    m.timestamp_ms = 1764100000000;
    m.kind = bucky3::MetricKind::gauge;
    const Metric before = m;
    QVERIFY(apply_filters(rules_from("  - set_metadata: {z: 1}\n"), m));
    QCOMPARE(m.values, before.values);
    QCOMPARE(m.timestamp_ms, before.timestamp_ms);
    QCOMPARE(m.kind, before.kind);
  }

  void inherited_filters_apply_per_module() {
    const QByteArray yaml =
        "filters: [{match: {bucket: x}, drop: true}]\n"
        "modules:\n"
        "  a: {type: debug_output}\n"
        "  b: {type: debug_output, filters: [{bucket: y}]}\n";
    const Config c = load_config_text(std::string_view(yaml.constData(), yaml.size()), "f.yaml");
    Metric for_a = metric_from("x");
    Metric for_b = metric_from("x");
    QVERIFY(!apply_filters(c.modules[0].filters, for_a));
    QVERIFY(apply_filters(c.modules[1].filters, for_b));
    QCOMPARE(for_b.bucket, std::string("y"));
  }

  // Literal patterns skip std::regex; both paths must agree on every value.
  void literal_fast_path_agrees_with_regex_data() {
    QTest::addColumn<QByteArray>("pattern");
    QTest::addColumn<int>("kind");
    using L = Pattern::Literal;
    QTest::newRow("contains") << QByteArray("lat") << int(L::contains);
    QTest::newRow("prefix") << QByteArray("^lat") << int(L::prefix);
    QTest::newRow("suffix") << QByteArray("ms$") << int(L::suffix);
    QTest::newRow("exact") << QByteArray("^latency_ms$") << int(L::exact);
    QTest::newRow("empty") << QByteArray("") << int(L::contains);
    QTest::newRow("caret only") << QByteArray("^") << int(L::prefix);
    QTest::newRow("dollar only") << QByteArray("$") << int(L::suffix);
    QTest::newRow("empty exact") << QByteArray("^$") << int(L::exact);
    QTest::newRow("dash and underscore") << QByteArray("^web-1_a") << int(L::prefix);
    QTest::newRow("dot is regex") << QByteArray("^lat.ncy") << int(L::none);
    QTest::newRow("escape is regex") << QByteArray("\\d") << int(L::none);
    QTest::newRow("alternation") << QByteArray("^(a|b)$") << int(L::none);
    QTest::newRow("inner caret") << QByteArray("a^b") << int(L::none);
    QTest::newRow("double dollar") << QByteArray("a$$") << int(L::none);
    QTest::newRow("brace") << QByteArray("a{2}") << int(L::none);
  }
  void literal_fast_path_agrees_with_regex() {
    QFETCH(QByteArray, pattern);
    QFETCH(int, kind);
    const Pattern p = compile_pattern(pattern.toStdString());
    QCOMPARE(int(p.literal_kind), kind);
    const std::regex plain(pattern.toStdString(), std::regex::ECMAScript);
    for (const char* value : {"", "lat", "latency_ms", "x_latency_ms", "latency_ms_x", "ms",
                              "web-1_a", "aab", "a^b", "a$", "a", "9"}) {
      QVERIFY2(p.search(value) == std::regex_search(value, plain), value);
    }
  }

  void compiled_pattern_keeps_text() {
    const Match m = match_from("{bucket: \"^a.b$\", metadata: {k: v}}");
    QVERIFY(m.bucket);
    QCOMPARE(m.bucket->text, std::string("^a.b$"));
    QCOMPARE(m.metadata.size(), std::size_t{1});
    QCOMPARE(m.metadata[0].first, std::string("k"));
  }
};

QTEST_MAIN(TestFilters)
#include "test_filters.moc"
