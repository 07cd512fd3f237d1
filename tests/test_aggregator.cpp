// tests/test_aggregator.cpp — Aggregator: the exact per-interval arithmetic of
// DESIGN "StatsD", checked through a one-line rendering of every metric out.
#include <QtTest>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "collectors/statsd/aggregator.h"
#include "collectors/statsd/options.h"

using namespace bucky3;
using namespace bucky3::statsd;

namespace {

constexpr std::int64_t kNow = 1764100000000;   // ms; the end of every interval here
constexpr std::int64_t kStart = kNow - 10000;  // 10 s intervals

std::string shortest(double v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

// "bucket{k=v,k2=v2}@ts count=3 rate=0.3" or "bucket{...} =5" for a single value.
std::string render(const Metric& m) {
  std::string out = m.bucket + "{";
  for (std::size_t i = 0; i < m.metadata.size(); ++i) {
    if (i > 0) out += ',';
    out += m.metadata[i].key + "=" + m.metadata[i].value;
  }
  out += '}';
  if (m.timestamp_ms) out += "@" + std::to_string(*m.timestamp_ms);
  for (const Field& f : m.values) {
    if (!std::holds_alternative<double>(f.value)) return out + " NOT-A-DOUBLE";
    out += " " + f.name + "=" + shortest(std::get<double>(f.value));
  }
  return out;
}

std::vector<Metric> drain_all(Aggregator::Interval& interval) {
  std::vector<Metric> out;
  while (interval.drain(out, 1000)) {
  }
  return out;
}

QStringList rendered(const std::vector<Metric>& metrics) {
  QStringList lines;
  for (const Metric& m : metrics) lines << QString::fromStdString(render(m));
  lines.sort();
  return lines;
}

std::vector<double> parse_thresholds(const QString& text) {
  std::vector<double> out;
  for (const QString& part : text.split(',', Qt::SkipEmptyParts)) out.push_back(part.toDouble());
  return out;
}

AggregatorOptions test_options() {
  AggregatorOptions options = default_aggregator_options();
  const double inf = std::numeric_limits<double>::infinity();
  options.histogram_rules.push_back(
      {[](std::string_view name, const std::vector<Tag>&) { return name.starts_with("myapp_"); },
       {{"under_100ms", 100}, {"under_300ms", 300}, {"over_300ms", inf}}});
  // Listed out of order: the bounds decide, not the listing.
  options.histogram_rules.push_back(
      {[](std::string_view name, const std::vector<Tag>&) { return name.starts_with("bounded_"); },
       {{"high", 20}, {"low", 10}}});
  // Never reached for myapp_ names: the first matching rule wins.
  options.histogram_rules.push_back({[](std::string_view, const std::vector<Tag>& tags) {
                                       return std::any_of(
                                           tags.begin(), tags.end(),
                                           [](const Tag& t) { return t.key == "binned"; });
                                     },
                                     {{"all", inf}}});
  return options;
}

}  // namespace

class TestAggregator : public QObject {
  Q_OBJECT
 private slots:
  void aggregates_exactly_data() {
    QTest::addColumn<QByteArray>("payload");
    QTest::addColumn<QString>("thresholds");
    QTest::addColumn<QStringList>("expected");
    auto row = [](const char* tag, const char* payload, const char* thresholds,
                  QStringList expected) {
      QTest::newRow(tag) << QByteArray(payload) << QString(thresholds) << expected;
    };
    row("counter", "a:1|c\na:2|c", "100", {"stats_counters{name=a} count=3 rate=0.3"});
    row("counter float", "a:0.5|c\na:0.25|c", "100",
        {"stats_counters{name=a} count=0.75 rate=0.075"});
    row("counter sample rate", "a:1|c|@0.5\na:3|c|@0.25", "100",
        {"stats_counters{name=a} count=14 rate=1.4"});
    row("counter tags sorted", "a:1|c|#z:1,b:2\na:1|c|#b:2,z:1", "100",
        {"stats_counters{b=2,name=a,z=1} count=2 rate=0.2"});
    row("tag sets differ", "a:1|c|#b:2\na:1|c|#b:3\na:1|c", "100",
        {"stats_counters{b=2,name=a} count=1 rate=0.1",
         "stats_counters{b=3,name=a} count=1 rate=0.1", "stats_counters{name=a} count=1 rate=0.1"});
    row("name tag wins", "a:1|c|#name:other", "100", {"stats_counters{name=a} count=1 rate=0.1"});
    row("telegraf equals dogstatsd", "a,k=v:1|c\na:1|c|#k:v", "100",
        {"stats_counters{k=v,name=a} count=2 rate=0.2"});
    row("gauge last", "g:5|g\ng:7|g", "100", {"stats_gauges{name=g} =7"});
    row("gauge deltas", "g:5|g\ng:+3|g\ng:-1|g", "100", {"stats_gauges{name=g} =7"});
    row("gauge delta from zero", "g:-4|g\ng:+1.5|g", "100", {"stats_gauges{name=g} =-2.5"});
    row("gauge set after delta", "g:+2|g\ng:10|g\ng:+1|g", "100", {"stats_gauges{name=g} =11"});
    row("gauge ignores rate", "g:3|g|@0.5", "100", {"stats_gauges{name=g} =3"});
    row("set", "u:alice|s\nu:bob|s\nu:alice|s", "100", {"stats_sets{name=u} count=2"});
    row("set packed", "u:a:b:c:a|s", "100", {"stats_sets{name=u} count=3"});
    row("set rate not scaled", "u:a|s|@0.5", "100", {"stats_sets{name=u} count=1"});
    row("timer 1..10", "t:1:2:3:4:5:6:7:8:9:10|ms", "50,90,99,100",
        {"stats_timers{name=t,percentile=50} count=5 count_ps=0.5 lower=1 upper=5 mean=3 sum=15 "
         "stdev=1.5811388300841898",
         "stats_timers{name=t,percentile=90} count=9 count_ps=0.9 lower=1 upper=9 mean=5 sum=45 "
         "stdev=2.7386127875258306",
         "stats_timers{name=t,percentile=99} count=9 count_ps=0.9 lower=1 upper=9 mean=5 sum=45 "
         "stdev=2.7386127875258306",
         "stats_timers{name=t,percentile=100} count=10 count_ps=1 lower=1 upper=10 mean=5.5 "
         "sum=55 stdev=3.0276503540974917"});
    row("timer unsorted input", "t:10|ms\nt:1|ms\nt:7|ms\nt:4|ms", "50",
        {"stats_timers{name=t,percentile=50} count=2 count_ps=0.2 lower=1 upper=4 mean=2.5 sum=5 "
         "stdev=2.1213203435596424"});
    row("percentile shortest form", "t:1:2|ms", "99.9,75",
        {"stats_timers{name=t,percentile=99.9} count=1 count_ps=0.1 lower=1 upper=1 mean=1 sum=1",
         "stats_timers{name=t,percentile=75} count=1 count_ps=0.1 lower=1 upper=1 mean=1 sum=1"});
    row("one sample", "t:5|ms", "50,90,99,100",
        {"stats_timers{name=t,percentile=100} count=1 count_ps=0.1 lower=5 upper=5 mean=5 sum=5"});
    row("timer sample rate", "t:1|ms|@0.5\nt:3|ms|@0.5", "50,100",
        {"stats_timers{name=t,percentile=50} count=2 count_ps=0.2 lower=1 upper=1 mean=1 sum=1",
         "stats_timers{name=t,percentile=100} count=4 count_ps=0.4 lower=1 upper=3 mean=2 sum=4 "
         "stdev=1.4142135623730951"});
    row("ms h d are one series", "x:1|ms\nx:2|h\nx:3|d", "100",
        {"stats_timers{name=x,percentile=100} count=3 count_ps=0.3 lower=1 upper=3 mean=2 sum=6 "
         "stdev=1"});
    row("negative timer", "t:-2:2|ms", "100",
        {"stats_timers{name=t,percentile=100} count=2 count_ps=0.2 lower=-2 upper=2 mean=0 sum=0 "
         "stdev=2.8284271247461903"});
    row("histogram bins", "myapp_lat:50:100:250:-1:1000|h", "100",
        {"stats_timers{name=myapp_lat,percentile=100} count=5 count_ps=0.5 lower=-1 upper=1000 "
         "mean=279.8 sum=1399 stdev=413.38867909027215",
         "stats_histograms{histogram=under_100ms,name=myapp_lat} count=1 count_ps=0.1 lower=50 "
         "upper=50 mean=50 sum=50",
         "stats_histograms{histogram=under_300ms,name=myapp_lat} count=2 count_ps=0.2 lower=100 "
         "upper=250 mean=175 sum=350 stdev=106.06601717798213",
         "stats_histograms{histogram=over_300ms,name=myapp_lat} count=1 count_ps=0.1 lower=1000 "
         "upper=1000 mean=1000 sum=1000"});
    row("bins from ms and d too", "myapp_x:10|ms\nmyapp_x:20|d|@0.5", "",
        {"stats_histograms{histogram=under_100ms,name=myapp_x} count=3 count_ps=0.3 lower=10 "
         "upper=20 mean=15 sum=30 stdev=7.0710678118654755"});
    row("bin bounds strict", "bounded_x:0:9.5:10:19:20:25|h", "",
        {"stats_histograms{histogram=low,name=bounded_x} count=2 count_ps=0.2 lower=0 upper=9.5 "
         "mean=4.75 sum=9.5 stdev=6.7175144212722016",
         "stats_histograms{histogram=high,name=bounded_x} count=2 count_ps=0.2 lower=10 upper=19 "
         "mean=14.5 sum=29 stdev=6.363961030678928"});
    row("first rule wins", "myapp_y:500|h|#binned", "",
        {"stats_histograms{binned=true,histogram=over_300ms,name=myapp_y} count=1 count_ps=0.1 "
         "lower=500 upper=500 mean=500 sum=500"});
    row("rule by tag", "other:5|d|#binned", "",
        {"stats_histograms{binned=true,histogram=all,name=other} count=1 count_ps=0.1 lower=5 "
         "upper=5 mean=5 sum=5"});
    row("no rule no bins", "other:5|h", "", {});
    row("bucket override", "a:1|c|#bucket:custom\nt:1|ms|#bucket:tb\nmyapp_z:1|h|#bucket:hb", "100",
        {"custom{name=a} count=1 rate=0.1",
         "tb{name=t,percentile=100} count=1 count_ps=0.1 lower=1 upper=1 mean=1 sum=1",
         "hb{name=myapp_z,percentile=100} count=1 count_ps=0.1 lower=1 upper=1 mean=1 sum=1",
         "hb{histogram=under_100ms,name=myapp_z} count=1 count_ps=0.1 lower=1 upper=1 mean=1 "
         "sum=1"});
    row("own timestamps", "a:1|c|T1764100000\na:2|c|T1764100000\na:4|c\na:8|c|T1764099990", "100",
        {"stats_counters{name=a}@1764100000000 count=3 rate=0.3",
         "stats_counters{name=a}@1764099990000 count=8 rate=0.8",
         "stats_counters{name=a} count=4 rate=0.4"});
    row("timestamp tag ms", "g:1|g|#timestamp:1764100000500", "100",
        {"stats_gauges{name=g}@1764100000500 =1"});
    row("window edge kept", "a:1|c|T1764099400", "100",
        {"stats_counters{name=a}@1764099400000 count=1 rate=0.1"});
    row("out of window dropped", "a:1|c|T1764099399\na:1|c|T1764100601", "100", {});
    row("multi sample kinds", "a:1|c:2|g:3|ms", "100",
        {"stats_counters{name=a} count=1 rate=0.1", "stats_gauges{name=a} =2",
         "stats_timers{name=a,percentile=100} count=1 count_ps=0.1 lower=3 upper=3 mean=3 sum=3"});
    row("container id", "a:1|c|c:abc", "100",
        {"stats_counters{container_id=abc,name=a} count=1 rate=0.1"});
    // Repeated lines take the line cache; each of these differs from a cached
    // line only in its value and must still be read as parse_line() reads it.
    row("cached then packed", "lat:1|d\nlat:2:3|d", "100",
        {"stats_timers{name=lat,percentile=100} count=3 count_ps=0.3 lower=1 upper=3 mean=2 sum=6 "
         "stdev=1"});
    row("cached set then packed", "u:a|s\nu:b:c|s\nu:a|s\nu:d|s", "100",
        {"stats_sets{name=u} count=4"});
    row("cached then invalid values", "a:1|c\na:x|c\na:nan|c\na:+-1|c\na:2|c", "100",
        {"stats_counters{name=a} count=3 rate=0.3"});
    row("cached rate", "a:1|c|@0.5\na:2|c|@0.5\na:2|c", "100",
        {"stats_counters{name=a} count=8 rate=0.8"});
    row("cached gauge deltas", "g:+1|g\ng:+1|g\ng:-5|g\ng:+1|g", "100",
        {"stats_gauges{name=g} =-2"});
    row("cached tags per line", "a:1|c|#k:1\na:1|c|#k:2\na:1|c|#k:1", "100",
        {"stats_counters{k=1,name=a} count=2 rate=0.2",
         "stats_counters{k=2,name=a} count=1 rate=0.1"});
    row("escaped values unescaped once", "a:1|c|#p:x\\,y\na,p=x\\,y:2|c\na:4|c|#p:x\\\\,y", "100",
        {"stats_counters{name=a,p=x,y} count=3 rate=0.3",
         "stats_counters{name=a,p=x\\,y=true} count=4 rate=0.4"});
    row("invalid line skipped", "a:1|c\nbad line\na:2|c", "100",
        {"stats_counters{name=a} count=3 rate=0.3"});
  }
  void aggregates_exactly() {
    QFETCH(QByteArray, payload);
    QFETCH(QString, thresholds);
    QFETCH(QStringList, expected);
    expected.sort();
    // With and without the line cache: it may only make things faster.
    for (const bool line_cache : {true, false}) {
      AggregatorOptions options = test_options();
      options.percentile_thresholds = parse_thresholds(thresholds);
      options.line_cache = line_cache;
      Aggregator aggregator(options, kStart);
      aggregator.add_datagram(std::string_view(payload.constData(), payload.size()), kNow);
      const auto interval = aggregator.rotate(kNow);
      QCOMPARE(rendered(drain_all(*interval)), expected);
    }
  }

