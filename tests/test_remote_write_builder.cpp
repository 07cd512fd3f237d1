// tests/test_remote_write_builder.cpp — metrics to remote write requests: the size cap,
// series names, timestamps never repeated nor going back, staleness markers; requests
// read back with real snappy and the real protobuf runtime.
#include <QtTest>
#include <bit>

#include "exporters/remote_write/request_builder.h"
#include "remote_write.pb.h"

using namespace bucky3::remote_write;
using bucky3::Field;
using bucky3::Metric;
using bucky3::Tag;
using namespace std::chrono_literals;

namespace {

Metric make(std::string bucket, std::vector<Tag> tags, std::vector<Field> values,
            std::optional<std::int64_t> timestamp_ms = std::nullopt) {
  Metric m;
  m.bucket = std::move(bucket);
  m.metadata = std::move(tags);
  bucky3::normalize_metadata(m.metadata);
  m.values = std::move(values);
  m.timestamp_ms = timestamp_ms;
  return m;
}

// One line per sample: `name{k=v,...} value@timestamp`, labels in the order sent.
std::vector<std::string> lines(const std::vector<Request>& requests) {
  std::vector<std::string> out;
  for (const auto& r : requests) {
    std::string raw;
    if (!snappy_uncompress(r.body, raw, 1 << 24)) return {"<not snappy>"};
    ::prometheus::WriteRequest request;
    if (!request.ParseFromString(raw)) return {"<not protobuf>"};
    for (const auto& ts : request.timeseries()) {
      std::string series;
      for (const auto& l : ts.labels())
        series += (series.empty() ? "" : ",") + l.name() + "=" + l.value();
      for (const auto& s : ts.samples()) {
        const std::string value =
            is_stale_nan(s.value()) ? "stale" : QByteArray::number(s.value()).toStdString();
        out.push_back(series + " " + value + "@" + std::to_string(s.timestamp()));
      }
    }
  }
  return out;
}

}  // namespace

class TestRemoteWriteBuilder : public QObject {
  Q_OBJECT

 private slots:
  void requests_hold_at_most_max_samples() {
    RequestBuilder builder({.max_samples_per_send = 3});
    std::vector<Request> out;
    const auto now = RequestBuilder::Clock::now();
    builder.add(make("c", {{"name", "a"}}, {{"count", 1.0}, {"rate", 0.1}}, 1000), 0, now, out);
    builder.add(make("c", {{"name", "b"}}, {{"count", 2.0}, {"rate", 0.2}}, 1000), 0, now, out);
    builder.add(make("c", {{"name", "c"}}, {{"count", 3.0}, {"rate", 0.3}}, 1000), 0, now, out);
    QCOMPARE(out.size(), std::size_t{2});
    builder.add(make("g", {}, {{"", std::int64_t{7}}}, 1000), 0, now, out);
    builder.finish(out);
    QCOMPARE(out.size(), std::size_t{3});
    QCOMPARE(out[0].samples, std::size_t{3});
    QCOMPARE(out[2].samples, std::size_t{1});
    const std::vector<std::string> expected{"__name__=c,name=a,value=count 1@1000",
                                            "__name__=c,name=a,value=rate 0.1@1000",
                                            "__name__=c,name=b,value=count 2@1000",
                                            "__name__=c,name=b,value=rate 0.2@1000",
                                            "__name__=c,name=c,value=count 3@1000",
                                            "__name__=c,name=c,value=rate 0.3@1000",
                                            "__name__=g 7@1000"};
    QCOMPARE(lines(out), expected);
    QCOMPARE(builder.stats().samples, std::uint64_t{7});
    QCOMPARE(builder.stats().requests, std::uint64_t{3});
    QCOMPARE(builder.stats().series, std::size_t{7});
  }

  void names_as_the_exporter() {
    RequestBuilder builder({});
    std::vector<Request> out;
    builder.add(
        make("my.app-latency", {{"dc.zone", "eu"}, {"value", "user"}, {"zone", "z"}, {"empty", ""}},
             {{"p99", std::int64_t{12}}}),
        5000, RequestBuilder::Clock::now(), out);
    builder.finish(out);
    const std::vector<std::string> expected{
        "__name__=my_app_latency,dc_zone=eu,tag_value=user,value=p99,zone=z 12@5000"};
    QCOMPARE(lines(out), expected);
  }

