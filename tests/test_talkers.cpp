// tests/test_talkers.cpp — TopTalkers over decoded batches: counts per name and
// tag key, orderings, the distinct-series estimate past its exact range, and the
// memory bound under a flood of one-off names.
#include <QtTest>

#include "shm/batch_codec.h"
#include "shm/talkers.h"

using namespace bucky3::shm;

namespace {

bucky3::Metric metric(std::string bucket, std::vector<bucky3::Tag> tags, double value = 1) {
  bucky3::Metric m;
  m.bucket = std::move(bucket);
  m.metadata = std::move(tags);
  bucky3::normalize_metadata(m.metadata);
  m.values = {{"", value}};
  return m;
}

// Encodes and decodes, so the talkers see exactly what a ring hands out.
void feed(TopTalkers& talkers, const std::vector<bucky3::Metric>& metrics, std::int64_t now) {
  std::vector<std::byte> record;
  encode_batch(metrics, record);
  DecodedBatch decoded;
  QVERIFY(!decode_batch(record, decoded));
  talkers.add(decoded, now);
}

const Talker* find(const std::vector<Talker>& list, std::string_view key) {
  for (const auto& t : list) {
    if (t.key == key) return &t;
  }
  return nullptr;
}

}  // namespace

class TestTalkers : public QObject {
  Q_OBJECT
 private slots:
  void counts_names_and_tag_keys() {
    TopTalkers talkers;
    std::vector<bucky3::Metric> batch;
    // 5 series of "requests" (by path), each twice; one gauge without a name tag.
    for (int round = 0; round < 2; ++round) {
      for (int i = 0; i < 5; ++i) {
        batch.push_back(
            metric("stats_counters", {{"name", "requests"}, {"path", "/p" + std::to_string(i)}}));
      }
    }
    batch.push_back(metric("system_memory", {{"host", "a"}}));
    feed(talkers, batch, 1000);
    feed(talkers, {metric("stats_counters", {{"name", "errors"}})}, 2000);

    const auto names = talkers.top_names(TalkerOrder::metrics, 10);
    QCOMPARE(names.size(), std::size_t(3));
    QCOMPARE(names[0].key, std::string("stats_counters name=requests"));
    QCOMPARE(names[0].metrics, std::uint64_t(10));
    QCOMPARE(names[0].series, std::uint64_t(5));
    QCOMPARE(names[0].last_seen_ms, std::int64_t(1000));
    const auto* errors = find(names, "stats_counters name=errors");
    QVERIFY(errors);
    QCOMPARE(errors->last_seen_ms, std::int64_t(2000));
    const auto* memory = find(names, "system_memory");
    QVERIFY(memory);
    QCOMPARE(memory->series, std::uint64_t(1));

    const auto keys = talkers.top_tag_keys(TalkerOrder::series, 10);
    const auto* path = find(keys, "path");
    QVERIFY(path);
    QCOMPARE(path->series, std::uint64_t(5));
    QCOMPARE(path->values, std::uint64_t(5));
    QCOMPARE(path->metrics, std::uint64_t(10));
    // Each path tag is 8 + 4 + 3 bytes in the encoding.
    QCOMPARE(path->bytes, std::uint64_t(10 * (8 + 4 + 3)));
    const auto* name = find(keys, "name");
    QVERIFY(name);
    QCOMPARE(name->values, std::uint64_t(2));
    QCOMPARE(name->series, std::uint64_t(6));

    QCOMPARE(talkers.metrics(), std::uint64_t(12));
    QCOMPARE(talkers.series(), std::uint64_t(7));
    QCOMPARE(talkers.batches(), std::uint64_t(2));
  }

  // bytes add up to the batch's size minus its 12-byte header.
  void bytes_match_the_encoding() {
    TopTalkers talkers;
    std::vector<bucky3::Metric> batch = {metric("a", {{"name", "x"}, {"k", "v"}}),
                                         metric("bb", {}, 2)};
    batch[1].timestamp_ms = 5;
    batch[1].values = {{"count", std::int64_t{3}}, {"rate", 0.5}};
    std::vector<std::byte> record;
    encode_batch(batch, record);
    feed(talkers, batch, 1);
    QCOMPARE(talkers.bytes(), std::uint64_t(record.size() - 12));
    std::uint64_t sum = 0;
    for (const auto& t : talkers.top_names(TalkerOrder::bytes, 10)) sum += t.bytes;
    QCOMPARE(sum, talkers.bytes());
  }