  // One datagram, every line kind: each counted where it belongs, the valid
  // ones used, each invalid one handed over with its reason.
  void counts_line_kinds() {
    Aggregator aggregator(default_aggregator_options(), kStart);
    QStringList seen;
    const std::string payload =
        "a:1|c\nnot a line\r\nb:2|c\r\n_sc|db|0\n_e{1,1}:a|b\n\nx:1|q\na:1|c|T5\na:zz|c\n";
    aggregator.add_datagram(payload, kNow, [&](const ParseError& error, std::string_view line) {
      seen << QString::fromStdString(std::string(error.reason) + ": " + std::string(line));
    });
    const ParseStats& stats = aggregator.stats();
    QCOMPARE(stats.lines, std::uint64_t{8});
    QCOMPARE(stats.invalid, std::uint64_t{3});
    QCOMPARE(stats.service_checks, std::uint64_t{1});
    QCOMPARE(stats.events, std::uint64_t{1});
    QCOMPARE(stats.out_of_window, std::uint64_t{1});
    QCOMPARE(seen, QStringList({"no ':' after the name: not a line", "unknown type: x:1|q",
                                "value is not a number: a:zz|c"}));
    QCOMPARE(aggregator.series(), std::size_t{2});
  }

  // count_ps and rate use the interval's real length, not the nominal one.
  void rates_use_real_elapsed_time() {
    Aggregator aggregator(default_aggregator_options(), kStart);
    aggregator.add_datagram("a:5|c\nt:1|ms", kStart + 100);
    const auto interval = aggregator.rotate(kStart + 2500);
    QCOMPARE(interval->end_ms() - interval->start_ms(), std::int64_t{2500});
    const auto metrics = drain_all(*interval);
    QCOMPARE(rendered(metrics).filter("stats_counters").join(""),
             QString("stats_counters{name=a} count=5 rate=2"));
    QCOMPARE(rendered(metrics).filter("percentile=100").join(""),
             QString("stats_timers{name=t,percentile=100} count=1 count_ps=0.4 lower=1 upper=1 "
                     "mean=1 sum=1"));
  }

