// tests/test_remote_write_encoder.cpp — the remote write encoder against the real
// protobuf runtime (tests/remote_write.proto) and real snappy: what we send decodes to
// exactly the series, labels and samples we meant; our decoder reads what protobuf writes.
#include <snappy.h>

#include <QtTest>
#include <bit>
#include <cmath>
#include <limits>

#include "exporters/prometheus/series_name.h"
#include "exporters/remote_write/write_request.h"
#include "remote_write.pb.h"

using namespace bucky3::remote_write;

namespace {

struct ExpectedSeries {
  std::vector<std::pair<std::string, std::string>> labels;
  std::vector<std::pair<std::uint64_t, std::int64_t>> samples;  // value bits, timestamp
};

std::uint64_t bits(double d) {
  return std::bit_cast<std::uint64_t>(d);
}

const double kInf = std::numeric_limits<double>::infinity();

std::vector<ExpectedSeries> golden_series() {
  const std::string long_value(300, 'x');  // lengths past 127 take two varint bytes
  return {
      {{{"__name__", "stats_counters"}, {"host", "web-1"}, {"name", "foo"}, {"value", "count"}},
       {{bits(3.0), 1764100000000}}},
      {{{"__name__", "stats_counters"}, {"host", "web-1"}, {"name", "foo"}, {"value", "rate"}},
       {{bits(0.3), 1764100000000}, {bits(0.5), 1764100010000}}},
      {{{"__name__", "special"}, {"city", "Z\xC3\xBCrich"}, {"long", long_value}},
       {{bits(std::nan("")), 1},
        {bits(kInf), 2},
        {bits(-kInf), 3},
        {bits(-0.0), 4},
        {bits(0.0), 0},
        {kStaleNaNBits, 5}}},
      {{{"__name__", "negative_time"}},
       {{bits(1e300), -1}, {bits(-5e-324), std::numeric_limits<std::int64_t>::min()}}},
      {{{"__name__", "max_time"}, {"empty", ""}},
       {{bits(42.0), std::numeric_limits<std::int64_t>::max()}}},
      {{{"__name__", "no_samples"}}, {}},
  };
}

std::string encode(const std::vector<ExpectedSeries>& series) {
  WriteRequestEncoder encoder;
  for (const auto& s : series) {
    std::vector<LabelView> labels;
    for (const auto& [n, v] : s.labels) labels.push_back({n, v});
    std::vector<SampleValue> samples;
    for (const auto& [b, t] : s.samples) samples.push_back({std::bit_cast<double>(b), t});
    encoder.add_series_views(labels, samples);
  }
  return std::string(encoder.bytes());
}

std::vector<ExpectedSeries> from_protobuf(const ::prometheus::WriteRequest& request) {
  std::vector<ExpectedSeries> out;
  for (const auto& ts : request.timeseries()) {
    auto& s = out.emplace_back();
    for (const auto& l : ts.labels()) s.labels.emplace_back(l.name(), l.value());
    for (const auto& sample : ts.samples())
      s.samples.emplace_back(bits(sample.value()), sample.timestamp());
  }
  return out;
}

std::vector<ExpectedSeries> from_ours(const DecodeResult& decoded) {
  std::vector<ExpectedSeries> out;
  for (const auto& ts : decoded.series) {
    auto& s = out.emplace_back();
    for (const auto& l : ts.labels) s.labels.emplace_back(l.name, l.value);
    for (const auto& sample : ts.samples)
      s.samples.emplace_back(bits(sample.value), sample.timestamp_ms);
  }
  return out;
}

bool operator==(const ExpectedSeries& a, const ExpectedSeries& b) {
  return a.labels == b.labels && a.samples == b.samples;
}

char* describe(const std::vector<ExpectedSeries>& series) {
  std::string out;
  for (const auto& s : series) {
    for (const auto& [n, v] : s.labels) out += n + "=" + v.substr(0, 20) + " ";
    for (const auto& [b, t] : s.samples)
      out += "[" + std::to_string(b) + "@" + std::to_string(t) + "] ";
    out += "\n";
  }
  return qstrdup(out.c_str());
}

}  // namespace

namespace QTest {
template <>
char* toString(const std::vector<ExpectedSeries>& series) {
  return describe(series);
}
}  // namespace QTest

class TestRemoteWriteEncoder : public QObject {
  Q_OBJECT

