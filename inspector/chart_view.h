// The multi-series chart over a PlotModel: time on x, values on y, updated with
// QXYSeries::replace. Wheel or rubber band zooms, middle or Shift+drag and the
// arrow keys pan, the point nearest the cursor is shown with its value; Esc or
// a double click goes back to following the time window.
#pragma once
#include <QChartView>
#include <QList>
#include <QPointF>
#include <vector>

class QDateTimeAxis;
class QGraphicsEllipseItem;
class QGraphicsSimpleTextItem;
class QLineSeries;
class QValueAxis;

namespace bucky3::inspector {

class PlotModel;

class ChartView : public QChartView {
  Q_OBJECT
 public:
  explicit ChartView(const PlotModel& model, QWidget* parent = nullptr);

  // Re-reads the model's points and window (unless the user zoomed or panned).
  void update_from_model();
  // Back to the model's window and the data's value range.
  void reset_view();
  bool user_view() const { return user_view_; }
  // Points currently held by the chart's line series.
  std::size_t plotted_points() const;
  std::size_t plotted_series() const { return lines_.size(); }
  // The text shown for the point nearest `pos` (widget coordinates), or empty.
  QString value_at(const QPoint& pos) const;

 signals:
  void hovered(const QString& text);
  void user_view_changed(bool user_view);

 protected:
  void wheelEvent(QWheelEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;
  void mouseDoubleClickEvent(QMouseEvent* event) override;
  void keyPressEvent(QKeyEvent* event) override;
  void leaveEvent(QEvent* event) override;

 private:
  void set_user_view(bool on);
  void fit_y();
  struct Nearest {
    int row = -1;
    QPointF value;
  };
  Nearest nearest(const QPoint& pos) const;
  void show_marker(const QPoint& pos);

  const PlotModel& model_;
  QDateTimeAxis* x_axis_;
  QValueAxis* y_axis_;
  std::vector<QLineSeries*> lines_;
  std::vector<QList<QPointF>> data_;  // what each line holds, for the nearest-point search
  QGraphicsSimpleTextItem* callout_;
  QGraphicsEllipseItem* marker_;
  bool user_view_ = false;
  bool panning_ = false;
  QPoint last_pan_;
};

}  // namespace bucky3::inspector