  // Only series of the interval come out; the next one starts empty.
  void rotate_starts_empty_interval() {
    Aggregator aggregator(default_aggregator_options(), kStart);
    aggregator.add_datagram("a:1|c\ng:3|g", kNow);
    const auto first = aggregator.rotate(kNow);
    aggregator.add_datagram("g:+1|g", kNow + 1);
    const auto second = aggregator.rotate(kNow + 10000);
    QCOMPARE(first->series(), std::size_t{2});
    QCOMPARE(rendered(drain_all(*second)), QStringList({"stats_gauges{name=g} =1"}));
  }

  // The finished interval drains in bounded steps while the next one fills.
  void drains_incrementally() {
    AggregatorOptions options = default_aggregator_options();
    options.percentile_thresholds = {50, 100};
    Aggregator aggregator(options, kStart);
    std::string payload;
    for (int i = 0; i < 100; ++i) payload += "c" + std::to_string(i) + ":1|c\n";
    for (int i = 0; i < 20; ++i) payload += "t" + std::to_string(i) + ":1:2|ms\n";
    aggregator.add_datagram(payload, kNow);
    const auto interval = aggregator.rotate(kNow);
    std::vector<Metric> out;
    int steps = 0;
    bool more = true;
    while (more) {
      const std::size_t before = out.size();
      more = interval->drain(out, 7);
      QVERIFY(out.size() - before <= 7);
      aggregator.add_datagram("next:1|c", kNow + steps);  // reading goes on between steps
      ++steps;
    }
    QCOMPARE(out.size(), std::size_t{100 + 20 * 2});
    QCOMPARE(steps, 20);
    QVERIFY(!interval->drain(out, 7));
    QCOMPARE(out.size(), std::size_t{140});
    QCOMPARE(aggregator.series(), std::size_t{1});
  }