 private slots:
  void protobuf_decodes_our_bytes();
  void snappy_block_format();
  void our_decoder_reads_protobuf_bytes();
  void decoder_refuses_malformed_data();
  void decoder_refuses_malformed();
  void encoder_reuse();
  void series_from_metric_names();
  void text_rendering();
};

void TestRemoteWriteEncoder::protobuf_decodes_our_bytes() {
  const auto expected = golden_series();
  const auto bytes = encode(expected);
  ::prometheus::WriteRequest request;
  QVERIFY(request.ParseFromString(bytes));
  QCOMPARE(from_protobuf(request), expected);
  // Byte for byte what protobuf itself writes for the same message (it leaves out
  // zero values, which we always write: compare after its parse instead).
  ::prometheus::WriteRequest again;
  QVERIFY(again.ParseFromString(request.SerializeAsString()));
  QCOMPARE(from_protobuf(again), expected);
}

void TestRemoteWriteEncoder::snappy_block_format() {
  const auto bytes = encode(golden_series());
  std::string compressed;
  snappy_compress(bytes, compressed);
  QVERIFY(compressed.size() < bytes.size());
  // Real snappy reads it back; it is the block format (no stream identifier chunk).
  QVERIFY(snappy::IsValidCompressedBuffer(compressed.data(), compressed.size()));
  QVERIFY(!compressed.starts_with("\xff\x06\x00\x00sNaPpY"));
  std::string raw;
  QVERIFY(snappy::Uncompress(compressed.data(), compressed.size(), &raw));
  QVERIFY(raw == bytes);
  ::prometheus::WriteRequest request;
  QVERIFY(request.ParseFromString(raw));
  QCOMPARE(from_protobuf(request), golden_series());
  // And ours back from what snappy itself compressed.
  std::string theirs;
  snappy::Compress(bytes.data(), bytes.size(), &theirs);
  std::string ours;
  QVERIFY(snappy_uncompress(theirs, ours, bytes.size()));
  QVERIFY(ours == bytes);
  QVERIFY(!snappy_uncompress(theirs, ours, bytes.size() - 1));  // over the bound
  QVERIFY(!snappy_uncompress("\x05garbage", ours, 1 << 20));
}

void TestRemoteWriteEncoder::our_decoder_reads_protobuf_bytes() {
  ::prometheus::WriteRequest request;
  for (const auto& s : golden_series()) {
    auto* ts = request.add_timeseries();
    for (const auto& [n, v] : s.labels) {
      auto* l = ts->add_labels();
      l->set_name(n);
      l->set_value(v);
    }
    for (const auto& [b, t] : s.samples) {
      auto* sample = ts->add_samples();
      sample->set_value(std::bit_cast<double>(b));
      sample->set_timestamp(t);
    }
  }
  // A field this decoder does not know (WriteRequest.metadata = 3, as other senders
  // write it: {type = 1}) is skipped.
  const auto bytes = request.SerializeAsString() + std::string("\x1a\x02\x08\x01", 4);
  const auto decoded = decode_write_request(bytes);
  QVERIFY2(decoded.error.empty(), decoded.error.c_str());
  QCOMPARE(from_ours(decoded), golden_series());
}

