// The inspector's window: thin widgets over the models. Health (modules, rings,
// last errors), Metrics (browser, chart, plotted series), Top talkers; live
// from an instance or from a dump.
#pragma once
#include <QMainWindow>
#include <QPointer>
#include <map>
#include <memory>

#include "inspector/options.h"
#include "inspector/series_store.h"
#include "shm/talkers.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QSlider;
class QSortFilterProxyModel;
class QTabWidget;
class QTableView;
class QTimer;
class QToolButton;
class QTreeView;
class QAction;

namespace bucky3::inspector {

class ChartView;
class DumpStream;
class ErrorModel;
class HealthModel;
class InstanceModel;
class LiveSource;
class PlotModel;
class RingModel;
class SeriesFilterModel;
class SeriesModel;
class TalkersModel;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(const Options& options, QWidget* parent = nullptr);
  ~MainWindow() override;

  void attach(const QString& instance);
  bool open_dump(const QString& path);  // a path or "-"

  // For --screenshot and tests.
  std::size_t plotted_points() const;
  std::size_t plotted_series() const;
  bool selection_has_data(std::size_t min_points) const;
  QString summary() const;
  const SeriesStore& store() const { return store_; }
  ChartView* chart() const { return chart_; }

 private:
  void build_ui();
  void build_menus();
  void refresh_instances();
  void drain();
  void refresh();
  void refresh_chart();
  void refresh_talkers();
  void show_problem(const QString& text);
  void selection_changed();
  void export_csv();
  void export_png();
  void open_dump_dialog();
  void update_time_slider();
  std::int64_t now_ms() const;
  void feed(const std::string& ring, std::string_view source, const shm::DecodedBatch& batch,
            std::int64_t capture_ms, bool primary);

  Options options_;
  SeriesStore store_;
  std::map<std::string, shm::TopTalkers> talkers_;  // per ring, "destination ← source"
  std::unique_ptr<LiveSource> live_;
  DumpStream* dump_ = nullptr;
  QString last_status_;

  InstanceModel* instances_;
  HealthModel* health_;
  ErrorModel* errors_;
  RingModel* rings_;
  SeriesModel* series_;
  SeriesFilterModel* filter_;
  PlotModel* plot_;
  TalkersModel* talker_names_;
  TalkersModel* talker_tags_;

  QTabWidget* tabs_;
  QLabel* banner_;
  QComboBox* instance_box_;
  QTableView* health_view_;
  QSortFilterProxyModel* health_proxy_;
  QLabel* errors_title_;
  QTreeView* series_view_;
  QLineEdit* text_filter_;
  QLineEdit* tag_filter_;
  ChartView* chart_;
  QWidget* slider_box_;
  QSlider* time_slider_;
  QLabel* time_label_;
  QComboBox* talker_ring_box_;
  QLabel* status_label_;
  QLabel* counts_label_;
  QAction* pause_;
  QTimer* drain_timer_;
  QTimer* refresh_timer_;
  bool slider_at_end_ = true;
};

}  // namespace bucky3::inspector