  // Past timer_sample_limit: count, lower, upper, mean, sum stay exact; the
  // percentile subsets come from a uniform reservoir of `limit` samples.
  void reservoir_past_sample_limit() {
    AggregatorOptions options = default_aggregator_options();
    options.timer_sample_limit = 100;
    options.percentile_thresholds = {50, 100};
    Aggregator aggregator(options, kStart);
    aggregator.add_datagram("t:1|ms", kNow);
    const std::size_t before = aggregator.memory_bytes();  // the series and its key exist
    std::string payload;
    for (int i = 2; i <= 1000; ++i) payload += "t:" + std::to_string(i) + "|ms\n";
    aggregator.add_datagram(payload, kNow);
    // 100 doubles kept, not 1000 (vector growth may round up to 128).
    QVERIFY(aggregator.memory_bytes() - before < 200 * sizeof(double) + 1024);
    const auto metrics = drain_all(*aggregator.rotate(kNow));
    QCOMPARE(metrics.size(), std::size_t{2});
    const auto value = [](const Metric& m, const char* name) {
      for (const Field& f : m.values) {
        if (f.name == name) return std::get<double>(f.value);
      }
      return std::nan("");
    };
    const Metric& all = *m_find(metrics, "100");
    QCOMPARE(value(all, "count"), 1000.0);
    QCOMPARE(value(all, "lower"), 1.0);
    QCOMPARE(value(all, "upper"), 1000.0);
    QCOMPARE(value(all, "mean"), 500.5);
    QCOMPARE(value(all, "sum"), 500500.0);
    QVERIFY(std::abs(value(all, "stdev") - 288.8194360957494) < 1e-9);
    const Metric& half = *m_find(metrics, "50");
    QCOMPARE(value(half, "count"), 500.0);
    QCOMPARE(value(half, "lower"), 1.0);
    // A uniform reservoir's median of 1..1000 lies far from the ends.
    QVERIFY2(value(half, "upper") > 250 && value(half, "upper") < 750,
             std::to_string(value(half, "upper")).c_str());
    QCOMPARE(value(half, "sum"), value(half, "mean") * 500);
  }

