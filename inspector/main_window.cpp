// The inspector's window; see main_window.h. Widgets only arrange and connect
// the models; what is shown is decided in the models.
#include "inspector/main_window.h"

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDateTime>
#include <QFile>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QSlider>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QTimer>
#include <QToolBar>
#include <QTreeView>
#include <QVBoxLayout>
#include <iostream>
#include <limits>

#include "inspector/chart_view.h"
#include "inspector/dump_stream.h"
#include "inspector/live_source.h"
#include "inspector/models/format.h"
#include "inspector/models/health_model.h"
#include "inspector/models/roles.h"
#include "inspector/models/series_model.h"
#include "inspector/models/talkers_model.h"
#include "inspector/ring_delegate.h"

namespace bucky3::inspector {

namespace {

QTableView* make_table(QAbstractItemModel* model, QWidget* parent, bool sortable = true) {
  auto* view = new QTableView(parent);
  if (sortable) {
    auto* proxy = new QSortFilterProxyModel(view);
    proxy->setSourceModel(model);
    proxy->setSortRole(SortRole);
    view->setModel(proxy);
    view->setSortingEnabled(true);
  } else {
    view->setModel(model);
  }
  view->setSelectionBehavior(QAbstractItemView::SelectRows);
  view->setAlternatingRowColors(true);
  view->verticalHeader()->hide();
  view->horizontalHeader()->setStretchLastSection(true);
  view->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  view->setWordWrap(false);
  return view;
}

QWidget* titled(const QString& title, QWidget* content, QWidget* extra = nullptr,
                QLabel** title_label = nullptr) {
  auto* box = new QWidget;
  auto* layout = new QVBoxLayout(box);
  layout->setContentsMargins(0, 4, 0, 0);
  auto* row = new QHBoxLayout;
  auto* label = new QLabel(QStringLiteral("<b>%1</b>").arg(title));
  row->addWidget(label);
  row->addStretch();
  if (extra) row->addWidget(extra);
  layout->addLayout(row);
  layout->addWidget(content);
  if (title_label) *title_label = label;
  return box;
}

// Live points are kept for the chart's window and a minute more (10,000 series at
// one point a second are ~16 MB a minute); a dump is kept whole.
std::int64_t live_retention_ms(int minutes) {
  return (std::int64_t(minutes) + 1) * 60 * 1000;
}

}  // namespace

MainWindow::MainWindow(const Options& options, QWidget* parent)
    : QMainWindow(parent), options_(options), store_(live_retention_ms(options.minutes)) {
  instances_ = new InstanceModel(this);
  health_ = new HealthModel(this);
  errors_ = new ErrorModel(this);
  rings_ = new RingModel(this);
  series_ = new SeriesModel(store_, this);
  filter_ = new SeriesFilterModel(store_, this);
  filter_->setSourceModel(series_);
  plot_ = new PlotModel(store_, this);
  talker_names_ = new TalkersModel(TalkersModel::Kind::names, this);
  talker_tags_ = new TalkersModel(TalkersModel::Kind::tag_keys, this);
  for (const auto& pattern : options.select) plot_->add_pattern(pattern);

  build_ui();
  build_menus();
  setWindowTitle(QStringLiteral("Bucky3 inspector"));
  resize(1280, 820);

  drain_timer_ = new QTimer(this);
  connect(drain_timer_, &QTimer::timeout, this, &MainWindow::drain);
  drain_timer_->start(std::min(200, options.refresh_ms));
  refresh_timer_ = new QTimer(this);
  connect(refresh_timer_, &QTimer::timeout, this, &MainWindow::refresh);
  refresh_timer_->start(options.refresh_ms);
  auto* instance_timer = new QTimer(this);
  connect(instance_timer, &QTimer::timeout, this, &MainWindow::refresh_instances);
  instance_timer->start(2000);

  refresh_instances();
  if (!options.file.isEmpty()) {
    open_dump(options.file);
  } else {
    QString instance = options.instance;
    // Without --instance, and no "default" here, the first running agent.
    if (!options.instance_given && instances_->row_of(instance) < 0) {
      for (int row = 0; row < instances_->rowCount(); ++row) {
        if (instances_->instance(row)->state == InstanceState::running) {
          instance = QString::fromStdString(instances_->instance(row)->name);
          break;
        }
      }
    }
    attach(instance);
  }
  const QString view =
      options.view.isEmpty()
          ? (options.select.isEmpty() ? QStringLiteral("health") : QStringLiteral("metrics"))
          : options.view;
  tabs_->setCurrentIndex(view == QStringLiteral("health")    ? 0
                         : view == QStringLiteral("metrics") ? 1
                                                             : 2);
  QTimer::singleShot(0, this, &MainWindow::refresh);
}

MainWindow::~MainWindow() {
  // The views and the chart read the store (a member) through the models; as
  // children they would outlive it and be asked for data while the window
  // closes in ~QWidget. They go first.
  delete centralWidget();
}

void MainWindow::build_ui() {
  auto* central = new QWidget(this);
  auto* layout = new QVBoxLayout(central);
  layout->setContentsMargins(6, 6, 6, 6);
  banner_ = new QLabel(central);
  banner_->setWordWrap(true);
  banner_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  banner_->setStyleSheet(
      QStringLiteral("QLabel { background: #fff3cd; border: 1px solid #e0c36a; padding: 6px; }"));
  banner_->hide();
  layout->addWidget(banner_);
  tabs_ = new QTabWidget(central);
  layout->addWidget(tabs_);
  setCentralWidget(central);

  // Toolbar: instance picker, pause, window length, zoom reset, exports.
  auto* bar = addToolBar(QStringLiteral("Main"));
  bar->setMovable(false);
  bar->addWidget(new QLabel(QStringLiteral(" Instance: ")));
  instance_box_ = new QComboBox(bar);
  instance_box_->setModel(instances_);
  instance_box_->setModelColumn(InstanceModel::Picker);
  instance_box_->setMinimumContentsLength(28);
  instance_box_->setToolTip(QStringLiteral("Agents on this host, from /dev/shm"));
  connect(instance_box_, &QComboBox::activated, this, [this](int row) {
    if (const auto* info = instances_->instance(row)) attach(QString::fromStdString(info->name));
  });
  bar->addWidget(instance_box_);
  bar->addSeparator();
  pause_ = bar->addAction(QStringLiteral("Pause"));
  pause_->setCheckable(true);
  pause_->setShortcut(Qt::Key_Space);
  pause_->setToolTip(QStringLiteral("Freeze the chart (data is still collected)"));
  connect(pause_, &QAction::toggled, this, [this](bool on) {
    pause_->setText(on ? QStringLiteral("Resume") : QStringLiteral("Pause"));
  });
  bar->addWidget(new QLabel(QStringLiteral("  Last ")));
  auto* minutes = new QSpinBox(bar);
  minutes->setRange(1, 240);
  minutes->setValue(options_.minutes);
  minutes->setSuffix(QStringLiteral(" min"));
  connect(minutes, &QSpinBox::valueChanged, this, [this](int value) {
    options_.minutes = value;
    if (!dump_) store_.set_retention_ms(live_retention_ms(value));
    refresh_chart();
  });
  bar->addWidget(minutes);
  auto* follow = bar->addAction(QStringLiteral("Reset zoom"));
  follow->setToolTip(QStringLiteral(
      "Back to the last minutes, following new data (Esc, or double-click the chart)"));
  bar->addSeparator();
  auto* csv = bar->addAction(QStringLiteral("Export CSV…"));
  auto* png = bar->addAction(QStringLiteral("Export PNG…"));
  connect(csv, &QAction::triggered, this, &MainWindow::export_csv);
  connect(png, &QAction::triggered, this, &MainWindow::export_png);

  // Health: modules, rings, last errors of the selected module.
  auto* health_split = new QSplitter(Qt::Vertical, tabs_);
  health_view_ = make_table(health_, health_split);
  health_proxy_ = static_cast<QSortFilterProxyModel*>(health_view_->model());
  health_split->addWidget(titled(QStringLiteral("Modules"), health_view_));
  auto* ring_view = make_table(rings_, health_split);
  ring_view->setItemDelegate(new RingDelegate(ring_view));
  ring_view->horizontalHeader()->setSectionResizeMode(RingModel::Fill, QHeaderView::Fixed);
  ring_view->horizontalHeader()->setSectionResizeMode(RingModel::Throughput, QHeaderView::Fixed);
  ring_view->setColumnWidth(RingModel::Fill, 160);
  ring_view->setColumnWidth(RingModel::Throughput, 260);
  health_split->addWidget(titled(QStringLiteral("Rings"), ring_view));
  auto* error_view = make_table(errors_, health_split, false);
  error_view->horizontalHeader()->setSectionResizeMode(ErrorModel::Text, QHeaderView::Stretch);
  health_split->addWidget(
      titled(QStringLiteral("Last errors"), error_view, nullptr, &errors_title_));
  health_split->setSizes({300, 200, 200});
  connect(health_view_->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
          [this] { refresh(); });
  tabs_->addTab(health_split, QStringLiteral("Health"));

  // Metrics: filters and the tree on the left, chart and legend on the right.
  auto* metrics_split = new QSplitter(Qt::Horizontal, tabs_);
  auto* left = new QWidget(metrics_split);
  auto* left_layout = new QVBoxLayout(left);
  left_layout->setContentsMargins(0, 4, 0, 0);
  text_filter_ = new QLineEdit(left);
  text_filter_->setPlaceholderText(QStringLiteral("Filter: words in the series name"));
  text_filter_->setClearButtonEnabled(true);
  tag_filter_ = new QLineEdit(left);
  tag_filter_->setPlaceholderText(QStringLiteral("Tags: host=web* env=prod !debug"));
  tag_filter_->setClearButtonEnabled(true);
  connect(text_filter_, &QLineEdit::textChanged, filter_, &SeriesFilterModel::set_text_filter);
  connect(tag_filter_, &QLineEdit::textChanged, filter_, &SeriesFilterModel::set_tag_filter);
  series_view_ = new QTreeView(left);
  series_view_->setModel(filter_);
  series_view_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  series_view_->setSortingEnabled(true);
  series_view_->sortByColumn(SeriesModel::Series, Qt::AscendingOrder);
  series_view_->setUniformRowHeights(true);  // 10,000 rows scroll smoothly
  series_view_->setAlternatingRowColors(true);
  series_view_->header()->setStretchLastSection(false);
  series_view_->setColumnWidth(SeriesModel::Series, 440);
  connect(series_view_->selectionModel(), &QItemSelectionModel::selectionChanged, this,
          &MainWindow::selection_changed);
  left_layout->addWidget(text_filter_);
  left_layout->addWidget(tag_filter_);
  left_layout->addWidget(series_view_);
  auto* right = new QSplitter(Qt::Vertical, metrics_split);
  auto* chart_box = new QWidget(right);
  auto* chart_layout = new QVBoxLayout(chart_box);
  chart_layout->setContentsMargins(0, 0, 0, 0);
  chart_ = new ChartView(*plot_, chart_box);
  chart_->setMinimumHeight(260);
  chart_layout->addWidget(chart_);
  slider_box_ = new QWidget(chart_box);
  auto* slider_row = new QHBoxLayout(slider_box_);
  slider_row->setContentsMargins(4, 0, 4, 0);
  time_slider_ = new QSlider(Qt::Horizontal, slider_box_);
  time_slider_->setToolTip(
      QStringLiteral("The end of the charted window within the dump's time span"));
  time_label_ = new QLabel(slider_box_);
  slider_row->addWidget(new QLabel(QStringLiteral("Dump time:"), slider_box_));
  slider_row->addWidget(time_slider_, 1);
  slider_row->addWidget(time_label_);
  chart_layout->addWidget(slider_box_);
  slider_box_->hide();
  connect(time_slider_, &QSlider::valueChanged, this, [this](int value) {
    slider_at_end_ = value == time_slider_->maximum();
    refresh_chart();
  });
  auto* legend = make_table(plot_, right);
  legend->horizontalHeader()->setSectionResizeMode(PlotModel::Label, QHeaderView::Stretch);
  legend->horizontalHeader()->setStretchLastSection(false);
  right->addWidget(chart_box);
  right->addWidget(legend);
  right->setSizes({520, 160});
  metrics_split->addWidget(left);
  metrics_split->addWidget(right);
  metrics_split->setSizes({600, 680});
  connect(follow, &QAction::triggered, chart_, &ChartView::reset_view);
  connect(chart_, &ChartView::hovered, this, [this](const QString& text) {
    if (!text.isEmpty()) statusBar()->showMessage(text, 3000);
  });
  tabs_->addTab(metrics_split, QStringLiteral("Metrics"));

  // Top talkers of one ring: names and tag keys side by side.
  auto* talkers = new QWidget(tabs_);
  auto* talkers_layout = new QVBoxLayout(talkers);
  auto* ring_row = new QHBoxLayout;
  ring_row->addWidget(new QLabel(QStringLiteral("Ring:")));
  talker_ring_box_ = new QComboBox(talkers);
  talker_ring_box_->setMinimumContentsLength(40);
  connect(talker_ring_box_, &QComboBox::currentTextChanged, this, [this] { refresh_talkers(); });
  ring_row->addWidget(talker_ring_box_);
  ring_row->addStretch();
  talkers_layout->addLayout(ring_row);
  auto* talkers_split = new QSplitter(Qt::Vertical, talkers);
  for (auto* model : {talker_names_, talker_tags_}) {
    auto* view = make_table(model, talkers_split);
    view->horizontalHeader()->setStretchLastSection(false);
    view->horizontalHeader()->setSectionResizeMode(TalkersModel::Key, QHeaderView::Stretch);
    view->sortByColumn(TalkersModel::Series, Qt::DescendingOrder);
    talkers_split->addWidget(view);
  }
  talkers_layout->addWidget(talkers_split);
  tabs_->addTab(talkers, QStringLiteral("Top talkers"));

  status_label_ = new QLabel(this);
  counts_label_ = new QLabel(this);
  statusBar()->addWidget(status_label_, 1);
  statusBar()->addPermanentWidget(counts_label_);
}

void MainWindow::build_menus() {
  auto* file = menuBar()->addMenu(QStringLiteral("&File"));
  file->addAction(QStringLiteral("&Open dump…"), QKeySequence::Open, this,
                  &MainWindow::open_dump_dialog);
  file->addAction(QStringLiteral("Open dump from &standard input"), this,
                  [this] { open_dump(QStringLiteral("-")); });
  file->addAction(QStringLiteral("&Attach to instance…"), this, [this] {
    bool ok = false;
    const auto name = QInputDialog::getText(
        this, QStringLiteral("Attach"), QStringLiteral("Instance:"), QLineEdit::Normal,
        live_ ? QString::fromStdString(live_->instance()) : options_.instance, &ok);
    if (ok && !name.isEmpty()) attach(name);
  });
  file->addSeparator();
  file->addAction(QStringLiteral("Export plotted data as &CSV…"), this, &MainWindow::export_csv);
  file->addAction(QStringLiteral("Export chart as &PNG…"), this, &MainWindow::export_png);
  file->addSeparator();
  file->addAction(QStringLiteral("&Quit"), QKeySequence::Quit, qApp, &QApplication::quit);
  auto* help = menuBar()->addMenu(QStringLiteral("&Help"));
  help->addAction(QStringLiteral("&Chart controls"), this, [this] {
    QMessageBox::information(
        this, QStringLiteral("Chart controls"),
        QStringLiteral(
            "Select series in the tree (Ctrl/Shift for several, a bucket for all of it).\n"
            "Wheel: zoom in time around the cursor. Drag: zoom into a span.\n"
            "Shift+drag or middle drag, arrow keys: pan. Right click: zoom out.\n"
            "Esc, 0 or double click: back to following the last minutes.\n"
            "Space: pause. Hover a line: its value at that time."));
  });
}

std::int64_t MainWindow::now_ms() const {
  return QDateTime::currentMSecsSinceEpoch();
}

void MainWindow::attach(const QString& instance) {
  if (dump_) {
    dump_->deleteLater();
    dump_ = nullptr;
  }
  if (live_ && QString::fromStdString(live_->instance()) == instance) return;
  live_ = std::make_unique<LiveSource>(instance.toStdString());
  live_->set_batch_handler([this](const RingView& ring, const shm::DecodedBatch& batch, std::size_t,
                                  std::int64_t now, bool primary) {
    feed(ring.destination + " ← " + ring.source, ring.source, batch, now, primary);
  });
  store_.clear();
  talkers_.clear();
  talker_names_->clear();
  talker_tags_->clear();
  store_.set_retention_ms(live_retention_ms(options_.minutes));
  slider_box_->hide();
  const int row = instances_->row_of(instance);
  if (row >= 0) instance_box_->setCurrentIndex(row);
  setWindowTitle(QStringLiteral("Bucky3 inspector — %1").arg(instance));
  refresh();
}

bool MainWindow::open_dump(const QString& path) {
  live_.reset();
  if (dump_) dump_->deleteLater();
  store_.clear();
  talkers_.clear();
  talker_names_->clear();
  talker_tags_->clear();
  // A dump is shown whole, however long it spans.
  store_.set_retention_ms(std::numeric_limits<std::int64_t>::max() / 4);
  health_->set_modules({});
  rings_->set_rings({});
  errors_->set_errors({});
  dump_ = new DumpStream(this);
  dump_->set_batch_handler([this](std::string_view ring, std::string_view source,
                                  const shm::DecodedBatch& batch, std::size_t,
                                  std::int64_t capture_ms) {
    feed(std::string(ring) + " ← " + std::string(source), source, batch, capture_ms, true);
  });
  connect(dump_, &DumpStream::updated, this, [this] {
    if (!refresh_timer_->isActive()) refresh();
  });
  const bool ok = dump_->open(path);
  slider_box_->show();
  setWindowTitle(QStringLiteral("Bucky3 inspector — %1")
                     .arg(path == QStringLiteral("-") ? QStringLiteral("stdin") : path));
  slider_at_end_ = true;
  refresh();
  if (tabs_->currentIndex() == 0) tabs_->setCurrentIndex(1);
  return ok;
}

void MainWindow::open_dump_dialog() {
  const auto path =
      QFileDialog::getOpenFileName(this, QStringLiteral("Open a .b3dump capture"), QString(),
                                   QStringLiteral("Bucky3 dumps (*.b3dump);;All files (*)"));
  if (!path.isEmpty()) open_dump(path);
}

void MainWindow::feed(const std::string& ring, std::string_view source,
                      const shm::DecodedBatch& batch, std::int64_t capture_ms, bool primary) {
  if (primary) store_.add(batch, source, capture_ms);
  auto [it, inserted] = talkers_.try_emplace(ring);
  it->second.add(batch, capture_ms);
  if (inserted) talker_ring_box_->addItem(QString::fromStdString(ring));
}

void MainWindow::refresh_instances() {
  instances_->set_instances(scan_instances());
  if (live_) {
    const int row = instances_->row_of(QString::fromStdString(live_->instance()));
    if (row >= 0 && instance_box_->currentIndex() != row) instance_box_->setCurrentIndex(row);
  }
}

void MainWindow::drain() {
  if (live_) live_->drain(now_ms());
}

void MainWindow::show_problem(const QString& text) {
  banner_->setVisible(!text.isEmpty());
  banner_->setText(text);
}

void MainWindow::refresh() {
  const auto now = now_ms();
  QString status;
  if (live_) {
    live_->refresh(now);
    health_->set_modules(live_->modules());
    rings_->set_rings(live_->rings());
    status = QString::fromStdString(live_->status());
    if (live_->problem() || !live_->attached() || !live_->agent_running()) {
      show_problem(status);
    } else {
      show_problem({});
    }
    const auto current = health_proxy_->mapToSource(health_view_->currentIndex());
    const ModuleView* module = health_->module(current.isValid() ? current.row() : -1);
    if (!module) {
      // Nothing picked: the module with the most recent error.
      for (const auto& m : live_->modules()) {
        if (!m.health.errors.empty() &&
            (!module || m.health.errors.back().time_ms > module->health.errors.back().time_ms))
          module = &m;
      }
    }
    errors_->set_errors(module ? module->health.errors : std::vector<shm::HealthSnapshot::Error>{});
    errors_title_->setText(module ? QStringLiteral("<b>Last errors of %1</b> (%2 recorded)")
                                        .arg(QString::fromStdString(module->health.name))
                                        .arg(module->health.errors_total)
                                  : QStringLiteral("<b>Last errors</b> (select a module)"));
    store_.trim(now);
  } else if (dump_) {
    status = dump_->status();
    show_problem(dump_->failed() ? status : QString());
  }
  if (status != last_status_) {
    // Status changes go to stderr too: a terminal user and the tests see them.
    std::cerr << "bucky3-inspector: " << status.toStdString() << std::endl;
    last_status_ = status;
  }
  status_label_->setText(status);
  series_->refresh(dump_ ? store_.time_span().second : now);
  if (plot_->apply_patterns()) {
    // Show the --select'ed series as selected in the tree, without handing the
    // plot over to the tree's selection.
    QSignalBlocker block(series_view_->selectionModel());
    for (const auto s : plot_->series()) {
      const auto index = filter_->mapFromSource(series_->index_of_series(s));
      if (index.isValid()) {
        series_view_->selectionModel()->select(
            index, QItemSelectionModel::Select | QItemSelectionModel::Rows);
        series_view_->expand(index.parent());
      }
    }
  }
  update_time_slider();
  refresh_chart();
  refresh_talkers();
  counts_label_->setText(
      QStringLiteral("%1 series, %2 points").arg(store_.size()).arg(store_.point_count()));
}

void MainWindow::update_time_slider() {
  if (!dump_) return;
  const auto [first, last] = store_.time_span();
  const int span_s = first ? int((last - first) / 1000) : 0;
  QSignalBlocker block(time_slider_);
  time_slider_->setRange(0, span_s);
  if (slider_at_end_) time_slider_->setValue(span_s);
}

void MainWindow::refresh_chart() {
  if (pause_->isChecked()) return;
  std::int64_t to = now_ms();
  if (dump_) {
    const auto [first, last] = store_.time_span();
    to = first ? first + std::int64_t(time_slider_->value()) * 1000 : to;
    if (slider_at_end_) to = last;
    time_label_->setText(
        QDateTime::fromMSecsSinceEpoch(to).toString(QStringLiteral("yyyy-MM-dd HH:mm:ss")));
  }
  plot_->set_window(to - std::int64_t(options_.minutes) * 60 * 1000, to);
  plot_->refresh();
  chart_->update_from_model();
}

void MainWindow::refresh_talkers() {
  const auto it = talkers_.find(talker_ring_box_->currentText().toStdString());
  if (it == talkers_.end()) return;
  double span_s = 0;
  std::int64_t now = now_ms();
  if (dump_) {
    const auto [first, last] = std::pair{dump_->first_capture_ms(), dump_->last_capture_ms()};
    span_s = std::max(1.0, double(last - first) / 1000.0);
    now = last;
  }
  talker_names_->update(it->second, now, span_s);
  talker_tags_->update(it->second, now, span_s);
}

void MainWindow::selection_changed() {
  const auto selected = series_view_->selectionModel()->selectedRows();
  plot_->set_series(filter_->series_of(selected));
  refresh_chart();
}

void MainWindow::export_csv() {
  const auto path =
      QFileDialog::getSaveFileName(this, QStringLiteral("Export plotted data"),
                                   QStringLiteral("bucky3.csv"), QStringLiteral("CSV (*.csv)"));
  if (path.isEmpty()) return;
  QFile file(path);
  if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate) ||
      file.write(plot_->to_csv().toUtf8()) < 0) {
    QMessageBox::warning(this, QStringLiteral("Export"),
                         QStringLiteral("Cannot write %1: %2").arg(path, file.errorString()));
  }
}

void MainWindow::export_png() {
  const auto path =
      QFileDialog::getSaveFileName(this, QStringLiteral("Export chart"),
                                   QStringLiteral("bucky3.png"), QStringLiteral("PNG (*.png)"));
  if (path.isEmpty()) return;
  if (!chart_->grab().save(path, "PNG")) {
    QMessageBox::warning(this, QStringLiteral("Export"),
                         QStringLiteral("Cannot write %1").arg(path));
  }
}

std::size_t MainWindow::plotted_points() const {
  return chart_->plotted_points();
}
std::size_t MainWindow::plotted_series() const {
  return chart_->plotted_series();
}

bool MainWindow::selection_has_data(std::size_t min_points) const {
  if (plot_->rowCount() == 0) return false;
  for (int row = 0; row < plot_->rowCount(); ++row) {
    if (std::size_t(plot_->points(row).size()) < min_points) return false;
  }
  return true;
}

QString MainWindow::summary() const {
  return QStringLiteral("plotted %1 series, %2 points; %3 series known, %4 points held")
      .arg(plotted_series())
      .arg(plotted_points())
      .arg(store_.size())
      .arg(store_.point_count());
}

}  // namespace bucky3::inspector
