// Fill bars and sparklines; see ring_delegate.h.
#include "inspector/ring_delegate.h"

#include <QApplication>
#include <QPainter>
#include <QPainterPath>
#include <algorithm>

#include "inspector/models/roles.h"

namespace bucky3::inspector {

namespace {

// Green while a ring has room, orange past half, red past 90 %: a ring that
// stays red is about to drop batches.
QColor fill_color(double fill) {
  if (fill >= 0.9) return QColor(0xe1, 0x57, 0x59);
  if (fill >= 0.5) return QColor(0xf2, 0x8e, 0x2b);
  return QColor(0x59, 0xa1, 0x4f);
}

}  // namespace

void RingDelegate::paint(QPainter* painter, const QStyleOptionViewItem& option,
                         const QModelIndex& index) const {
  const auto fill = index.data(FillRole);
  const auto history = index.data(HistoryRole);
  if (!fill.isValid() && !history.isValid()) {
    QStyledItemDelegate::paint(painter, option, index);
    return;
  }
  // The cell's background and selection as usual, without its text.
  QStyleOptionViewItem base = option;
  initStyleOption(&base, index);
  base.text.clear();
  const QWidget* widget = option.widget;
  QStyle* style = widget ? widget->style() : QApplication::style();
  style->drawControl(QStyle::CE_ItemViewItem, &base, painter, widget);

  painter->save();
  painter->setRenderHint(QPainter::Antialiasing);
  const QRect area = option.rect.adjusted(4, 4, -4, -4);
  const QString text = index.data(Qt::DisplayRole).toString();
  if (fill.isValid()) {
    const double f = std::clamp(fill.toDouble(), 0.0, 1.0);
    painter->setPen(QColor(0xc8, 0xc8, 0xc8));
    painter->setBrush(QColor(0xf4, 0xf4, 0xf4));
    painter->drawRoundedRect(area, 3, 3);
    if (f > 0) {
      QRectF bar = area;
      bar.setWidth(std::max(2.0, area.width() * f));
      painter->setPen(Qt::NoPen);
      painter->setBrush(fill_color(f));
      painter->drawRoundedRect(bar, 3, 3);
    }
    painter->setPen(option.palette.color(QPalette::Text));
    painter->drawText(area, Qt::AlignCenter, text);
  } else {
    const auto values = history.value<QList<double>>();
    // Sparkline on the left two thirds, the current figure on the right.
    const int text_width = option.fontMetrics.horizontalAdvance(text) + 6;
    const QRectF line_area(area.left(), area.top(), std::max(10, area.width() - text_width),
                           area.height());
    if (values.size() >= 2) {
      const double top = std::max(1.0, *std::max_element(values.begin(), values.end()));
      QPainterPath path;
      for (qsizetype i = 0; i < values.size(); ++i) {
        const double x =
            line_area.left() + line_area.width() * double(i) / double(values.size() - 1);
        const double y = line_area.bottom() - line_area.height() * std::max(0.0, values[i]) / top;
        if (i == 0)
          path.moveTo(x, y);
        else
          path.lineTo(x, y);
      }
      QPainterPath area_path = path;
      area_path.lineTo(line_area.right(), line_area.bottom());
      area_path.lineTo(line_area.left(), line_area.bottom());
      area_path.closeSubpath();
      painter->setPen(Qt::NoPen);
      painter->setBrush(QColor(0x4e, 0x79, 0xa7, 60));
      painter->drawPath(area_path);
      painter->setPen(QPen(QColor(0x4e, 0x79, 0xa7), 1.5));
      painter->setBrush(Qt::NoBrush);
      painter->drawPath(path);
    }
    painter->setPen(option.palette.color(QPalette::Text));
    painter->drawText(area, Qt::AlignRight | Qt::AlignVCenter, text);
  }
  painter->restore();
}

QSize RingDelegate::sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const {
  QSize size = QStyledItemDelegate::sizeHint(option, index);
  if (index.data(FillRole).isValid()) size.setWidth(std::max(size.width(), 120));
  if (index.data(HistoryRole).isValid()) size.setWidth(std::max(size.width(), 200));
  size.setHeight(std::max(size.height(), option.fontMetrics.height() + 10));
  return size;
}

}  // namespace bucky3::inspector
