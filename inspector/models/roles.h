// Item data roles the inspector's models add to Qt's, shared with delegates and proxies.
#pragma once
#include <Qt>

namespace bucky3::inspector {

enum Role : int {
  SortRole = Qt::UserRole + 1,  // raw number (or text) to sort a column by
  StaleRole,                    // bool: a running module without a recent heartbeat
  FillRole,                     // double 0..1: how full a ring is
  HistoryRole,                  // QList<double>: a sparkline's values, oldest first
  LabelRole,                    // QString: a series' full label
  TagsRole,                     // QString: "k=v k2=v2"
  SeriesIndexRole,              // qulonglong: index in the SeriesStore; -1 on a bucket row
};

}  // namespace bucky3::inspector
