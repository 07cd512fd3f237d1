// The flat tables' shared parts; see table_model.h.
#include "inspector/models/table_model.h"

#include <QString>

namespace bucky3::inspector {

QVariant column_header(std::span<const char* const> names, int section, Qt::Orientation orientation,
                       int role) {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
  return section >= 0 && std::size_t(section) < names.size()
             ? QVariant(QString::fromUtf8(names[std::size_t(section)]))
             : QVariant();
}

}  // namespace bucky3::inspector