  void orders_data() {
    QTest::addColumn<QString>("order");
    QTest::addColumn<QString>("first");
    QTest::newRow("series") << "series"
                            << "b name=many_series";
    QTest::newRow("metrics") << "metrics"
                             << "a name=many_metrics";
    QTest::newRow("bytes") << "bytes"
                           << "c name=long_tags";
  }
  void orders() {
    QFETCH(QString, order);
    QFETCH(QString, first);
    TopTalkers talkers;
    std::vector<bucky3::Metric> batch;
    for (int i = 0; i < 50; ++i) batch.push_back(metric("a", {{"name", "many_metrics"}}));
    for (int i = 0; i < 20; ++i)
      batch.push_back(metric("b", {{"name", "many_series"}, {"id", std::to_string(i)}}));
    batch.push_back(metric("c", {{"name", "long_tags"}, {"blob", std::string(5000, 'x')}}));
    feed(talkers, batch, 1);
    const auto parsed = parse_talker_order(order.toStdString());
    QVERIFY(parsed);
    const auto top = talkers.top_names(*parsed, 1);
    QCOMPARE(top.size(), std::size_t(1));
    QCOMPARE(QString::fromStdString(top[0].key), first);
    QVERIFY(!parse_talker_order("size"));
  }

  void estimates_many_series_data() {
    QTest::addColumn<int>("series");
    QTest::newRow("exact limit") << int(DistinctCounter::exact_limit);
    QTest::newRow("1000") << 1000;
    QTest::newRow("100000") << 100000;
  }
  void estimates_many_series() {
    QFETCH(int, series);
    DistinctCounter counter;
    for (int round = 0; round < 2; ++round) {
      for (int i = 0; i < series; ++i) counter.add(std::uint64_t(i) * 7919);
    }
    const double count = double(counter.count());
    if (series <= int(DistinctCounter::exact_limit)) {
      QCOMPARE(count, double(series));
      QVERIFY(!counter.estimated());
    } else {
      QVERIFY(counter.estimated());
      // 1024 registers: standard error ~3.25 %; 4 sigma leaves no flakiness for fixed input.
      QVERIFY2(std::abs(count - series) < 0.13 * series, qPrintable(QString::number(count)));
    }
  }

  // 100k one-off names through a table of 64: memory stays bounded and a heavy
  // name seen throughout is still on top.
  void bounded_under_a_flood() {
    TopTalkers talkers({.max_names = 64, .max_tag_keys = 8});
    for (int chunk = 0; chunk < 100; ++chunk) {
      std::vector<bucky3::Metric> batch;
      for (int i = 0; i < 1000; ++i) {
        batch.push_back(
            metric("stats_counters", {{"name", "flood_" + std::to_string(chunk * 1000 + i)},
                                      {"k" + std::to_string(i % 50), "v"}}));
      }
      for (int i = 0; i < 100; ++i) batch.push_back(metric("stats_counters", {{"name", "heavy"}}));
      feed(talkers, batch, chunk);
    }
    const auto names = talkers.top_names(TalkerOrder::metrics, 1000);
    QVERIFY(names.size() <= 64);
    QCOMPARE(names[0].key, std::string("stats_counters name=heavy"));
    QCOMPARE(names[0].metrics, std::uint64_t(100 * 100));
    QVERIFY(talkers.names_evicted() > 90000);
    QVERIFY(talkers.top_tag_keys(TalkerOrder::metrics, 1000).size() <= 8);
    talkers.clear();
    QCOMPARE(talkers.metrics(), std::uint64_t(0));
    QVERIFY(talkers.top_names(TalkerOrder::metrics, 10).empty());
  }
};

QTEST_GUILESS_MAIN(TestTalkers)
#include "test_talkers.moc"
