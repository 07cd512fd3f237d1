// tests/test_metric.cpp — the shared metric model: tag order and replacement.
#include <QtTest>

#include "shm/metric.h"

using namespace bucky3;

class TestMetric : public QObject {
  Q_OBJECT
 private slots:
  void normalize_sorts_and_last_key_wins() {
    std::vector<Tag> tags{{"z", "1"}, {"a", "1"}, {"m", "x"}, {"a", "2"}};
    normalize_metadata(tags);
    QCOMPARE(tags.size(), std::size_t{3});
    QCOMPARE(QString::fromStdString(tags[0].key), QString("a"));
    QCOMPARE(QString::fromStdString(tags[0].value), QString("2"));
    QCOMPARE(QString::fromStdString(tags[1].key), QString("m"));
    QCOMPARE(QString::fromStdString(tags[2].key), QString("z"));
  }
  void set_and_remove_tag_keep_order() {
    Metric m;
    m.set_tag("host", "a");
    m.set_tag("name", "cpu");
    m.set_tag("dc", "x");
    m.set_tag("host", "b");
    QCOMPARE(m.metadata.size(), std::size_t{3});
    QCOMPARE(QString::fromStdString(m.metadata[0].key), QString("dc"));
    QCOMPARE(QString::fromStdString(*m.tag("host")), QString("b"));
    m.remove_tag("dc");
    QVERIFY(m.tag("dc") == nullptr);
    QCOMPARE(QString::fromStdString(m.metadata[0].key), QString("host"));
  }
  void single_value() {
    Metric m;
    m.values.push_back({"", std::int64_t{3}});
    QVERIFY(m.has_single_value());
    m.values.push_back({"rate", 0.5});
    QVERIFY(!m.has_single_value());
    QCOMPARE(to_double(m.values[0].value), 3.0);
  }
};

QTEST_GUILESS_MAIN(TestMetric)
#include "test_metric.moc"
