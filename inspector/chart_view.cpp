// The chart of the metric browser; see chart_view.h.
#include "inspector/chart_view.h"

#include <QDateTime>
#include <QDateTimeAxis>
#include <QGraphicsEllipseItem>
#include <QGraphicsSimpleTextItem>
#include <QLineSeries>
#include <QValueAxis>
#include <QtMath>
#include <algorithm>
#include <cmath>
#include <limits>

#include "inspector/models/format.h"
#include "inspector/models/series_model.h"

namespace bucky3::inspector {

ChartView::ChartView(const PlotModel& model, QWidget* parent)
    : QChartView(new QChart, parent),
      model_(model),
      x_axis_(new QDateTimeAxis),
      y_axis_(new QValueAxis) {
  // Qt 6.4 Charts without OpenGL: plain raster, antialiased.
  setRenderHint(QPainter::Antialiasing);
  setRubberBand(QChartView::HorizontalRubberBand);
  setMouseTracking(true);
  setFocusPolicy(Qt::StrongFocus);
  chart()->setMargins(QMargins(4, 4, 4, 4));
  chart()->legend()->setAlignment(Qt::AlignBottom);
  chart()->setAnimationOptions(QChart::NoAnimation);
  x_axis_->setFormat(QStringLiteral("HH:mm:ss"));
  x_axis_->setTitleText(QStringLiteral("time"));
  x_axis_->setTickCount(7);
  y_axis_->setLabelFormat(QStringLiteral("%.4g"));
  chart()->addAxis(x_axis_, Qt::AlignBottom);
  chart()->addAxis(y_axis_, Qt::AlignLeft);
  callout_ = new QGraphicsSimpleTextItem(chart());
  callout_->setZValue(11);
  callout_->setBrush(QColor(0x30, 0x30, 0x30));
  marker_ = new QGraphicsEllipseItem(chart());
  marker_->setZValue(10);
  marker_->setRect(-4, -4, 8, 8);
  marker_->setBrush(Qt::white);
  callout_->hide();
  marker_->hide();
  reset_view();
}

void ChartView::update_from_model() {
  const int rows = model_.rowCount();
  while (int(lines_.size()) > rows) {
    chart()->removeSeries(lines_.back());
    delete lines_.back();
    lines_.pop_back();
  }
  while (int(lines_.size()) < rows) {
    auto* line = new QLineSeries;
    chart()->addSeries(line);
    line->attachAxis(x_axis_);
    line->attachAxis(y_axis_);
    lines_.push_back(line);
  }
  data_.resize(std::size_t(rows));
  for (int row = 0; row < rows; ++row) {
    auto* line = lines_[std::size_t(row)];
    const auto label = model_.short_label(row);
    if (line->name() != label) line->setName(label);
    QPen pen(PlotModel::color(row));
    pen.setWidthF(2);
    line->setPen(pen);
    data_[std::size_t(row)] = model_.points(row);
    // One point alone draws no line: show it as a dot.
    line->setPointsVisible(data_[std::size_t(row)].size() < 3);
    line->replace(data_[std::size_t(row)]);
  }
  // A long legend would squeeze the plot: the table below the chart lists them.
  chart()->legend()->setVisible(rows > 0 && rows <= 6);
  if (!user_view_) reset_view();
}

void ChartView::reset_view() {
  auto [from, to] = model_.window();
  if (to <= from) {
    to = QDateTime::currentMSecsSinceEpoch();
    from = to - 60000;
  }
  // While the data is younger than the window, the chart starts where it does.
  double first = double(to);
  for (const auto& points : data_) {
    if (!points.isEmpty()) first = std::min(first, points.front().x());
  }
  if (qint64(first) > from && to - qint64(first) >= 10000) from = qint64(first);
  x_axis_->setRange(QDateTime::fromMSecsSinceEpoch(from), QDateTime::fromMSecsSinceEpoch(to));
  fit_y();
  set_user_view(false);
}

void ChartView::fit_y() {
  double low = std::numeric_limits<double>::infinity(), high = -low;
  const double from = double(x_axis_->min().toMSecsSinceEpoch()),
               to = double(x_axis_->max().toMSecsSinceEpoch());
  for (const auto& points : data_) {
    for (const auto& p : points) {
      if (p.x() < from || p.x() > to || !std::isfinite(p.y())) continue;
      low = std::min(low, p.y());
      high = std::max(high, p.y());
    }
  }
  if (!std::isfinite(low)) {
    low = 0;
    high = 1;
  }
  if (high - low < 1e-12) {
    const double pad = std::max(1.0, std::abs(high) * 0.1);
    low -= pad;
    high += pad;
  } else {
    const double pad = (high - low) * 0.05;
    low -= pad;
    high += pad;
  }
  y_axis_->setRange(low, high);
  y_axis_->setTickCount(6);
  y_axis_->applyNiceNumbers();
}

std::size_t ChartView::plotted_points() const {
  std::size_t n = 0;
  for (const auto* line : lines_) n += std::size_t(line->count());
  return n;
}

void ChartView::set_user_view(bool on) {
  if (user_view_ == on) return;
  user_view_ = on;
  emit user_view_changed(on);
}

void ChartView::wheelEvent(QWheelEvent* event) {
  const double factor = event->angleDelta().y() > 0 ? 0.8 : 1.25;
  const double x = chart()->mapToValue(event->position()).x();
  const double from = double(x_axis_->min().toMSecsSinceEpoch()),
               to = double(x_axis_->max().toMSecsSinceEpoch());
  // Zoom around the time under the cursor.
  const qint64 new_from = qint64(x - (x - from) * factor), new_to = qint64(x + (to - x) * factor);
  if (new_to - new_from < 1000) return;  // a second is as close as points get
  x_axis_->setRange(QDateTime::fromMSecsSinceEpoch(new_from),
                    QDateTime::fromMSecsSinceEpoch(new_to));
  fit_y();
  set_user_view(true);
  event->accept();
}

void ChartView::mousePressEvent(QMouseEvent* event) {
  if (event->button() == Qt::MiddleButton ||
      (event->button() == Qt::LeftButton && (event->modifiers() & Qt::ShiftModifier))) {
    panning_ = true;
    last_pan_ = event->pos();
    setCursor(Qt::ClosedHandCursor);
    event->accept();
    return;
  }
  QChartView::mousePressEvent(event);
}

void ChartView::mouseMoveEvent(QMouseEvent* event) {
  if (panning_) {
    const QPoint delta = event->pos() - last_pan_;
    last_pan_ = event->pos();
    chart()->scroll(-delta.x(), delta.y());
    set_user_view(true);
    event->accept();
    return;
  }
  show_marker(event->pos());
  QChartView::mouseMoveEvent(event);
}

void ChartView::mouseReleaseEvent(QMouseEvent* event) {
  if (panning_) {
    panning_ = false;
    unsetCursor();
    event->accept();
    return;
  }
  // The rubber band zooms in on release; a right click zooms out: both leave
  // the followed window.
  const bool zooming = event->button() == Qt::LeftButton || event->button() == Qt::RightButton;
  QChartView::mouseReleaseEvent(event);
  if (zooming) {
    fit_y();
    set_user_view(true);
  }
}

void ChartView::mouseDoubleClickEvent(QMouseEvent* event) {
  reset_view();
  event->accept();
}

void ChartView::keyPressEvent(QKeyEvent* event) {
  switch (event->key()) {
    case Qt::Key_Left: chart()->scroll(-chart()->plotArea().width() / 10, 0); break;
    case Qt::Key_Right: chart()->scroll(chart()->plotArea().width() / 10, 0); break;
    case Qt::Key_Plus:
    case Qt::Key_Equal: chart()->zoom(1.25); break;
    case Qt::Key_Minus: chart()->zoom(0.8); break;
    case Qt::Key_Escape:
    case Qt::Key_0: reset_view(); return;
    default: QChartView::keyPressEvent(event); return;
  }
  fit_y();
  set_user_view(true);
}

void ChartView::leaveEvent(QEvent* event) {
  callout_->hide();
  marker_->hide();
  QChartView::leaveEvent(event);
}

ChartView::Nearest ChartView::nearest(const QPoint& pos) const {
  Nearest best;
  double best_distance = 30;  // pixels: farther than this is no point "under" the cursor
  const QPointF scene = mapToScene(pos);
  const QPointF chart_pos = chart()->mapFromScene(scene);
  if (!chart()->plotArea().contains(chart_pos)) return best;
  const double x = chart()->mapToValue(chart_pos).x();
  for (std::size_t row = 0; row < data_.size(); ++row) {
    const auto& points = data_[row];
    if (points.isEmpty()) continue;
    const auto it = std::lower_bound(points.begin(), points.end(), x,
                                     [](const QPointF& p, double value) { return p.x() < value; });
    for (auto candidate : {it, it == points.begin() ? it : std::prev(it)}) {
      if (candidate == points.end()) continue;
      const QPointF on_screen = chart()->mapToPosition(*candidate, lines_[row]);
      const double distance =
          std::hypot(on_screen.x() - chart_pos.x(), on_screen.y() - chart_pos.y());
      if (distance < best_distance) {
        best_distance = distance;
        best = {int(row), *candidate};
      }
    }
  }
  return best;
}

QString ChartView::value_at(const QPoint& pos) const {
  const auto hit = nearest(pos);
  if (hit.row < 0) return {};
  return QStringLiteral("%1\n%2  %3")
      .arg(lines_[std::size_t(hit.row)]->name(),
           QDateTime::fromMSecsSinceEpoch(qint64(hit.value.x()))
               .toString(QStringLiteral("HH:mm:ss.zzz")),
           format_value(hit.value.y()));
}

void ChartView::show_marker(const QPoint& pos) {
  const auto hit = nearest(pos);
  if (hit.row < 0) {
    callout_->hide();
    marker_->hide();
    emit hovered({});
    return;
  }
  const QString text = value_at(pos);
  const QPointF at = chart()->mapToPosition(hit.value, lines_[std::size_t(hit.row)]);
  marker_->setPen(QPen(PlotModel::color(hit.row), 2));
  marker_->setPos(at);
  marker_->show();
  callout_->setText(text);
  // Keep the label inside the plot, to the right of the point unless that is off the edge.
  QPointF label = at + QPointF(10, -callout_->boundingRect().height() - 4);
  const QRectF plot = chart()->plotArea();
  if (label.x() + callout_->boundingRect().width() > plot.right())
    label.setX(at.x() - 10 - callout_->boundingRect().width());
  if (label.y() < plot.top()) label.setY(at.y() + 8);
  callout_->setPos(label);
  callout_->show();
  emit hovered(text.simplified());
}

}  // namespace bucky3::inspector
