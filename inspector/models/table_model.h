// What the inspector's flat tables share: row and column counts and header names
// over a vector of rows, and replacing the rows so that views keep their selection
// and scroll position when the same rows come back with new numbers.
#pragma once
#include <QAbstractTableModel>
#include <algorithm>
#include <span>
#include <utility>
#include <vector>

namespace bucky3::inspector {

// The horizontal header of column `section` from `names` (one per column).
QVariant column_header(std::span<const char* const> names, int section, Qt::Orientation orientation,
                       int role);

// A table of `Row`s with fixed, named columns. A subclass adds its Column enum and
// data(), and passes one header name per column.
template <class Row>
class RowTableModel : public QAbstractTableModel {
 public:
  int rowCount(const QModelIndex& parent = {}) const override {
    return parent.isValid() ? 0 : int(rows_.size());
  }
  int columnCount(const QModelIndex& parent = {}) const override {
    return parent.isValid() ? 0 : int(headers_.size());
  }
  QVariant headerData(int section, Qt::Orientation orientation,
                      int role = Qt::DisplayRole) const override {
    return column_header(headers_, section, orientation, role);
  }
  // nullptr outside the table.
  const Row* at(int row) const {
    return row >= 0 && row < rowCount() ? &rows_[std::size_t(row)] : nullptr;
  }

 protected:
  RowTableModel(std::span<const char* const> headers, QObject* parent)
      : QAbstractTableModel(parent), headers_(headers) {}

  // The same rows as before (`same_row` true for each pair, in order): dataChanged
  // over the whole table; other rows: a reset.
  template <class SameRow>
  void replace_rows(std::vector<Row> rows, SameRow same_row) {
    const bool same = rows.size() == rows_.size() &&
                      std::equal(rows.begin(), rows.end(), rows_.begin(), same_row);
    if (!same) {
      beginResetModel();
      rows_ = std::move(rows);
      endResetModel();
      return;
    }
    rows_ = std::move(rows);
    if (!rows_.empty()) emit dataChanged(index(0, 0), index(rowCount() - 1, columnCount() - 1));
  }

  std::vector<Row> rows_;

 private:
  std::span<const char* const> headers_;
};

}  // namespace bucky3::inspector
