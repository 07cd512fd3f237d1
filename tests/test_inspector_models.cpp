// tests/test_inspector_models.cpp — the inspector's store and models without a
// window or a daemon: every model under QAbstractItemModelTester, the filters,
// --select patterns, CSV export, 10,000 series, dumps from a file and from
// stdin, and LiveSource on segments this test creates: read-only for real
// (bytes unchanged, read-only mappings, a user with read access only), the
// permission and layout-version messages, re-attach when segments are replaced.
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <QAbstractItemModelTester>
#include <QDateTime>
#include <QDir>
#include <QSignalSpy>
#include <QtTest>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "inspector/dump_stream.h"
#include "inspector/instances.h"
#include "inspector/live_source.h"
#include "inspector/models/health_model.h"
#include "inspector/models/roles.h"
#include "inspector/models/series_model.h"
#include "inspector/models/talkers_model.h"
#include "inspector/options.h"
#include "inspector/series_store.h"
#include "shm/batch_codec.h"
#include "shm/dump.h"
#include "shm/health.h"
#include "shm/layout.h"
#include "shm/segment.h"
#include "tests/support/metric_views.h"

using namespace bucky3;
using namespace bucky3::inspector;

namespace {

using bucky3::test::metric;

std::vector<std::byte> encode(const std::vector<Metric>& metrics) {
  std::vector<std::byte> out;
  shm::encode_batch(metrics, out);
  return out;
}

void add(SeriesStore& store, const std::vector<Metric>& metrics, std::int64_t capture_ms,
         std::string_view source = "statsd") {
  const auto bytes = encode(metrics);
  shm::DecodedBatch batch;
  QVERIFY(!shm::decode_batch(bytes, batch));
  store.add(batch, source, capture_ms);
}

// A StatsD-like flush: counters and a timer per endpoint, a gauge.
std::vector<Metric> flush(double k) {
  std::vector<Metric> out;
  for (const char* ep : {"/a", "/b"}) {
    out.push_back(metric("stats_counters", {{"name", "hits"}, {"endpoint", ep}, {"env", "prod"}},
                         {{"count", 10 * k}, {"rate", k}}));
    out.push_back(metric("stats_timers", {{"name", "lat"}, {"endpoint", ep}, {"percentile", "90"}},
                         {{"mean", 5 * k}, {"upper", 9 * k}}));
  }
  out.push_back(metric("stats_gauges", {{"name", "queue"}, {"env", "dev"}}, {{"", 3 * k}}));
  return out;
}

std::string instance_name(const char* what) {
  return std::string("tinsp_") + what + "_" + std::to_string(::getpid());
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Mappings of /dev/shm/<prefix>* in this process, with their permissions ("r--s").
std::vector<std::string> mapping_modes(const std::string& prefix) {
  std::vector<std::string> modes;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find("/dev/shm/" + prefix) == std::string::npos) continue;
    std::istringstream fields(line);
    std::string range, perms;
    fields >> range >> perms;
    modes.push_back(perms);
  }
  return modes;
}

// An agent's segments without an agent: a health block and one destination
// segment with two rings, written by this test.
struct FakeAgent {
  std::string instance;
  std::optional<shm::HealthBlock> health;
  std::optional<shm::DestinationSegment> segment;
  explicit FakeAgent(std::string name, std::optional<std::string> group = std::nullopt)
      : instance(std::move(name)) {
    create(group);
  }
  void create(std::optional<std::string> group = std::nullopt) {
    health = shm::HealthBlock::create(
        instance, {{"statsd", "statsd_server"}, {"prom", "prometheus_exporter"}}, group);
    health->set_process(0, 4242, shm::ModuleState::running, 1000, 2);
    health->heartbeat(0, QDateTime::currentMSecsSinceEpoch());
    health->add(0, shm::Counter::metrics_in, 100);
    health->record_error(0, 1234, "no ':' after the name", "this is not statsd");
    segment = shm::DestinationSegment::create(instance, "prom", {"statsd", "linux"},
                                              {.ring_size_bytes = 64 << 10, .shm_group = group});
  }
  void write(const std::vector<Metric>& metrics, std::size_t ring = 0) {
    shm::RingWriter writer(*segment, ring);
    QVERIFY(writer.try_write(encode(metrics)));
  }
  ~FakeAgent() {
    shm::HealthBlock::remove(instance);
    shm::DestinationSegment::remove(instance, "prom");
  }
};

