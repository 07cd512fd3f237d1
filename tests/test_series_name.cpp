// tests/test_series_name.cpp — the series identity shared by prometheus_exporter and
// remote_write_client: remote write's label sets equal the exporter's page, sample by sample.
#include <QtTest>

#include "exporters/prometheus/series_name.h"
#include "exporters/prometheus/series_store.h"

using namespace bucky3;
using namespace bucky3::prometheus;

namespace {

QString q(std::string_view s) {
  return QString::fromUtf8(s.data(), qsizetype(s.size()));
}

std::vector<TagView> refs(const std::vector<Tag>& tags) {
  std::vector<TagView> out;
  for (const auto& t : tags) out.push_back({t.key, t.value});
  return out;
}

// `{a="1",b="x"}` style rendering of one sample's label set, `__name__` first as
// on an exposition line, the rest in the order given.
std::string render(const std::vector<Label>& labels, std::string_view field) {
  std::vector<Label> all = labels;
  if (!field.empty())
    all.insert(all.begin() + field_label_index(all), Label{"value", std::string(field)});
  std::string out;
  for (const auto& l : all) {
    if (l.name == "__name__") out = l.value + out;
  }
  out += '{';
  bool first = true;
  for (const auto& l : all) {
    if (l.name == "__name__") continue;
    if (!first) out += ',';
    first = false;
    out += l.name + "=\"";
    append_label_value(out, l.value);
    out += '"';
  }
  out += '}';
  return out;
}

// The exposition line's series part with its labels sorted, `{}` when it has none.
std::string normalize_line(std::string_view line) {
  const auto brace = line.find('{');
  const auto space = line.find(' ');
  if (brace == std::string_view::npos || brace > space) {
    return std::string(line.substr(0, space)) + "{}";
  }
  const auto close = line.rfind('}');
  std::string name(line.substr(0, brace));
  // Split on `,` outside quotes.
  std::vector<std::string> parts;
  std::string current;
  bool quoted = false;
  for (std::size_t i = brace + 1; i < close; ++i) {
    const char c = line[i];
    if (c == '\\' && quoted) {
      current += c;
      current += line[++i];
      continue;
    }
    if (c == '"') quoted = !quoted;
    if (c == ',' && !quoted) {
      parts.push_back(current);
      current.clear();
      continue;
    }
    current += c;
  }
  if (!current.empty()) parts.push_back(current);
  std::sort(parts.begin(), parts.end());
  std::string out = name + "{";
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? "," : "") + parts[i];
  return out + "}";
}

}  // namespace

class TestSeriesName : public QObject {
  Q_OBJECT

 private slots:
  void family_names_data();
  void family_names();
  void labels_sorted_and_unique();
  void field_label_keeps_order();
  void same_series_as_the_exporter_page();
};

void TestSeriesName::family_names_data() {
  QTest::addColumn<QByteArray>("bucket");
  QTest::addColumn<QByteArray>("expected");
  QTest::newRow("plain") << QByteArray("stats_counters") << QByteArray("stats_counters");
  QTest::newRow("dots") << QByteArray("my.app-latency") << QByteArray("my_app_latency");
  QTest::newRow("digit") << QByteArray("2xx") << QByteArray("_2xx");
  QTest::newRow("reserved") << QByteArray("__x") << QByteArray("metric__x");
  QTest::newRow("health family") << QByteArray("bucky3_module_up")
                                 << QByteArray("user_bucky3_module_up");
  QTest::newRow("health family sanitized")
      << QByteArray("bucky3.ring.x") << QByteArray("user_bucky3_ring_x");
  QTest::newRow("self report") << QByteArray("bucky3") << QByteArray("bucky3");
}

void TestSeriesName::family_names() {
  QFETCH(QByteArray, bucket);
  QFETCH(QByteArray, expected);
  std::string storage;
  QCOMPARE(q(family_name(std::string_view(bucket.constData(), bucket.size()), storage)),
           QString(expected));
}

void TestSeriesName::labels_sorted_and_unique() {
  const std::vector<Tag> tags{{"Zed", "upper"},  {"a.b", "dotted"}, {"a_b", "exact"},
                              {"value", "user"}, {"__meta", "m"},   {"bad", "x\xFFy"}};
  std::vector<Label> labels;
  series_labels("my.bucket", refs(tags), labels);
  std::vector<std::string> rendered;
  for (const auto& l : labels) rendered.push_back(l.name + "=" + l.value);
  const std::vector<std::string> expected{"Zed=upper",   "__name__=my_bucket",
                                          "a_b=exact",   "bad=x\xEF\xBF\xBDy",
                                          "tag__meta=m", "tag_value=user"};
  QCOMPARE(rendered, expected);
}

void TestSeriesName::field_label_keeps_order() {
  const std::vector<Tag> tags{{"host", "h"}, {"name", "n"}, {"zone", "z"}};
  std::vector<Label> labels;
  series_labels("b", refs(tags), labels);
  const auto at = field_label_index(labels);
  QCOMPARE(at, std::size_t{3});  // after __name__, host, name; before zone
  QCOMPARE(q(labels[at].name), QString("zone"));
}

// Every sample of a mixed set: the exporter's page line and remote write's label set
// name the same series.
void TestSeriesName::same_series_as_the_exporter_page() {
  struct Case {
    std::string bucket;
    std::vector<Tag> tags;
    std::vector<Field> values;
  };
  const std::vector<Case> cases{
      {"stats_counters", {{"host", "web-1"}, {"name", "foo"}}, {{"count", 3.0}, {"rate", 0.3}}},
      {"stats_gauges", {{"name", "temp"}, {"path", "C:\\dir \"q\"\nl2"}}, {{"", 21.5}}},
      {"my.app-latency", {{"dc.zone", "eu-1"}, {"value", "user tag"}}, {{"p99", std::int64_t{12}}}},
      {"2xx_responses", {}, {{"", std::int64_t{42}}}},
      {"temp\xC3\xA9rature", {{"city", "Z\xC3\xBCrich"}}, {{"", 12.25}}},
      {"__reserved",
       {{"__meta", "x"}, {"a.b", "dotted"}, {"a_b", "exact"}},
       {{"", std::int64_t{0}}}},
      {"bucky3_ring_fake", {{"Upper", "U"}, {"lower", "l"}}, {{"x", 1.0}, {"a", 2.0}}},
  };
  for (const auto& c : cases) {
    SeriesStore store;
    Metric m;
    m.bucket = c.bucket;
    m.metadata = c.tags;
    normalize_metadata(m.metadata);
    m.values = c.values;
    store.apply(m, SeriesStore::Clock::now());
    std::vector<std::string> page;
    const std::string text = *store.text();
    std::size_t pos = 0;
    while (pos < text.size()) {
      const auto end = text.find('\n', pos);
      const std::string_view line(text.data() + pos, end - pos);
      if (!line.starts_with('#')) page.push_back(normalize_line(line));
      pos = end + 1;
    }
    std::vector<Label> labels;
    series_labels(m.bucket, refs(m.metadata), labels);
    std::vector<std::string> pushed;
    for (const auto& f : m.values) pushed.push_back(normalize_line(render(labels, f.name) + " 0"));
    std::sort(page.begin(), page.end());
    std::sort(pushed.begin(), pushed.end());
    QCOMPARE(pushed, page);
  }
}

QTEST_GUILESS_MAIN(TestSeriesName)
#include "test_series_name.moc"