  // max_series refuses new series past the cap, counts the lines, keeps
  // updating the series it has, and names the heaviest metric names.
  void series_cap_and_top_names() {
    AggregatorOptions options = default_aggregator_options();
    options.max_series = 6;
    Aggregator aggregator(options, kStart);
    aggregator.add_datagram(
        "big:1|c|#i:1\nbig:1|c|#i:2\nbig:1|c|#i:3\nmid:1|c|#i:1\nmid:1|c|#i:2\nsmall:1|c\n"
        "big:1|c|#i:4\nnew:1|c\nbig:5|c|#i:1\nsmall:1|c:2|g",
        kNow);
    QCOMPARE(aggregator.series(), std::size_t{6});
    QCOMPARE(aggregator.stats().series_cap_drops, std::uint64_t{3});
    const auto interval = aggregator.rotate(kNow);
    QCOMPARE(interval->series_cap_drops(), std::uint64_t{3});
    const auto top = interval->top_names(2);
    QCOMPARE(top.size(), std::size_t{2});
    QCOMPARE(QString::fromStdString(top[0].first), QString("big"));
    QCOMPARE(top[0].second, std::size_t{3});
    QCOMPARE(QString::fromStdString(top[1].first), QString("mid"));
    QCOMPARE(top[1].second, std::size_t{2});
    QCOMPARE(interval->top_names(5).size(), std::size_t{3});
    const QStringList out = rendered(drain_all(*interval));
    QVERIFY(out.contains("stats_counters{i=1,name=big} count=6 rate=0.6"));
    QVERIFY(out.contains("stats_counters{name=small} count=2 rate=0.2"));
    QCOMPARE(out.size(), 6);
    // The cap is per interval.
    aggregator.add_datagram("new:1|c", kNow + 1);
    QCOMPARE(aggregator.series(), std::size_t{1});
  }

