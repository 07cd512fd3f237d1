// Paints a ring's fill as a bar and its throughput as a sparkline, from the
// RingModel's FillRole and HistoryRole; other cells are painted as usual.
#pragma once
#include <QStyledItemDelegate>

namespace bucky3::inspector {

class RingDelegate : public QStyledItemDelegate {
  Q_OBJECT
 public:
  using QStyledItemDelegate::QStyledItemDelegate;
  void paint(QPainter* painter, const QStyleOptionViewItem& option,
             const QModelIndex& index) const override;
  QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const override;
};

}  // namespace bucky3::inspector
