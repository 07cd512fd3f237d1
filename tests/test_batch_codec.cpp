// tests/test_batch_codec.cpp — encode_batch()/decode_batch(): round trips, random
// round trips, and a decoder that refuses truncated or corrupted records.
#include <QtTest>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "shm/batch_codec.h"

using bucky3::Field;
using bucky3::Metric;
using bucky3::MetricKind;
using bucky3::Tag;
using namespace bucky3::shm;

Q_DECLARE_METATYPE(std::vector<bucky3::Metric>)

namespace {

Metric counter(std::string name, double count) {
  Metric m;
  m.bucket = "stats_counters";
  m.metadata = {{"host", "web1"}, {"name", std::move(name)}};
  m.kind = MetricKind::counter;
  m.values = {{"count", count}, {"rate", count / 10}};
  return m;
}

std::vector<Metric> round_trip(const std::vector<Metric>& metrics) {
  std::vector<std::byte> record;
  encode_batch(metrics, record);
  DecodedBatch decoded;
  const auto error = decode_batch(record, decoded);
  if (error) qWarning("decode failed: %s at %zu", error->reason.c_str(), error->offset);
  std::vector<Metric> out;
  for (const auto& view : decoded.metrics) out.push_back(view.to_metric());
  return out;
}

std::vector<std::byte> encoded(const std::vector<Metric>& metrics) {
  std::vector<std::byte> record;
  encode_batch(metrics, record);
  return record;
}

Metric random_metric(std::mt19937_64& rng) {
  auto text = [&](std::size_t max) {
    std::string s(rng() % (max + 1), '\0');
    for (auto& c : s) c = static_cast<char>(rng() % 256);  // any bytes, NUL too
    return s;
  };
  Metric m;
  m.bucket = text(40);
  const auto tags = rng() % 6;
  for (std::size_t i = 0; i < tags; ++i) m.metadata.push_back({text(12), text(30)});
  if (rng() % 2) m.timestamp_ms = static_cast<std::int64_t>(rng());
  m.kind = static_cast<MetricKind>(rng() % 7);
  const auto values = rng() % 8;
  for (std::size_t i = 0; i < values; ++i) {
    if (rng() % 2) {
      m.values.push_back({text(10), static_cast<std::int64_t>(rng())});
    } else {
      double d;
      const auto bits = rng();
      std::memcpy(&d, &bits, sizeof d);
      if (std::isnan(d)) d = 0.5;  // NaN != NaN would fail the comparison, not the codec
      m.values.push_back({text(10), d});
    }
  }
  return m;
}

}  // namespace

class TestBatchCodec : public QObject {
  Q_OBJECT
 private slots:
  void round_trips_data();
  void round_trips();
  void keeps_integers_and_doubles_apart();
  void keeps_nan_and_infinities();
  void random_round_trips();
  void views_point_into_the_record();
  void reuses_decoded_batch();
  void rejects_every_truncation();
  void rejects_corruption_data();
  void rejects_corruption();
  void survives_random_corruption();
  void fuzz_seeds_are_valid_batches();
};

void TestBatchCodec::round_trips_data() {
  QTest::addColumn<std::vector<Metric>>("metrics");
  Metric single;
  single.bucket = "system_memory";
  single.values = {{"", std::int64_t{42}}};
  single.timestamp_ms = 1764100000000;
  single.kind = MetricKind::sample;
  Metric empty_strings;
  empty_strings.metadata = {{"", ""}};
  empty_strings.values = {{"", 0.0}};
  Metric no_values;
  no_values.bucket = "b";
  Metric negative_ts = single;
  negative_ts.timestamp_ms = -1;
  QTest::newRow("empty batch") << std::vector<Metric>{};
  QTest::newRow("one single value") << std::vector<Metric>{single};
  QTest::newRow("named values") << std::vector<Metric>{counter("foo", 3), counter("bar", 5)};
  QTest::newRow("empty strings") << std::vector<Metric>{empty_strings};
  QTest::newRow("no values") << std::vector<Metric>{no_values};
  QTest::newRow("negative timestamp") << std::vector<Metric>{negative_ts};
  QTest::newRow("300 metrics") << std::vector<Metric>(300, counter("x", 1));
}