int run_as_nobody(const std::function<int()>& body) {
  const pid_t child = ::fork();
  if (child == 0) {
    // nobody:nogroup, without root's supplementary groups.
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(99);
    ::_exit(body());
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

class TestInspectorModels : public QObject {
  Q_OBJECT
 private slots:
  void labels_data();
  void labels();
  void store_keeps_points_in_time_order();
  void store_trims_old_points();
  void series_model_grows_under_the_tester();
  void series_model_ten_thousand_series();
  void text_and_tag_filters_data();
  void text_and_tag_filters();
  void bucket_selection_plots_its_visible_series();
  void select_patterns_pick_up_later_series();
  void plot_window_and_csv();
  void health_model_marks_stale_modules();
  void error_and_ring_models();
  void instance_model();
  void talkers_model_ranks_and_rates();
  void options_parse();
  void options_refuse_data();
  void options_refuse();
  void dump_file_feeds_the_models();
  void captured_dumps_load();
  void dump_from_stdin_streams();
  void truncated_dump_shows_what_it_holds();
  void live_source_reads_rings_read_only();
  void live_source_reattaches_when_segments_are_replaced();
  void instances_list_state();
  void layout_version_message();
  void permission_message();
  void read_access_only_is_enough();
};

void TestInspectorModels::labels_data() {
  QTest::addColumn<QString>("bucket");
  QTest::addColumn<QStringList>("tags");
  QTest::addColumn<QString>("field");
  QTest::addColumn<QString>("label");
  QTest::newRow("tags and field") << "stats_counters" << QStringList{"host", "a", "name", "foo"}
                                  << "count"
                                  << "stats_counters{host=a,name=foo}.count";
  QTest::newRow("single value") << "stats_gauges" << QStringList{"name", "g"} << ""
                                << "stats_gauges{name=g}";
  QTest::newRow("no tags") << "bucky3" << QStringList{} << "uptime"
                           << "bucky3.uptime";
}

void TestInspectorModels::labels() {
  QFETCH(QString, bucket);
  QFETCH(QStringList, tags);
  QFETCH(QString, field);
  QFETCH(QString, label);
  std::vector<std::string> strings;
  for (const auto& t : tags) strings.push_back(t.toStdString());
  std::vector<TagView> views;
  for (std::size_t i = 0; i + 1 < strings.size(); i += 2)
    views.push_back({strings[i], strings[i + 1]});
  QCOMPARE(QString::fromStdString(series_label(bucket.toStdString(), views, field.toStdString())),
           label);
}

void TestInspectorModels::store_keeps_points_in_time_order() {
  SeriesStore store;
  add(store, {metric("g", {}, {{"", 1.0}}, 3000)}, 0);
  add(store, {metric("g", {}, {{"", 2.0}}, 1000)}, 0);  // late: put in its place
  add(store, {metric("g", {}, {{"", 3.0}})}, 2000);     // no timestamp: the capture time
  QCOMPARE(store.size(), std::size_t{1});
  const auto& points = store.at(0).points;
  QCOMPARE(points.size(), std::size_t{3});
  QCOMPARE(points[0].time_ms, 1000);
  QCOMPARE(points[1].time_ms, 2000);
  QCOMPARE(points[2].value, 1.0);
  QCOMPARE(store.at(0).label, std::string("g"));
  QCOMPARE(store.time_span(), (std::pair<std::int64_t, std::int64_t>{1000, 3000}));
  // The browser's text: name and field first, host (global metadata) last.
  add(store, {metric("b", {{"host", "h"}, {"name", "x"}, {"zone", "a"}}, {{"f", 1.0}})}, 0);
  QCOMPARE(store.at(1).browse_text, std::string("x · f   zone=a host=h"));
  // An integer stays exact as a double; integers and doubles share series.
  add(store, {metric("g", {}, {{"", std::int64_t{7}}}, 4000)}, 0);
  QCOMPARE(store.at(0).points.back().value, 7.0);
}

void TestInspectorModels::store_trims_old_points() {
  SeriesStore store(10000);
  for (int t = 0; t < 30; ++t) add(store, flush(t), 1000 * t);
  QCOMPARE(store.point_count(), std::size_t{30 * 9});
  store.trim(29000);
  for (std::size_t i = 0; i < store.size(); ++i) {
    QCOMPARE(store.at(i).points.front().time_ms, 19000);
    QCOMPARE(store.at(i).points.size(), std::size_t{11});
  }
  QCOMPARE(store.point_count(), std::size_t{11 * 9});
  QCOMPARE(store.time_span().first, 19000);
}

void TestInspectorModels::series_model_grows_under_the_tester() {
  SeriesStore store;
  SeriesModel model(store);
  QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
  SeriesFilterModel filter(store);
  filter.setSourceModel(&model);
  QAbstractItemModelTester filter_tester(&filter,
                                         QAbstractItemModelTester::FailureReportingMode::QtTest);
  filter.sort(SeriesModel::Series);
  QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
  model.refresh(0);
  QCOMPARE(model.rowCount(), 0);
  add(store, flush(1), 1000);
  model.refresh(1000);
  QCOMPARE(model.rowCount(), 3);  // stats_counters, stats_timers, stats_gauges
  QCOMPARE(store.size(), std::size_t{9});
  // A new series in a known bucket and a new bucket in one refresh.
  add(store,
      {metric("stats_counters", {{"name", "new"}}, {{"count", 1.0}}),
       metric("bucky3", {{"name", "statsd"}}, {{"uptime", 5.0}})},
      2000);
  add(store, flush(2), 2000);
  model.refresh(2500);
  QCOMPARE(model.rowCount(), 4);
  const auto counters = model.index(0, 0);
  QCOMPARE(counters.data().toString(), QStringLiteral("stats_counters"));
  QCOMPARE(model.rowCount(counters), 5);
  QCOMPARE(model.index(1, SeriesModel::Value).data().toString(), QStringLiteral("4 series"));
  // The browser shows the name and the field first.
  const auto hits = model.index(0, SeriesModel::Series, counters);
  QCOMPARE(hits.data().toString(), QStringLiteral("hits · count   endpoint=/a env=prod"));
  QCOMPARE(hits.data(LabelRole).toString(),
           QStringLiteral("stats_counters{endpoint=/a,env=prod,name=hits}.count"));
  QCOMPARE(model.index(0, SeriesModel::Value, counters).data().toString(), QStringLiteral("20"));
  QCOMPARE(model.index(0, SeriesModel::Points, counters).data().toULongLong(), 2ull);
  QCOMPARE(model.index(0, SeriesModel::LastSeen, counters).data().toString(),
           QStringLiteral("0.5 s ago"));
  // index_of_series() finds every series where it is.
  for (std::size_t i = 0; i < store.size(); ++i)
    QCOMPARE(model.index_of_series(i).data(SeriesIndexRole).toULongLong(), qulonglong(i));
  QVERIFY(inserted.count() >= 3);
  store.clear();
  model.refresh(3000);
  QCOMPARE(model.rowCount(), 0);
}

void TestInspectorModels::series_model_ten_thousand_series() {
  // 10,000 series in 20 buckets, refreshed as a live agent would feed them.
  SeriesStore store;
  SeriesModel model(store);
  SeriesFilterModel filter(store);
  filter.setSourceModel(&model);
  QAbstractItemModelTester tester(&filter, QAbstractItemModelTester::FailureReportingMode::QtTest);
  filter.sort(SeriesModel::Value);
  for (int round = 0; round < 3; ++round) {
    std::vector<Metric> metrics;
    for (int i = 0; i < 10000; ++i)
      metrics.push_back(metric("bucket" + std::to_string(i % 20),
                               {{"name", "s" + std::to_string(i)}}, {{"", double(i + round)}}));
    for (std::size_t first = 0; first < metrics.size(); first += 300) {
      std::vector<Metric> chunk(metrics.begin() + long(first),
                                metrics.begin() + long(std::min(first + 300, metrics.size())));
      add(store, chunk, 1000 * (round + 1));
    }
    model.refresh(1000 * (round + 1));
  }
  QCOMPARE(store.size(), std::size_t{10000});
  QCOMPARE(model.rowCount(), 20);
  int children = 0;
  for (int b = 0; b < filter.rowCount(); ++b) children += filter.rowCount(filter.index(b, 0));
  QCOMPARE(children, 10000);
  filter.set_text_filter(QStringLiteral("name=s999"));  // s999, s9990..s9999
  children = 0;
  for (int b = 0; b < filter.rowCount(); ++b) children += filter.rowCount(filter.index(b, 0));
  QCOMPARE(children, 11);
}

void TestInspectorModels::text_and_tag_filters_data() {
  QTest::addColumn<QString>("text");
  QTest::addColumn<QString>("tags");
  QTest::addColumn<QStringList>("expected");  // labels left, sorted
  const QString hits_a = "stats_counters{endpoint=/a,env=prod,name=hits}.count";
  const QString hits_b = "stats_counters{endpoint=/b,env=prod,name=hits}.count";
  const QString queue = "stats_gauges{env=dev,name=queue}";
  QTest::newRow("nothing") << ""
                           << "" << QStringList{};
  QTest::newRow("words, any case") << "COUNTERS .count"
                                   << "" << QStringList{hits_a, hits_b};
  QTest::newRow("every word must match") << "counters mean"
                                         << "" << QStringList{};
  QTest::newRow("tag value") << ""
                             << "env=dev" << QStringList{queue};
  QTest::newRow("DogStatsD spelling") << ""
                                      << "env:dev" << QStringList{queue};
  QTest::newRow("glob") << ".count"
                        << "endpoint=/b*" << QStringList{hits_b};
  QTest::newRow("has key") << ""
                           << "percentile"
                           << QStringList{"stats_timers{endpoint=/a,name=lat,percentile=90}.mean",
                                          "stats_timers{endpoint=/a,name=lat,percentile=90}.upper",
                                          "stats_timers{endpoint=/b,name=lat,percentile=90}.mean",
                                          "stats_timers{endpoint=/b,name=lat,percentile=90}.upper"};
  QTest::newRow("has not") << ""
                           << "!endpoint" << QStringList{queue};
  QTest::newRow("two terms") << ""
                             << "name=hits, endpoint=/a"
                             << QStringList{hits_a,
                                            "stats_counters{endpoint=/a,env=prod,name=hits}.rate"};
  QTest::newRow("no such value") << ""
                                 << "env=staging" << QStringList{};
}

void TestInspectorModels::text_and_tag_filters() {
  QFETCH(QString, text);
  QFETCH(QString, tags);
  QFETCH(QStringList, expected);
  SeriesStore store;
  SeriesModel model(store);
  SeriesFilterModel filter(store);
  filter.setSourceModel(&model);
  QAbstractItemModelTester tester(&filter, QAbstractItemModelTester::FailureReportingMode::QtTest);
  add(store, flush(1), 1000);
  model.refresh(1000);
  filter.set_text_filter(text);
  filter.set_tag_filter(tags);
  QStringList left;
  for (int b = 0; b < filter.rowCount(); ++b) {
    const auto bucket = filter.index(b, 0);
    QVERIFY2(filter.rowCount(bucket) > 0, "a bucket shows only through its series");
    for (int r = 0; r < filter.rowCount(bucket); ++r)
      left << filter.index(r, 0, bucket).data(LabelRole).toString();
  }
  left.sort();
  if (text.isEmpty() && tags.isEmpty()) {
    QCOMPARE(left.size(), 9);
  } else {
    QCOMPARE(left, expected);
  }
}

void TestInspectorModels::bucket_selection_plots_its_visible_series() {
  SeriesStore store;
  SeriesModel model(store);
  SeriesFilterModel filter(store);
  filter.setSourceModel(&model);
  add(store, flush(1), 1000);
  model.refresh(1000);
  filter.set_tag_filter(QStringLiteral("endpoint=/a"));
  QModelIndex timers;
  for (int b = 0; b < filter.rowCount(); ++b) {
    if (filter.index(b, 0).data().toString() == QStringLiteral("stats_timers"))
      timers = filter.index(b, 0);
  }
  QVERIFY(timers.isValid());
  // The bucket row and one of its series: each series once, only the visible ones.
  const auto picked =
      filter.series_of({timers, filter.index(0, 0, timers), filter.index(0, 1, timers)});
  QCOMPARE(picked.size(), std::size_t{2});
  for (const auto s : picked) {
    QCOMPARE(store.at(s).bucket, std::string("stats_timers"));
    QCOMPARE(*std::find_if(store.at(s).tags.begin(), store.at(s).tags.end(),
                           [](const Tag& t) { return t.key == "endpoint"; }),
             (Tag{"endpoint", "/a"}));
  }
  PlotModel plot(store);
  QAbstractItemModelTester tester(&plot, QAbstractItemModelTester::FailureReportingMode::QtTest);
  plot.set_series(picked);
  QCOMPARE(plot.rowCount(), 2);
}

void TestInspectorModels::select_patterns_pick_up_later_series() {
  SeriesStore store;
  PlotModel plot(store);
  QAbstractItemModelTester tester(&plot, QAbstractItemModelTester::FailureReportingMode::QtTest);
  plot.add_pattern(QStringLiteral("stats_gauges{env=dev,name=queue}"));  // exact
  plot.add_pattern(QStringLiteral("stats_timers{*endpoint=/b*}.mean"));  // glob, '/' included
  QVERIFY(!plot.apply_patterns());
  add(store, {metric("stats_counters", {{"name", "x"}}, {{"count", 1.0}})}, 1000);
  QVERIFY(!plot.apply_patterns());
  add(store, flush(1), 2000);
  QVERIFY(plot.apply_patterns());
  QCOMPARE(plot.rowCount(), 2);
  QStringList labels{plot.index(0, 0).data().toString(), plot.index(1, 0).data().toString()};
  labels.sort();
  QCOMPARE(labels, (QStringList{"stats_gauges{env=dev,name=queue}",
                                "stats_timers{endpoint=/b,name=lat,percentile=90}.mean"}));
  QVERIFY(!plot.apply_patterns());                                      // nothing twice
  QVERIFY(!plot.matches_pattern("stats_gauges{env=dev,name=queue}x"));  // anchored
  // The chart names each line by what sets it apart from the others.
  add(store, flush(2), 3000);
  plot.set_series({*store.find("stats_timers{endpoint=/a,name=lat,percentile=90}.mean"),
                   *store.find("stats_timers{endpoint=/b,name=lat,percentile=90}.mean")});
  QCOMPARE(plot.short_label(0), QStringLiteral("{endpoint=/a}"));
  QCOMPARE(plot.short_label(1), QStringLiteral("{endpoint=/b}"));
  plot.set_series({*store.find("stats_timers{endpoint=/a,name=lat,percentile=90}.mean")});
  QCOMPARE(plot.short_label(0),
           QStringLiteral("stats_timers{endpoint=/a,name=lat,percentile=90}.mean"));
}

void TestInspectorModels::plot_window_and_csv() {
  SeriesStore store;
  add(store, {metric("a", {{"k", "x,y"}}, {{"", 1.0}})}, 1000);
  add(store, {metric("a", {{"k", "x,y"}}, {{"", 2.5}}), metric("b", {}, {{"v", std::int64_t{7}}})},
      2000);
  add(store, {metric("a", {{"k", "x,y"}}, {{"", -3.0}})}, 3000);
  add(store, {metric("a", {{"k", "x,y"}}, {{"", 4.0}})}, 9000);
  PlotModel plot(store);
  QAbstractItemModelTester tester(&plot, QAbstractItemModelTester::FailureReportingMode::QtTest);
  plot.set_series({0, 1});
  plot.set_window(1500, 3000);
  QCOMPARE(plot.points(0), (QList<QPointF>{{2000, 2.5}, {3000, -3.0}}));
  QCOMPARE(plot.points(1), (QList<QPointF>{{2000, 7}}));
  QCOMPARE(plot.plotted_point_count(), std::size_t{3});
  QCOMPARE(plot.index(0, PlotModel::Min).data().toString(), QStringLiteral("-3"));
  QCOMPARE(plot.index(0, PlotModel::Max).data().toString(), QStringLiteral("2.5"));
  QCOMPARE(plot.index(0, PlotModel::Last).data().toString(), QStringLiteral("-3"));
  QCOMPARE(plot.index(0, PlotModel::Points).data().toULongLong(), 2ull);
  QCOMPARE(plot.index(1, 0).data(Qt::DecorationRole).value<QColor>(), PlotModel::color(1));
  QCOMPARE(plot.to_csv(), QStringLiteral("time,\"a{k=x,y}\",b.v\n"
                                         "1970-01-01T00:00:02.000Z,2.5,7\n"
                                         "1970-01-01T00:00:03.000Z,-3,\n"));
}

void TestInspectorModels::health_model_marks_stale_modules() {
  HealthModel model;
  QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
  std::vector<ModuleView> modules(3);
  modules[0].health.name = "statsd";
  modules[0].health.type = "statsd_server";
  modules[0].health.pid = 4121;
  modules[0].health.state = shm::ModuleState::running;
  modules[0].health.restarts = 2;
  modules[0].uptime_s = 3725;
  modules[0].health.last_heartbeat_ms = 999600;
  modules[0].heartbeat_age_s = 0.4;
  modules[0].in_per_s = 12500;
  modules[0].cpu_percent = 3.24;
  modules[0].health.counters[std::size_t(shm::Counter::drops_kernel)] = 3;
  modules[0].health.counters[std::size_t(shm::Counter::drops_ring_full)] = 12;
  modules[0].health.counters[std::size_t(shm::Counter::rss_bytes)] = 5 << 20;
  modules[0].health.counters[std::size_t(shm::Counter::errors)] = 4;
  modules[0].health.values = {{"socket_buffer_bytes", 212992}, {"events", 3}};
  modules[0].health.values_offered = 2;
  modules[1].health.name = "prom";
  modules[1].health.state = shm::ModuleState::running;
  modules[1].health.last_heartbeat_ms = 988000;
  modules[1].heartbeat_age_s = 12;
  modules[1].stale = true;
  modules[2].health.name = "out";
  modules[2].health.state = shm::ModuleState::backoff;
  model.set_modules(modules);
  QCOMPARE(model.rowCount(), 3);
  const auto cell = [&](int row, int column, int role = Qt::DisplayRole) {
    return model.index(row, column).data(role);
  };
  QCOMPARE(cell(0, HealthModel::Name).toString(), QStringLiteral("statsd"));
  QCOMPARE(cell(0, HealthModel::Pid).toInt(), 4121);
  QCOMPARE(cell(0, HealthModel::Uptime).toString(), QStringLiteral("1 h 2 min"));
  QCOMPARE(cell(0, HealthModel::Restarts).toInt(), 2);
  QCOMPARE(cell(0, HealthModel::Heartbeat).toString(), QStringLiteral("0.4 s ago"));
  QCOMPARE(cell(0, HealthModel::InRate).toString(), QStringLiteral("12.5k/s"));
  QCOMPARE(cell(0, HealthModel::Drops).toString(), QStringLiteral("kernel 3, ring_full 12"));
  QVERIFY(cell(0, HealthModel::Drops, Qt::ToolTipRole)
              .toString()
              .contains(QStringLiteral("series_cap 0")));
  QCOMPARE(cell(0, HealthModel::Drops, SortRole).toULongLong(), 15ull);
  QCOMPARE(cell(0, HealthModel::Errors).toULongLong(), 4ull);
  QCOMPARE(cell(0, HealthModel::Cpu).toString(), QStringLiteral("3.2 %"));
  QCOMPARE(cell(0, HealthModel::Rss).toString(), QStringLiteral("5.0 MiB"));
  // The named values show in the module's tooltip; a module without any has none.
  QCOMPARE(cell(0, HealthModel::Name, Qt::ToolTipRole).toString(),
           QStringLiteral("values:\nsocket_buffer_bytes = 212992\nevents = 3"));
  QVERIFY(!cell(1, HealthModel::Name, Qt::ToolTipRole).isValid());
  QVERIFY(!cell(0, 0, StaleRole).toBool());
  QVERIFY(!cell(0, 0, Qt::BackgroundRole).isValid());
  // The stale module is highlighted and says so.
  QVERIFY(cell(1, 0, StaleRole).toBool());
  QVERIFY(cell(1, HealthModel::Heartbeat, Qt::BackgroundRole).isValid());
  QCOMPARE(cell(1, HealthModel::State).toString(), QStringLiteral("running (stale)"));
  QVERIFY(cell(1, HealthModel::Heartbeat, Qt::ToolTipRole)
              .toString()
              .contains(QStringLiteral("no heartbeat for 12 s")));
  QVERIFY(cell(2, 0, Qt::BackgroundRole).isValid());  // backoff
  QCOMPARE(cell(2, HealthModel::Uptime).toString(), QStringLiteral("–"));
  // Same modules: dataChanged, no reset.
  QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
  QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
  modules[1].stale = false;
  model.set_modules(modules);
  QCOMPARE(reset.count(), 0);
  QCOMPARE(changed.count(), 1);
  QVERIFY(!cell(1, 0, StaleRole).toBool());
  modules.pop_back();
  model.set_modules(modules);
  QCOMPARE(reset.count(), 1);
}

void TestInspectorModels::error_and_ring_models() {
  ErrorModel errors;
  QAbstractItemModelTester error_tester(&errors,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
  errors.set_errors({{1000, "no ':' after the name", "this is not statsd"},
                     {2000, "value is not a number", "x:y|c"}});
  QCOMPARE(errors.rowCount(), 2);
  QCOMPARE(errors.index(0, ErrorModel::Reason).data().toString(),
           QStringLiteral("value is not a number"));  // newest first
  QCOMPARE(errors.index(1, ErrorModel::Text).data().toString(),
           QStringLiteral("this is not statsd"));
  RingModel rings;
  QAbstractItemModelTester ring_tester(&rings,
                                       QAbstractItemModelTester::FailureReportingMode::QtTest);
  RingView ring;
  ring.destination = "prom";
  ring.source = "statsd";
  ring.stats.capacity = 1000;
  ring.stats.write_pos = 5750;
  ring.stats.read_pos = 5000;
  ring.bytes_per_s = 2048;
  ring.bytes_per_s_history = {1, 2, 3};
  rings.set_rings({ring});
  QCOMPARE(rings.index(0, RingModel::Fill).data(FillRole).toDouble(), 0.75);
  QCOMPARE(rings.index(0, RingModel::Fill).data().toString(), QStringLiteral("75.0 %"));
  QCOMPARE(rings.index(0, RingModel::Throughput).data().toString(), QStringLiteral("2.0 KiB/s"));
  QCOMPARE(rings.index(0, RingModel::Throughput).data(HistoryRole).value<QList<double>>(),
           (QList<double>{1, 2, 3}));
  QVERIFY(!rings.index(0, RingModel::Used)
               .data(FillRole)
               .isValid());  // the delegate paints only those two
}

void TestInspectorModels::instance_model() {
  InstanceModel model;
  QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
  InstanceInfo a{"default", InstanceState::running, 4121, 3, {"out", "prom"}, ""};
  InstanceInfo b{"old", InstanceState::stale, 77, 2, {}, ""};
  InstanceInfo c{"locked", InstanceState::unreadable, 0, 0, {}, "permission denied"};
  model.set_instances({a, b, c});
  QCOMPARE(model.rowCount(), 3);
  QCOMPARE(model.index(0, InstanceModel::Picker).data().toString(),
           QStringLiteral("default — running, pid 4121, 3 modules"));
  QCOMPARE(model.index(0, InstanceModel::Destinations).data().toString(),
           QStringLiteral("out, prom"));
  QCOMPARE(model.index(1, InstanceModel::Picker).data().toString(),
           QStringLiteral("old — stale, 2 modules"));
  QCOMPARE(model.index(2, InstanceModel::Name).data(Qt::ToolTipRole).toString(),
           QStringLiteral("permission denied"));
  QCOMPARE(model.row_of(QStringLiteral("old")), 1);
  QCOMPARE(model.row_of(QStringLiteral("nope")), -1);
}

void TestInspectorModels::talkers_model_ranks_and_rates() {
  shm::TopTalkers talkers;
  TalkersModel names(TalkersModel::Kind::names);
  TalkersModel keys(TalkersModel::Kind::tag_keys);
  QAbstractItemModelTester names_tester(&names,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
  QAbstractItemModelTester keys_tester(&keys,
                                       QAbstractItemModelTester::FailureReportingMode::QtTest);
  const auto feed = [&](std::int64_t now, int users) {
    std::vector<Metric> metrics;
    for (int u = 0; u < users; ++u)
      metrics.push_back(metric("stats_counters",
                               {{"name", "login"}, {"user", "u" + std::to_string(u)}},
                               {{"count", 1.0}}));
    metrics.push_back(metric("stats_gauges", {{"name", "queue"}}, {{"", 1.0}}));
    const auto bytes = encode(metrics);
    shm::DecodedBatch batch;
    QVERIFY(!shm::decode_batch(bytes, batch));
    talkers.add(batch, now);
  };
  feed(1000, 50);
  names.update(talkers, 1000);
  keys.update(talkers, 1000);
  feed(2000, 50);
  names.update(talkers, 3000);
  keys.update(talkers, 3000);
  QCOMPARE(names.rowCount(), 2);
  int login = -1;
  for (int r = 0; r < names.rowCount(); ++r) {
    if (names.index(r, TalkersModel::Key).data().toString() ==
        QStringLiteral("stats_counters name=login"))
      login = r;
  }
  QVERIFY(login >= 0);
  QCOMPARE(names.index(login, TalkersModel::Series).data(SortRole).toULongLong(), 50ull);
  QCOMPARE(names.index(login, TalkersModel::Metrics).data().toULongLong(), 100ull);
  // 50 more metrics in the 2 s between the two updates.
  QCOMPARE(names.index(login, TalkersModel::MetricsRate).data(SortRole).toDouble(), 25.0);
  QCOMPARE(names.index(login, TalkersModel::LastSeen).data().toString(),
           QStringLiteral("1.0 s ago"));
  int user = -1;
  for (int r = 0; r < keys.rowCount(); ++r) {
    if (keys.index(r, TalkersModel::Key).data().toString() == QStringLiteral("user")) user = r;
  }
  QVERIFY(user >= 0);
  QCOMPARE(keys.index(user, TalkersModel::Values).data(SortRole).toULongLong(), 50ull);
  // A dump: rates are totals over its span.
  names.update(talkers, 3000, 4.0);
  QCOMPARE(names.index(login, TalkersModel::MetricsRate).data(SortRole).toDouble(), 25.0);
}

void TestInspectorModels::options_parse() {
  QString message;
  int code = -1;
  auto o = parse_options(
      {"bucky3-inspector", "--instance", "edge", "--select", "a{x=1}", "--select", "b*",
       "--screenshot", "/tmp/s.png", "--quit-after", "2.5", "--refresh", "500", "--minutes", "15"},
      message, code);
  QVERIFY2(o, qPrintable(message));
  QCOMPARE(code, 0);
  QCOMPARE(o->instance, QStringLiteral("edge"));
  QCOMPARE(o->select, (QStringList{"a{x=1}", "b*"}));
  QCOMPARE(o->screenshot, QStringLiteral("/tmp/s.png"));
  QCOMPARE(o->quit_after_s, 2.5);
  QCOMPARE(o->refresh_ms, 500);
  QCOMPARE(o->minutes, 15);
  o = parse_options({"bucky3-inspector", "-"}, message, code);
  QVERIFY(o);
  QCOMPARE(o->file, QStringLiteral("-"));
  QCOMPARE(o->instance, QStringLiteral("default"));
  QVERIFY(!parse_options({"bucky3-inspector", "--help"}, message, code));
  QCOMPARE(code, 0);
  QVERIFY(message.contains(QStringLiteral("--select")));
}

void TestInspectorModels::options_refuse_data() {
  QTest::addColumn<QStringList>("args");
  QTest::addColumn<QString>("message");
  QTest::newRow("unknown") << QStringList{"--nope"} << "Unknown option 'nope'";
  QTest::newRow("quit-after") << QStringList{"--quit-after", "soon"}
                              << "--quit-after must be a number";
  QTest::newRow("refresh") << QStringList{"--refresh", "1"} << "--refresh must be a number from 50";
  QTest::newRow("two files") << QStringList{"a.b3dump", "b.b3dump"} << "at most one FILE";
  QTest::newRow("file and instance") << QStringList{"--instance", "x", "a.b3dump"} << "not both";
  QTest::newRow("view") << QStringList{"--view", "graphs"} << "--view must be";
}

void TestInspectorModels::options_refuse() {
  QFETCH(QStringList, args);
  QFETCH(QString, message);
  QString got;
  int code = -1;
  args.prepend(QStringLiteral("bucky3-inspector"));
  QVERIFY(!parse_options(args, got, code));
  QCOMPARE(code, 2);
  QVERIFY2(got.contains(message), qPrintable(got));
}

namespace {

// A dump of `flushes` StatsD-like flushes one second apart, written with shm/dump's writer.
std::string write_dump(int flushes, bool close = true) {
  std::ostringstream out;
  shm::dump::Writer writer(out, {"default", "prom", "", "testhost", 1000, "test"},
                           {.zstd_level = 1, .frame_bytes = 2048});
  for (int i = 0; i < flushes; ++i) {
    writer.add_record(1000 + 1000 * i, "statsd", encode(flush(i)));
    writer.add_record(
        1000 + 1000 * i, "linux",
        encode({metric("system_cpu", {{"cpu", "all"}}, {{"user", std::int64_t{i}}})}));
  }
  writer.add_missed(5000, "statsd", 3, 300);
  if (close) writer.close(1000 + 1000 * flushes);
  return out.str();
}

}  // namespace

void TestInspectorModels::dump_file_feeds_the_models() {
  const std::string path = "/tmp/test_inspector_" + std::to_string(::getpid()) + ".b3dump";
  std::ofstream(path, std::ios::binary) << write_dump(20);
  SeriesStore store(std::numeric_limits<std::int64_t>::max() / 4);
  DumpStream dump;
  dump.set_batch_handler([&](std::string_view ring, std::string_view source,
                             const shm::DecodedBatch& batch, std::size_t, std::int64_t capture_ms) {
    QCOMPARE(ring, std::string_view("prom"));
    store.add(batch, source, capture_ms);
  });
  QVERIFY(dump.open(QString::fromStdString(path)));
  ::unlink(path.c_str());
  QVERIFY(dump.ended());
  QVERIFY(!dump.failed());
  QCOMPARE(dump.records(), 40ull);
  QCOMPARE(dump.missed_records(), 3ull);
  QVERIFY2(dump.status().contains(QStringLiteral("instance default, ring prom, host testhost")),
           qPrintable(dump.status()));
  QVERIFY(dump.status().endsWith(QStringLiteral("complete")));
  QCOMPARE(store.size(), std::size_t{10});
  QCOMPARE(store.time_span(), (std::pair<std::int64_t, std::int64_t>{1000, 20000}));
  SeriesModel model(store);
  QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
  model.refresh(20000);
  QCOMPARE(model.rowCount(), 4);
  const auto cpu = store.find("system_cpu{cpu=all}.user");
  QVERIFY(cpu);
  QCOMPARE(store.at(*cpu).source, std::string("linux"));
  QCOMPARE(store.at(*cpu).points.size(), std::size_t{20});
  // The time slider's window: the last 5 s of the capture.
  PlotModel plot(store);
  plot.set_series({*cpu});
  plot.set_window(15000, 20000);
  QCOMPARE(plot.points(0).size(), 6);
  QCOMPARE(plot.points(0).back(), QPointF(20000, 19));
}

void TestInspectorModels::captured_dumps_load() {
  // Dumps captured from a real daemon run by the ring tool's tests.
  const QDir dir(QString::fromLocal8Bit(qgetenv("BUCKY3_SOURCE_DIR")) +
                 QStringLiteral("/tests/data/dumps"));
  const auto files = dir.entryList({QStringLiteral("*.b3dump")}, QDir::Files);
  QVERIFY2(files.contains(QStringLiteral("statsd_linux_mix.b3dump")), qPrintable(dir.path()));
  for (const auto& file : files) {
    SeriesStore store(std::numeric_limits<std::int64_t>::max() / 4);
    DumpStream dump;
    dump.set_batch_handler([&](std::string_view, std::string_view source,
                               const shm::DecodedBatch& batch, std::size_t,
                               std::int64_t capture_ms) { store.add(batch, source, capture_ms); });
    const bool ok = dump.open(dir.filePath(file));
    if (file.contains(QStringLiteral("truncated")) || file.contains(QStringLiteral("corrupt"))) {
      QVERIFY2(dump.failed(), qPrintable(file));
      continue;
    }
    QVERIFY2(ok && !dump.failed(), qPrintable(dump.status()));
    QVERIFY2(dump.records() > 0, qPrintable(file));
    QVERIFY2(store.size() > 0, qPrintable(file));
    SeriesModel model(store);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.refresh(store.time_span().second);
    QVERIFY(model.rowCount() > 0);
    if (file == QStringLiteral("statsd_linux_mix.b3dump")) {
      // Its first gauge, as debug_output printed it (statsd_linux_mix.debug.jsonl).
      const auto temp = store.find("stats_gauges{host=golden,name=temp}");
      QVERIFY(temp);
      QCOMPARE(store.at(*temp).points.front().value, 23.0);
      QCOMPARE(store.at(*temp).points.front().time_ms, 1796161645386);
      QVERIFY(store.find("stats_counters{code=200,host=golden,name=hits,route=/api}.count"));
    }
  }
}

void TestInspectorModels::dump_from_stdin_streams() {
  // `bucky3-ring dump -o - | bucky3-inspector -`: a pipe on fd 0, written in
  // pieces while the event loop runs.
  int fds[2];
  QCOMPARE(::pipe(fds), 0);
  const int saved_stdin = ::dup(STDIN_FILENO);
  ::dup2(fds[0], STDIN_FILENO);
  ::close(fds[0]);
  const std::string bytes = write_dump(30);
  std::thread writer([&] {
    for (std::size_t at = 0; at < bytes.size(); at += 1000) {
      [[maybe_unused]] auto n =
          ::write(fds[1], bytes.data() + at, std::min<std::size_t>(1000, bytes.size() - at));
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ::close(fds[1]);
  });
  SeriesStore store(std::numeric_limits<std::int64_t>::max() / 4);
  DumpStream dump;
  dump.set_batch_handler([&](std::string_view, std::string_view source,
                             const shm::DecodedBatch& batch, std::size_t,
                             std::int64_t capture_ms) { store.add(batch, source, capture_ms); });
  QVERIFY(dump.open(QStringLiteral("-")));
  QVERIFY(dump.streaming());
  QTRY_VERIFY_WITH_TIMEOUT(dump.ended(), 20000);
  writer.join();
  ::dup2(saved_stdin, STDIN_FILENO);
  ::close(saved_stdin);
  QVERIFY2(!dump.failed(), qPrintable(dump.status()));
  QCOMPARE(dump.records(), 60ull);
  QCOMPARE(store.at(*store.find("stats_gauges{env=dev,name=queue}")).points.size(),
           std::size_t{30});
  QVERIFY(dump.status().startsWith(QStringLiteral("stdin")));
}

void TestInspectorModels::truncated_dump_shows_what_it_holds() {
  const std::string path = "/tmp/test_inspector_cut_" + std::to_string(::getpid()) + ".b3dump";
  const auto bytes = write_dump(20);
  std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() * 2 / 3);
  SeriesStore store;
  DumpStream dump;
  dump.set_batch_handler([&](std::string_view, std::string_view source,
                             const shm::DecodedBatch& batch, std::size_t,
                             std::int64_t capture_ms) { store.add(batch, source, capture_ms); });
  QVERIFY(dump.open(QString::fromStdString(path)));  // it holds records: shown
  ::unlink(path.c_str());
  QVERIFY(dump.failed());
  QVERIFY(dump.records() > 0 && dump.records() < 40);
  QVERIFY(store.size() > 0);
  QVERIFY2(dump.status().contains(QStringLiteral("truncated")), qPrintable(dump.status()));
  QVERIFY(dump.status().contains(QStringLiteral("showing what it holds")));
  DumpStream missing;
  QVERIFY(!missing.open(QStringLiteral("/nonexistent/x.b3dump")));
  QVERIFY2(missing.status().contains(QStringLiteral("No such file")), qPrintable(missing.status()));
}

void TestInspectorModels::live_source_reads_rings_read_only() {
  FakeAgent agent(instance_name("ro"));
  LiveSource live(agent.instance);
  SeriesStore store;
  std::size_t primary_batches = 0, all_batches = 0;
  live.set_batch_handler([&](const RingView& ring, const shm::DecodedBatch& batch, std::size_t,
                             std::int64_t now, bool primary) {
    ++all_batches;
    if (primary) {
      ++primary_batches;
      store.add(batch, ring.source, now);
    }
  });
  live.drain(1000);
  QVERIFY2(live.attached(), live.status().c_str());
  QCOMPARE(live.attach_count(), 1ull);
  // Only read-only mappings of the instance's segments.
  const auto modes = mapping_modes("bucky3." + agent.instance + ".");
  QCOMPARE(modes.size(), std::size_t{4});  // the test's own read-write ones, and ours
  QCOMPARE(std::count(modes.begin(), modes.end(), std::string("r--s")), 2l);
  agent.write(flush(1), 0);
  agent.write({metric("system_cpu", {}, {{"user", std::int64_t{5}}})}, 1);
  const std::string health_path = "/dev/shm/bucky3." + agent.instance + ".health";
  const std::string ring_path = "/dev/shm/bucky3." + agent.instance + ".prom";
  const auto health_before = file_bytes(health_path);
  const auto rings_before = file_bytes(ring_path);
  for (int i = 0; i < 5; ++i) {
    live.drain(2000 + i * 300);
    live.refresh(2000 + i * 300);
  }
  // The inspector changed no byte of either segment.
  QVERIFY(file_bytes(health_path) == health_before);
  QVERIFY(file_bytes(ring_path) == rings_before);
  QCOMPARE(all_batches, std::size_t{2});
  QCOMPARE(primary_batches, std::size_t{2});  // one destination: every ring is its source's primary
  QCOMPARE(store.size(), std::size_t{10});
  QCOMPARE(live.modules().size(), std::size_t{2});
  QCOMPARE(live.modules()[0].health.name, std::string("statsd"));
  QCOMPARE(live.modules()[0].health.pid, 4242);
  QVERIFY(!live.modules()[0].stale);
  QCOMPARE(live.modules()[0].health.errors.size(), std::size_t{1});
  QCOMPARE(live.rings().size(), std::size_t{2});
  QCOMPARE(live.rings()[0].source, std::string("statsd"));
  QVERIFY(live.rings()[0].fill() > 0);  // nobody consumes: what was written is still there
  QVERIFY(!live.agent_running());       // no supervisor holds a lock
  QVERIFY(live.status().find("not running") != std::string::npos);
  HealthModel health;
  QAbstractItemModelTester tester(&health, QAbstractItemModelTester::FailureReportingMode::QtTest);
  health.set_modules(live.modules());
  QCOMPARE(health.index(0, HealthModel::Pid).data().toInt(), 4242);
  QCOMPARE(health.index(0, HealthModel::Restarts).data().toInt(), 2);
}

void TestInspectorModels::live_source_reattaches_when_segments_are_replaced() {
  FakeAgent agent(instance_name("re"));
  LiveSource live(agent.instance);
  std::vector<std::string> seen;
  live.set_batch_handler([&](const RingView&, const shm::DecodedBatch& batch, std::size_t,
                             std::int64_t,
                             bool) { seen.emplace_back(batch.metrics.at(0).bucket); });
  live.drain(1000);
  QVERIFY(live.attached());
  agent.write({metric("before", {}, {{"", 1.0}})});
  live.drain(1100);
  // A restart: the supervisor removes the segments and creates new ones.
  agent.segment.reset();
  agent.health.reset();
  shm::HealthBlock::remove(agent.instance);
  shm::DestinationSegment::remove(agent.instance, "prom");
  live.drain(1200);
  QVERIFY(!live.attached());
  QVERIFY2(live.status().find("waiting for instance") != std::string::npos, live.status().c_str());
  agent.create();
  live.drain(2000);
  QVERIFY2(live.attached(), live.status().c_str());
  QCOMPARE(live.attach_count(), 2ull);
  agent.write({metric("after", {}, {{"", 1.0}})});
  live.drain(2100);
  QCOMPARE(seen, (std::vector<std::string>{"before", "after"}));
}

void TestInspectorModels::instances_list_state() {
  FakeAgent agent(instance_name("list"));
  const auto instances = scan_instances();
  const auto it = std::find_if(instances.begin(), instances.end(),
                               [&](const InstanceInfo& i) { return i.name == agent.instance; });
  QVERIFY(it != instances.end());
  QCOMPARE(it->state, InstanceState::stale);  // segments, no live supervisor
  QCOMPARE(it->modules, std::size_t{2});
  QCOMPARE(it->destinations, std::vector<std::string>{"prom"});
  // A lock held the way the supervisor holds it makes it running.
  const std::string lock = "/dev/shm/bucky3." + agent.instance + ".lock";
  const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  QVERIFY(fd >= 0);
  QCOMPARE(::flock(fd, LOCK_EX | LOCK_NB), 0);
  QVERIFY(::write(fd, "4242", 4) == 4);
  const auto locked = scan_instances();
  const auto again = std::find_if(locked.begin(), locked.end(),
                                  [&](const InstanceInfo& i) { return i.name == agent.instance; });
  QCOMPARE(again->state, InstanceState::running);
  QCOMPARE(again->supervisor_pid, 4242);
  ::close(fd);
  ::unlink(lock.c_str());
}

void TestInspectorModels::layout_version_message() {
  FakeAgent agent(instance_name("ver"));
  {
    // Another build's block: same magic, layout version 99.
    const std::string path = "/dev/shm/bucky3." + agent.instance + ".health";
    const int fd = ::open(path.c_str(), O_RDWR);
    const std::uint32_t version = 99;
    QCOMPARE(::pwrite(fd, &version, sizeof version, offsetof(shm::SegmentPrefix, layout_version)),
             ssize_t(sizeof version));
    ::close(fd);
  }
  LiveSource live(agent.instance);
  live.drain(1000);
  QVERIFY(!live.attached());
  QCOMPARE(live.problem(), std::optional<InstanceState>(InstanceState::incompatible));
  QVERIFY2(live.status().find("layout version 99, this build reads ") != std::string::npos,
           live.status().c_str());
  QVERIFY2(live.status().find("different Bucky3 versions") != std::string::npos,
           live.status().c_str());
  const auto instances = scan_instances();
  const auto it = std::find_if(instances.begin(), instances.end(),
                               [&](const InstanceInfo& i) { return i.name == agent.instance; });
  QCOMPARE(it->state, InstanceState::incompatible);
}

void TestInspectorModels::permission_message() {
  if (::getuid() != 0) QSKIP("needs root to drop to another user");
  FakeAgent agent(instance_name("perm"));  // 0600, owned by root
  int pipe_fds[2];
  QCOMPARE(::pipe(pipe_fds), 0);
  const int code = run_as_nobody([&] {
    LiveSource live(agent.instance);
    live.drain(1000);
    const auto& status = live.status();
    [[maybe_unused]] auto n = ::write(pipe_fds[1], status.data(), status.size());
    return live.problem() == std::optional<InstanceState>(InstanceState::unreadable) ? 0 : 1;
  });
  ::close(pipe_fds[1]);
  char buffer[2048] = {};
  [[maybe_unused]] auto n = ::read(pipe_fds[0], buffer, sizeof buffer - 1);
  ::close(pipe_fds[0]);
  const std::string status(buffer);
  QVERIFY2(code == 0, status.c_str());
  QVERIFY2(status.find(": permission denied (mode 0600, owner root") != std::string::npos,
           status.c_str());
  QVERIFY2(status.find("shm_group") != std::string::npos, status.c_str());
}

void TestInspectorModels::read_access_only_is_enough() {
  // Segments 0640 root:nogroup: a member of nogroup may open them for reading
  // only, so attaching proves every descriptor is O_RDONLY and every mapping
  // read-only (an O_RDWR open would get EACCES).
  if (::getuid() != 0) QSKIP("needs root to drop to another user");
  const group* nogroup = ::getgrgid(65534);
  if (!nogroup) QSKIP("no group 65534 here");
  FakeAgent agent(instance_name("grp"), std::string(nogroup->gr_name));
  agent.write(flush(1));
  const int code = run_as_nobody([&] {
    const std::string path = "/dev/shm/bucky3." + agent.instance + ".prom";
    if (::open(path.c_str(), O_RDWR) >= 0) return 2;  // the check itself must be able to fail
    LiveSource live(agent.instance);
    std::size_t batches = 0;
    live.set_batch_handler([&](const RingView&, const shm::DecodedBatch&, std::size_t, std::int64_t,
                               bool) { ++batches; });
    live.drain(1000);
    if (!live.attached()) return 3;
    agent.write(flush(2));
    live.drain(1100);
    live.refresh(1100);
    return batches == 1 && live.modules().size() == 2 ? 0 : 4;
  });
  QCOMPARE(code, 0);
}

QTEST_GUILESS_MAIN(TestInspectorModels)
#include "test_inspector_models.moc"
