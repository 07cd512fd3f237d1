// The metric browser: a tree of buckets and their series over a SeriesStore,
// a proxy filtering it by text and tags, and the model of what is plotted.
#pragma once
#include <QAbstractItemModel>
#include <QAbstractTableModel>
#include <QColor>
#include <QList>
#include <QPointF>
#include <QRegularExpression>
#include <QSortFilterProxyModel>
#include <QStringList>
#include <optional>
#include <unordered_map>
#include <vector>

#include "inspector/models/table_model.h"
#include "inspector/series_store.h"

namespace bucky3::inspector {

// Top level: one row per bucket; under it, one row per series of that bucket.
// refresh() turns what the store gained into row insertions and dataChanged,
// so views keep their selection and scroll position.
class SeriesModel : public QAbstractItemModel {
  Q_OBJECT
 public:
  enum Column { Series, Value, Points, Source, LastSeen, ColumnCount };
  explicit SeriesModel(const SeriesStore& store, QObject* parent = nullptr);

  // `now_ms` is the time "last seen" is measured from.
  void refresh(std::int64_t now_ms);
  QModelIndex index_of_series(std::size_t series) const;

  QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
  QModelIndex parent(const QModelIndex& child) const override;
  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation,
                      int role = Qt::DisplayRole) const override;

 private:
  struct Bucket {
    QString name;
    std::vector<std::size_t> series;  // store indices
  };
  const SeriesStore& store_;
  std::vector<Bucket> buckets_;
  std::unordered_map<std::string, std::size_t> bucket_rows_;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> position_;  // store index -> (bucket, row)
  std::size_t known_ = 0;
  std::uint64_t generation_ = 0;
  std::int64_t now_ms_ = 0;
};

// Keeps series whose label contains the text (case-insensitive; every word must
// appear) and whose tags match every tag term: `key=value` (value may use * and
// ?), `key=` or `key` (has that tag), `!key` (has not). Buckets stay while one of
// their series does.
class SeriesFilterModel : public QSortFilterProxyModel {
  Q_OBJECT
 public:
  explicit SeriesFilterModel(const SeriesStore& store, QObject* parent = nullptr);
  void set_text_filter(const QString& text);
  void set_tag_filter(const QString& terms);
  // The series under the given proxy indices (bucket rows contribute all their
  // visible series).
  std::vector<std::size_t> series_of(const QModelIndexList& indices) const;

 protected:
  bool filterAcceptsRow(int row, const QModelIndex& parent) const override;

 private:
  struct TagTerm {
    QString key;
    std::optional<QRegularExpression> value;  // nullopt: only the key must be there
    bool negate = false;
  };
  bool accepts(const bucky3::inspector::Series& series) const;
  const SeriesStore& store_;
  QStringList words_;
  std::vector<TagTerm> tag_terms_;
};

// Which series are plotted and their points in a time window. Rows are the
// plotted series as store indices (the chart's legend); `--select` patterns live here too, so
// series that appear later are picked up.
class PlotModel : public RowTableModel<std::size_t> {
  Q_OBJECT
 public:
  enum Column { Label, Points, Last, Min, Max, ColumnCount };
  explicit PlotModel(const SeriesStore& store, QObject* parent = nullptr);

  void set_series(std::vector<std::size_t> series);
  const std::vector<std::size_t>& series() const { return rows_; }
  // A label as shown in the browser; `*` matches any run of characters.
  void add_pattern(const QString& pattern);
  bool matches_pattern(const std::string& label) const;
  // Adds store series matching a pattern that are not plotted yet; true when it did.
  bool apply_patterns();
  void set_window(std::int64_t from_ms, std::int64_t to_ms);
  std::pair<std::int64_t, std::int64_t> window() const { return {from_ms_, to_ms_}; }
  // Called after the store gained points: the legend's numbers change.
  void refresh();

  // The chart's name for row `row`: its label without what every plotted series
  // shares (bucket, tags, field), e.g. "{endpoint=/login}" beside "{endpoint=/api}".
  QString short_label(int row) const;
  // The colour of plotted row `row`, on the chart and in the legend.
  static QColor color(int row);
  // The points of plotted row `row` inside the window, x in ms since the epoch.
  QList<QPointF> points(int row) const;
  std::size_t plotted_point_count() const;
  // "time,<label>,..." then one line per distinct timestamp, ISO 8601 UTC times;
  // an empty cell where a series has no point at that time.
  QString to_csv() const;

  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;

 private:
  std::pair<std::deque<Point>::const_iterator, std::deque<Point>::const_iterator> range(
      std::size_t series) const;
  const SeriesStore& store_;
  std::vector<QRegularExpression> patterns_;
  std::size_t patterns_checked_ = 0;  // store series already tested against the patterns
  std::uint64_t generation_ = 0;
  std::int64_t from_ms_ = 0, to_ms_ = 0;
};

}  // namespace bucky3::inspector