void TestBatchCodec::round_trips() {
  QFETCH(std::vector<Metric>, metrics);
  QCOMPARE(round_trip(metrics), metrics);
  QCOMPARE(encoded(metrics).size(), encoded_size(metrics));
}

void TestBatchCodec::keeps_integers_and_doubles_apart() {
  Metric m;
  m.bucket = "b";
  m.values = {{"i", std::int64_t{std::numeric_limits<std::int64_t>::min()}}, {"d", 3.0}};
  const auto out = round_trip({m});
  QCOMPARE(out.size(), std::size_t{1});
  QVERIFY(std::holds_alternative<std::int64_t>(out[0].values[0].value));
  QCOMPARE(std::get<std::int64_t>(out[0].values[0].value),
           std::numeric_limits<std::int64_t>::min());
  QVERIFY(std::holds_alternative<double>(out[0].values[1].value));
}

void TestBatchCodec::keeps_nan_and_infinities() {
  Metric m;
  m.bucket = "b";
  m.values = {{"nan", std::nan("")},
              {"inf", std::numeric_limits<double>::infinity()},
              {"-inf", -std::numeric_limits<double>::infinity()}};
  const auto out = round_trip({m});
  QCOMPARE(out.size(), std::size_t{1});
  QVERIFY(std::isnan(std::get<double>(out[0].values[0].value)));
  QCOMPARE(std::get<double>(out[0].values[1].value), std::numeric_limits<double>::infinity());
  QCOMPARE(std::get<double>(out[0].values[2].value), -std::numeric_limits<double>::infinity());
}

void TestBatchCodec::random_round_trips() {
  std::mt19937_64 rng(20261125);
  for (int round = 0; round < 2000; ++round) {
    std::vector<Metric> metrics(rng() % 20);
    for (auto& m : metrics) m = random_metric(rng);
    const auto out = round_trip(metrics);
    if (out != metrics) QFAIL(qPrintable(QString("round %1 differs").arg(round)));
  }
}

void TestBatchCodec::views_point_into_the_record() {
  const auto record = encoded({counter("foo", 1)});
  DecodedBatch decoded;
  QVERIFY(!decode_batch(record, decoded));
  const auto* begin = reinterpret_cast<const char*>(record.data());
  const auto* end = begin + record.size();
  const auto& view = decoded.metrics.at(0);
  QVERIFY(view.bucket.data() >= begin && view.bucket.data() + view.bucket.size() <= end);
  QCOMPARE(view.metadata[1].value, std::string_view("foo"));
  QVERIFY(view.metadata[1].value.data() >= begin && view.metadata[1].value.data() < end);
  QVERIFY(!view.has_single_value());
}

void TestBatchCodec::reuses_decoded_batch() {
  DecodedBatch decoded;
  QVERIFY(!decode_batch(encoded(std::vector<Metric>(50, counter("a", 1))), decoded));
  QCOMPARE(decoded.metrics.size(), std::size_t{50});
  const auto small = encoded({counter("b", 2)});
  QVERIFY(!decode_batch(small, decoded));
  QCOMPARE(decoded.metrics.size(), std::size_t{1});
  QCOMPARE(decoded.metrics[0].metadata.size(), std::size_t{2});
  QCOMPARE(decoded.metrics[0].metadata[1].value, std::string_view("b"));
}

void TestBatchCodec::rejects_every_truncation() {
  Metric m = counter("foo", 1);
  m.timestamp_ms = 5;
  const auto record = encoded({m, counter("bar", 2)});
  for (std::size_t size = 0; size < record.size(); ++size) {
    // A copy of exactly `size` bytes, so ASan sees any read past it.
    std::vector<std::byte> cut(record.begin(), record.begin() + size);
    DecodedBatch decoded;
    const auto error = decode_batch(cut, decoded);
    QVERIFY2(error, qPrintable(QString("accepted %1 of %2 bytes").arg(size).arg(record.size())));
    QVERIFY(error->offset <= size);
    QVERIFY(decoded.metrics.empty());
  }
}