void TestRemoteWriteEncoder::decoder_refuses_malformed_data() {
  QTest::addColumn<QByteArray>("bytes");
  QTest::newRow("truncated series") << QByteArray("\x0a\x05\x0a\x03", 4);
  QTest::newRow("truncated varint") << QByteArray("\x0a\x80", 2);
  QTest::newRow("group wire type") << QByteArray("\x0b", 1);
  QTest::newRow("field zero") << QByteArray("\x00\x01", 2);
  QTest::newRow("label string past end") << QByteArray("\x0a\x04\x0a\x02\x0a\x09", 6);
  QTest::newRow("short double") << QByteArray("\x0a\x05\x12\x03\x09\x00\x00", 7);
  QTest::newRow("eleven byte varint")
      << QByteArray("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12);
}

void TestRemoteWriteEncoder::decoder_refuses_malformed() {
  QFETCH(QByteArray, bytes);
  const auto decoded = decode_write_request(std::string_view(bytes.constData(), bytes.size()));
  QVERIFY(!decoded.error.empty());
  ::prometheus::WriteRequest request;
  QVERIFY(!request.ParseFromArray(bytes.constData(), int(bytes.size())));
}

void TestRemoteWriteEncoder::encoder_reuse() {
  WriteRequestEncoder encoder;
  const std::vector<LabelView> labels{{"__name__", "a"}};
  const std::vector<SampleValue> samples{{1.0, 10}, {2.0, 20}};
  encoder.add_series_views(labels, samples);
  QCOMPARE(encoder.series(), std::size_t{1});
  QCOMPARE(encoder.samples(), std::size_t{2});
  encoder.clear();
  QVERIFY(encoder.bytes().empty());
  QCOMPARE(encoder.samples(), std::size_t{0});
  encoder.add_series_views(labels, std::span(samples).first(1));
  ::prometheus::WriteRequest request;
  QVERIFY(request.ParseFromArray(encoder.bytes().data(), int(encoder.bytes().size())));
  QCOMPARE(request.timeseries_size(), 1);
  QCOMPARE(request.timeseries(0).samples(0).timestamp(), std::int64_t{10});
}

// The module's path: labels from prometheus::series_labels(), the field label put in
// its sorted place by the encoder.
void TestRemoteWriteEncoder::series_from_metric_names() {
  const std::vector<bucky3::TagView> tags{{"host", "h"}, {"name", "n"}, {"zone", "z"}};
  std::vector<bucky3::prometheus::Label> labels;
  bucky3::prometheus::series_labels("stats.timers", tags, labels);
  WriteRequestEncoder encoder;
  const std::vector<SampleValue> samples{{7.5, 1000}};
  encoder.add_series(std::span<const bucky3::prometheus::Label>(labels), samples,
                     LabelView{"value", "mean"}, bucky3::prometheus::field_label_index(labels));
  encoder.add_series(std::span<const bucky3::prometheus::Label>(labels), samples);
  ::prometheus::WriteRequest request;
  QVERIFY(request.ParseFromArray(encoder.bytes().data(), int(encoder.bytes().size())));
  const std::vector<ExpectedSeries> expected{
      {{{"__name__", "stats_timers"},
        {"host", "h"},
        {"name", "n"},
        {"value", "mean"},
        {"zone", "z"}},
       {{bits(7.5), 1000}}},
      {{{"__name__", "stats_timers"}, {"host", "h"}, {"name", "n"}, {"zone", "z"}},
       {{bits(7.5), 1000}}},
  };
  QCOMPARE(from_protobuf(request), expected);
}

void TestRemoteWriteEncoder::text_rendering() {
  const auto bytes = encode(golden_series());  // the decoded views point into it
  const auto decoded = decode_write_request(bytes);
  QVERIFY(decoded.error.empty());
  std::string text;
  append_text(text, decoded.series);
  const std::string expected =
      "stats_counters{host=\"web-1\",name=\"foo\",value=\"count\"} 3 1764100000000\n"
      "stats_counters{host=\"web-1\",name=\"foo\",value=\"rate\"} 0.3 1764100000000\n"
      "stats_counters{host=\"web-1\",name=\"foo\",value=\"rate\"} 0.5 1764100010000\n"
      "special{city=\"Z\xC3\xBCrich\",long=\"" +
      std::string(300, 'x') +
      "\"} NaN 1\n"
      "special{city=\"Z\xC3\xBCrich\",long=\"" +
      std::string(300, 'x') +
      "\"} +Inf 2\n"
      "special{city=\"Z\xC3\xBCrich\",long=\"" +
      std::string(300, 'x') +
      "\"} -Inf 3\n"
      "special{city=\"Z\xC3\xBCrich\",long=\"" +
      std::string(300, 'x') +
      "\"} -0 4\n"
      "special{city=\"Z\xC3\xBCrich\",long=\"" +
      std::string(300, 'x') +
      "\"} 0 0\n"
      "special{city=\"Z\xC3\xBCrich\",long=\"" +
      std::string(300, 'x') +
      "\"} StaleNaN 5\n"
      "negative_time{} 1e+300 -1\n"
      "negative_time{} -5e-324 -9223372036854775808\n"
      "max_time{empty=\"\"} 42 9223372036854775807\n";
  QCOMPARE(QString::fromStdString(text), QString::fromStdString(expected));
}

QTEST_GUILESS_MAIN(TestRemoteWriteEncoder)
#include "test_remote_write_encoder.moc"
