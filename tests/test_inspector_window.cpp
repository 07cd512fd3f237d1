// tests/test_inspector_window.cpp — the thin widgets over the models, offscreen:
// the chart's point count, value under the cursor, zoom and reset; the main
// window on a dump: --select, the time slider, and plotting what the tree selects.
#include <unistd.h>

#include <QAbstractItemModelTester>
#include <QSlider>
#include <QTreeView>
#include <QtTest>
#include <fstream>
#include <sstream>

#include "inspector/chart_view.h"
#include "inspector/main_window.h"
#include "inspector/models/roles.h"
#include "inspector/models/series_model.h"
#include "shm/batch_codec.h"
#include "shm/dump.h"

using namespace bucky3;
using namespace bucky3::inspector;

namespace {

std::vector<std::byte> encode_gauges(int i) {
  std::vector<Metric> metrics;
  for (const char* room : {"hall", "kitchen"}) {
    Metric m;
    m.bucket = "stats_gauges";
    m.metadata = {{"name", "temp"}, {"room", room}};
    m.values = {{"", double(20 + i % 5)}};
    metrics.push_back(m);
  }
  std::vector<std::byte> out;
  shm::encode_batch(metrics, out);
  return out;
}

void add(SeriesStore& store, int i, std::int64_t time_ms) {
  const auto bytes = encode_gauges(i);
  shm::DecodedBatch batch;
  QVERIFY(!shm::decode_batch(bytes, batch));
  store.add(batch, "statsd", time_ms);
}

}  // namespace

class TestInspectorWindow : public QObject {
  Q_OBJECT
 private slots:
  void chart_plots_and_shows_the_value_under_the_cursor();
  void main_window_on_a_dump();
};

void TestInspectorWindow::chart_plots_and_shows_the_value_under_the_cursor() {
  SeriesStore store;
  for (int i = 0; i < 20; ++i) add(store, i, 1'000'000 + 1000 * i);
  PlotModel plot(store);
  plot.set_series({0, 1});
  plot.set_window(1'000'000, 1'019'000);
  ChartView view(plot);
  view.resize(900, 500);
  view.show();
  QVERIFY(QTest::qWaitForWindowExposed(&view));
  view.update_from_model();
  QCOMPARE(view.plotted_series(), std::size_t{2});
  QCOMPARE(view.plotted_points(), std::size_t{40});
  // Hover exactly over the 8th point of the first line.
  const QPointF point(1'007'000, 22);
  auto* line = view.chart()->series().at(0);
  const QPoint at =
      view.mapFromScene(view.chart()->mapToScene(view.chart()->mapToPosition(point, line)));
  const QString text = view.value_at(at);
  QVERIFY2(text.contains(QStringLiteral("{room=hall}")), qPrintable(text));
  QVERIFY2(text.endsWith(QStringLiteral("  22")), qPrintable(text));
  QVERIFY(view.value_at(QPoint(2, 2)).isEmpty());  // outside the plot: nothing under the cursor
  // A wheel step zooms and leaves the followed window; Esc comes back.
  QSignalSpy user_view(&view, &ChartView::user_view_changed);
  QWheelEvent wheel(QPointF(at), view.mapToGlobal(QPointF(at)), QPoint(), QPoint(0, 120),
                    Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase, false);
  QApplication::sendEvent(view.viewport(), &wheel);
  QVERIFY(view.user_view());
  QTest::keyClick(&view, Qt::Key_Escape);
  QVERIFY(!view.user_view());
  QCOMPARE(user_view.count(), 2);
}

void TestInspectorWindow::main_window_on_a_dump() {
  const std::string path = "/tmp/test_inspector_window_" + std::to_string(::getpid()) + ".b3dump";
  {
    std::ostringstream out;
    shm::dump::Writer writer(out, {"default", "prom", "", "host", 1000, "test"});
    for (int i = 0; i < 60; ++i)
      writer.add_record(1'764'100'000'000 + 1000 * i, "statsd", encode_gauges(i));
    writer.close(1'764'100'060'000);
    std::ofstream(path, std::ios::binary) << out.str();
  }
  Options options;
  options.file = QString::fromStdString(path);
  options.select = {QStringLiteral("stats_gauges{name=temp,room=kitchen}")};
  MainWindow window(options);
  window.show();
  ::unlink(path.c_str());
  QTRY_COMPARE(window.plotted_points(), std::size_t{60});
  QCOMPARE(window.plotted_series(), std::size_t{1});
  QVERIFY2(
      window.summary().startsWith(QStringLiteral("plotted 1 series, 60 points; 2 series known")),
      qPrintable(window.summary()));
  // The slider at the start of the capture: only the first point is before the window's end.
  auto* slider = window.findChild<QSlider*>();
  QVERIFY(slider);
  QCOMPARE(slider->maximum(), 59);
  slider->setValue(0);
  QCOMPARE(window.plotted_points(), std::size_t{1});
  slider->setValue(30);
  QCOMPARE(window.plotted_points(), std::size_t{31});
  slider->setValue(slider->maximum());
  // Selecting both series in the tree plots both.
  auto* tree = window.findChild<QTreeView*>();
  QVERIFY(tree);
  const auto bucket = tree->model()->index(0, 0);
  QCOMPARE(bucket.data().toString(), QStringLiteral("stats_gauges"));
  tree->selectionModel()->select(bucket,
                                 QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
  QCOMPARE(window.plotted_series(), std::size_t{2});
  QCOMPARE(window.plotted_points(), std::size_t{120});
  tree->selectionModel()->select(tree->model()->index(0, 0, bucket),
                                 QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
  QCOMPARE(window.plotted_series(), std::size_t{1});
}

QTEST_MAIN(TestInspectorWindow)
#include "test_inspector_window.moc"