void TestBatchCodec::rejects_corruption_data() {
  QTest::addColumn<int>("offset");
  QTest::addColumn<int>("byte");
  QTest::addColumn<QString>("reason");
  // Offsets in the encoding of {counter("foo", 1)}: header 0-11, metric header 12-23.
  QTest::newRow("magic") << 0 << int('X') << "bad magic";
  QTest::newRow("version") << 4 << 2 << "version 2";
  QTest::newRow("batch flags") << 5 << 1 << "flags";
  QTest::newRow("metric count") << 8 << 0xff << "metric count";
  QTest::newRow("kind") << 12 << 7 << "kind";
  QTest::newRow("metric flags") << 13 << 2 << "flags";
  QTest::newRow("tag count") << 19 << 0x7f << "tag count";
  QTest::newRow("value count") << 23 << 0x7f << "value count";
  QTest::newRow("bucket length") << 27 << 0x7f << "truncated bucket";
}

void TestBatchCodec::rejects_corruption() {
  QFETCH(int, offset);
  QFETCH(int, byte);
  QFETCH(QString, reason);
  auto record = encoded({counter("foo", 1)});
  record[offset] = static_cast<std::byte>(byte);
  DecodedBatch decoded;
  const auto error = decode_batch(record, decoded);
  QVERIFY(error);
  QVERIFY2(QString::fromStdString(error->reason).contains(reason), error->reason.c_str());
}

void TestBatchCodec::survives_random_corruption() {
  std::mt19937_64 rng(7);
  const auto clean = encoded({counter("foo", 1), counter("bar", 2)});
  DecodedBatch decoded;
  for (int round = 0; round < 20000; ++round) {
    auto record = clean;
    const int flips = 1 + rng() % 4;
    for (int i = 0; i < flips; ++i) record[rng() % record.size()] = static_cast<std::byte>(rng());
    // Accepting is fine (a flipped value byte is still a valid batch); reading out
    // of bounds is not, which ASan checks in the sanitizer build.
    if (!decode_batch(record, decoded)) {
      for (const auto& m : decoded.metrics) QVERIFY(m.bucket.size() <= record.size());
    }
  }
  // A value type that is neither integer nor double.
  auto record = clean;
  // 12 batch header + 12 metric header + 18 bucket + 31 tags + 18 "count" value + 8 "rate" name.
  const std::size_t type_offset = 99;
  record[type_offset] = std::byte{9};
  const auto error = decode_batch(record, decoded);
  QVERIFY(error);
}

void TestBatchCodec::fuzz_seeds_are_valid_batches() {
  // The fuzzer starts from these; a format change that breaks them shows here.
  const QDir dir(qEnvironmentVariable("BUCKY3_SOURCE_DIR") + "/fuzz/corpus/batch_decoder");
  const auto seeds = dir.entryList(QDir::Files);
  QVERIFY2(seeds.size() >= 5, qPrintable(dir.path()));
  for (const auto& seed : seeds) {
    QFile file(dir.filePath(seed));
    QVERIFY(file.open(QIODevice::ReadOnly));
    const auto bytes = file.readAll();
    const auto record = std::as_bytes(std::span(bytes.constData(), std::size_t(bytes.size())));
    DecodedBatch decoded;
    const auto error = decode_batch(record, decoded);
    QVERIFY2(!error, qPrintable(seed + ": " + QString::fromStdString(error ? error->reason : "")));
    std::vector<Metric> metrics;
    for (const auto& view : decoded.metrics) metrics.push_back(view.to_metric());
    QCOMPARE(encoded(metrics), std::vector<std::byte>(record.begin(), record.end()));
  }
}

QTEST_APPLESS_MAIN(TestBatchCodec)
#include "test_batch_codec.moc"