  void never_twice_never_backwards() {
    RequestBuilder builder({});
    std::vector<Request> out;
    const auto now = RequestBuilder::Clock::now();
    const auto point = [&](double v, std::optional<std::int64_t> ts, std::int64_t read) {
      builder.add(make("g", {{"name", "x"}}, {{"", v}}, ts), read, now, out);
    };
    point(1, 2000, 0);
    point(2, 2000, 0);  // the same timestamp again: dropped
    point(3, 1000, 0);  // older: dropped
    point(4, 3000, 0);
    // Without their own timestamps: the read time, or 1 ms after the last point.
    point(5, std::nullopt, 2500);
    point(6, std::nullopt, 3001);
    point(7, std::nullopt, 9000);
    builder.finish(out);
    const std::vector<std::string> expected{"__name__=g,name=x 1@2000", "__name__=g,name=x 4@3000",
                                            "__name__=g,name=x 5@3001", "__name__=g,name=x 6@3002",
                                            "__name__=g,name=x 7@9000"};
    QCOMPARE(lines(out), expected);
    QCOMPARE(builder.stats().drops_duplicate, std::uint64_t{1});
    QCOMPARE(builder.stats().drops_out_of_order, std::uint64_t{1});
  }

  void staleness_markers() {
    RequestBuilder builder({.values_timeout = 60s, .tombstone_keep = 3600s});
    std::vector<Request> out;
    const auto t0 = RequestBuilder::Clock::now();
    builder.add(make("g", {{"name", "old"}}, {{"", 1.0}}, 10'000), 0, t0, out);
    builder.add(make("g", {{"name", "kept"}}, {{"", 2.0}}, 10'000), 0, t0, out);
    builder.finish(out);
    builder.add(make("g", {{"name", "kept"}}, {{"", 3.0}}, 50'000), 0, t0 + 30s, out);
    builder.finish(out);
    out.clear();
    builder.add_stale_markers(t0 + 59s, out);
    builder.finish(out);
    QVERIFY(out.empty());
    builder.add_stale_markers(t0 + 61s, out);
    builder.finish(out);
    QCOMPARE(lines(out), std::vector<std::string>{"__name__=g,name=old stale@10001"});
    QCOMPARE(std::bit_cast<std::uint64_t>(stale_nan()), std::uint64_t{0x7ff0000000000002});
    // Once only.
    out.clear();
    builder.add_stale_markers(t0 + 62s, out);
    builder.finish(out);
    QVERIFY(out.empty());
    // The tombstone refuses a point at or before the marker; a later one starts the series again.
    builder.add(make("g", {{"name", "old"}}, {{"", 4.0}}, 10'001), 0, t0 + 63s, out);
    builder.add(make("g", {{"name", "old"}}, {{"", 5.0}}, 70'000), 0, t0 + 63s, out);
    builder.finish(out);
    QCOMPARE(lines(out), std::vector<std::string>{"__name__=g,name=old 5@70000"});
    QCOMPARE(builder.stats().stale_markers, std::uint64_t{1});
    // Tombstones are forgotten after tombstone_keep.
    out.clear();
    builder.add_stale_markers(t0 + 200s, out);  // both series stale now
    builder.finish(out);
    QCOMPARE(out.size(), std::size_t{1});
    QCOMPARE(out[0].samples, std::size_t{2});
    QCOMPARE(builder.stats().series, std::size_t{2});
    builder.add_stale_markers(t0 + 200s + 3601s, out);
    QCOMPARE(builder.stats().series, std::size_t{0});
  }

  // The live series saved by one process and loaded by the next (a kill -9 and a
  // restart): the ones nobody refreshes get their marker after values_timeout, at
  // the restart (the killed process may have sent points after its save; a marker
  // before them would be refused); a refreshed one goes on; ended series are not saved.
  void saved_series_get_their_markers_after_a_restart() {
    const auto t0 = RequestBuilder::Clock::now();
    const std::int64_t wall0 = 1'796'000'000'000;
    std::string saved;
    {
      RequestBuilder before({});
      std::vector<Request> out;
      before.add(make("g", {{"name", "ends"}}, {{"", 1.0}}, 5000), 0, t0, out);
      before.add(make("g", {{"name", "goes_on"}}, {{"", 2.0}}, 5000), 0, t0, out);
      before.add(make("g", {{"name", "ended"}}, {{"", 3.0}}, 1000), 0, t0 - 70s, out);
      before.add_stale_markers(t0, out);  // "ended" gets its marker here, so is not saved
      RequestBuilder::SaveResult result;
      QVERIFY(before.save(saved, t0 + 10s, wall0 + 10'000, 1 << 20, result));
      QCOMPARE(result.series, std::size_t{2});
      QVERIFY(!result.truncated);
      std::string again;
      QVERIFY(!before.save(again, t0 + 11s, wall0 + 11'000, 1 << 20, result));  // unchanged
    }
    // The new process starts 20 s later, on another steady clock.
    const auto t1 = t0 + 1000h;
    RequestBuilder after({});
    std::vector<Request> out;
    QCOMPARE(after.load(saved, t1, wall0 + 30'000), std::optional<std::size_t>(2));
    QCOMPARE(after.stats().series, std::size_t{2});
    // The ring gives the uncommitted batch again: taken, not a duplicate.
    after.add(make("g", {{"name", "goes_on"}}, {{"", 2.0}}, 5000), 0, t1, out);
    after.add_stale_markers(t1 + 29s, out);  // refreshed 59 s ago: not yet
    after.finish(out);
    QCOMPARE(lines(out), std::vector<std::string>{"__name__=g,name=goes_on 2@5000"});
    out.clear();
    after.add(make("g", {{"name", "goes_on"}}, {{"", 4.0}}, 6000), 0, t1 + 31s, out);
    after.add_stale_markers(t1 + 31s, out);
    after.finish(out);
    QCOMPARE(lines(out), (std::vector<std::string>{
                             "__name__=g,name=goes_on 4@6000",
                             "__name__=g,name=ends stale@" + std::to_string(wall0 + 30'000)}));
    QCOMPARE(after.stats().drops_duplicate, std::uint64_t{0});
  }

  // A restored series' next point without a timestamp never lands at or before
  // the saved one; a damaged or foreign file loads nothing; the size cap holds.
  void saved_series_edge_cases() {
    const auto t0 = RequestBuilder::Clock::now();
    RequestBuilder before({});
    std::vector<Request> out;
    for (int i = 0; i < 100; ++i)
      before.add(make("g", {{"name", "s" + std::to_string(i)}}, {{"", 1.0}}, 9000), 0, t0, out);
    std::string saved;
    RequestBuilder::SaveResult result;
    QVERIFY(before.save(saved, t0, 1'000'000, 1 << 20, result));
    QCOMPARE(result.series, std::size_t{100});
    std::string capped;
    before.add(make("g", {{"name", "s0"}}, {{"", 1.0}}, 9001), 0, t0, out);  // changed again
    QVERIFY(before.save(capped, t0, 1'000'000, 1000, result));
    QVERIFY(result.truncated);
    QVERIFY(capped.size() <= 1000);
    QVERIFY(result.series > 0 && result.series < 100);
    RequestBuilder partial({});
    QCOMPARE(partial.load(capped, t0, 1'000'000), std::optional<std::size_t>(result.series));

    RequestBuilder after({});
    QCOMPARE(after.load(saved, t0, 1'000'000), std::optional<std::size_t>(100));
    out.clear();
    after.add(make("g", {{"name", "s1"}}, {{"", 5.0}}), 8000, t0, out);  // read time before 9000
    after.finish(out);
    QCOMPARE(lines(out), std::vector<std::string>{"__name__=g,name=s1 5@9001"});

    for (const auto& bad : {saved.substr(0, saved.size() - 1), saved + "x",
                            "B3SERIEZ" + saved.substr(8), std::string("B3SERIES"), std::string()}) {
      RequestBuilder fresh({});
      QCOMPARE(fresh.load(bad, t0, 1'000'000), std::optional<std::size_t>());
      QCOMPARE(fresh.stats().series, std::size_t{0});
    }
  }

  void a_value_spelled_as_the_marker_is_a_plain_nan() {
    RequestBuilder builder({});
    std::vector<Request> out;
    builder.add(make("g", {}, {{"", stale_nan()}}, 1), 0, RequestBuilder::Clock::now(), out);
    builder.finish(out);
    QCOMPARE(lines(out), std::vector<std::string>{"__name__=g nan@1"});
  }

  void uncompressed_kept_for_replay() {
    RequestBuilder builder({.keep_uncompressed = true});
    std::vector<Request> out;
    builder.add(make("g", {}, {{"", 1.0}}, 1), 0, RequestBuilder::Clock::now(), out);
    builder.finish(out);
    std::string raw;
    QVERIFY(snappy_uncompress(out[0].body, raw, 1 << 20));
    QVERIFY(raw == out[0].uncompressed);
    QCOMPARE(out[0].uncompressed_bytes, raw.size());
    QCOMPARE(builder.stats().compressed_bytes, std::uint64_t(out[0].body.size()));
  }
};

QTEST_GUILESS_MAIN(TestRemoteWriteBuilder)
#include "test_remote_write_builder.moc"