  // A finished interval owns what it needs: it drains after the aggregator is gone.
  void interval_outlives_aggregator() {
    std::unique_ptr<Aggregator::Interval> interval;
    {
      Aggregator aggregator(test_options(), kStart);
      aggregator.add_datagram("myapp_q:5|h\na:1|c", kNow);
      interval = aggregator.rotate(kNow);
    }
    // One sample: only percentile 100, one bin, one counter.
    QCOMPARE(drain_all(*interval).size(), std::size_t{3});
  }

  // The 300-bytes-a-counter aim, by the aggregator's own accounting (the
  // benchmark measures RSS too); a generous bound, so only a regression trips it.
  void counter_series_stay_small() {
    Aggregator aggregator(default_aggregator_options(), kStart);
    std::string payload;
    for (int i = 0; i < 20000; ++i) {
      payload += "app.service.metric_" + std::to_string(i % 100) +
                 ":1|c|#env:production,host:web-" + std::to_string(i / 100) + ",region:eu-west-1\n";
    }
    aggregator.add_datagram(payload, kNow);
    QCOMPARE(aggregator.series(), std::size_t{20000});
    const double per_series = double(aggregator.memory_bytes()) / 20000;
    QVERIFY2(per_series < 350, std::to_string(per_series).c_str());
  }

  // Many series: the table grows and every series keeps its own value.
  void many_series_survive_growth() {
    Aggregator aggregator(default_aggregator_options(), kStart);
    for (int round = 0; round < 2; ++round) {
      std::string payload;
      for (int i = 0; i < 20000; ++i) {
        payload += "m" + std::to_string(i % 50) + ":" + std::to_string(i) +
                   "|c|#k:" + std::to_string(i) + "\n";
      }
      aggregator.add_datagram(payload, kNow);
    }
    QCOMPARE(aggregator.series(), std::size_t{20000});
    const auto metrics = drain_all(*aggregator.rotate(kNow));
    QCOMPARE(metrics.size(), std::size_t{20000});
    for (const Metric& m : metrics) {
      QCOMPARE(std::get<double>(m.values[0].value), 2.0 * std::stod(*m.tag("k")));
    }
  }

  // A recycled interval (Aggregator::recycle) gives what a new one gives,
  // metric for metric and in the same order, through growth, shrinking, the
  // series cap, the timer reservoir, sets, histograms, long keys and packed lines.
  void recycled_intervals_change_nothing() {
    AggregatorOptions options = test_options();
    options.max_series = 3000;
    options.timer_sample_limit = 50;
    options.percentile_thresholds = {50, 90, 100};
    Aggregator fresh(options, kStart);
    Aggregator recycling(options, kStart);
    const std::string long_tag(20000, 'x');  // a key past a quarter chunk: its own block
    const int series_per_round[] = {200, 2500, 5000, 2500, 40, 40, 2500, 1};
    std::int64_t now = kStart;
    for (int round = 0; round < 8; ++round) {
      std::string payload;
      const int n = series_per_round[round];
      for (int i = 0; i < n; ++i) {
        const std::string k = std::to_string(i);
        payload += "c" + k + ":" + std::to_string(i % 7 + round) + "|c|@0.5|#r:" + k + "\n";
        if (i % 3 == 0) payload += "g" + k + ":+" + std::to_string(round + 1) + "|g\n";
        if (i % 5 == 0) payload += "s" + k + ":m" + std::to_string(i * round % 11) + "|s\n";
        if (i % 10 == 0) {
          for (int j = 0; j < 80; ++j)
            payload += "myapp_t" + k + ":" + std::to_string(j * 7 % 400) + "|ms\n";
        }
      }
      payload += "packed:1:2:3|c\nlong:1|c|#t:" + long_tag + "\n";
      now += 10000;
      fresh.add_datagram(payload, now - 1);
      recycling.add_datagram(payload, now - 1);
      const auto a = fresh.rotate(now);
      auto b = recycling.rotate(now);
      QCOMPARE(b->series(), a->series());
      QCOMPARE(b->series_cap_drops(), a->series_cap_drops());
      QCOMPARE(b->start_ms(), a->start_ms());
      std::vector<Metric> out_a, out_b;
      while (a->drain(out_a, 333)) {
      }
      while (b->drain(out_b, 333)) {
      }
      QStringList lines_a, lines_b;  // unsorted: the order is compared too
      for (const Metric& m : out_a) lines_a << QString::fromStdString(render(m));
      for (const Metric& m : out_b) lines_b << QString::fromStdString(render(m));
      QCOMPARE(lines_b, lines_a);
      QVERIFY(!lines_a.isEmpty());
      recycling.recycle(std::move(b));
    }
  }

  // Under a steady load the drained interval's memory is used again: from the
  // second interval on (the first grew its arrays by doubling, and lets the
  // slack go when drained), each starts with what the last one held when full
  // and holds no more when full itself.
  void steady_load_reuses_the_drained_interval() {
    Aggregator aggregator(default_aggregator_options(), kStart);
    std::string payload;
    for (int i = 0; i < 5000; ++i) payload += "bench.requests.k" + std::to_string(i) + ":1|c\n";
    std::vector<std::size_t> held;  // per round, when full
    for (int round = 0; round < 6; ++round) {
      const std::int64_t now = kNow + 10000 * round;
      aggregator.add_datagram(payload, now);
      held.push_back(aggregator.memory_bytes());
      if (round >= 2) QCOMPARE(held[round], held[round - 1]);
      auto interval = aggregator.rotate(now);
      std::vector<Metric> out;
      while (interval->drain(out, 2000)) out.clear();
      aggregator.recycle(std::move(interval));
      if (round >= 1) QCOMPARE(aggregator.memory_bytes(), held[round]);  // before a line
    }
  }

 private:
  static const Metric* m_find(const std::vector<Metric>& metrics, const char* percentile) {
    for (const Metric& m : metrics) {
      if (m.tag("percentile") && *m.tag("percentile") == percentile) return &m;
    }
    return nullptr;
  }
};

QTEST_GUILESS_MAIN(TestAggregator)
#include "test_aggregator.moc"
