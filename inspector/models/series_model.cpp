// The metric browser's models; see series_model.h.
#include "inspector/models/series_model.h"

#include <QDateTime>
#include <QTimeZone>
#include <algorithm>
#include <iterator>
#include <map>

#include "inspector/models/format.h"
#include "inspector/models/roles.h"

namespace bucky3::inspector {

namespace {

QString qs(const std::string& s) {
  return QString::fromStdString(s);
}

// `*` any run of characters (slashes too: tag values hold paths), `?` one; the
// rest literal, the whole text must match.
QRegularExpression glob(const QString& pattern) {
  QString re = QRegularExpression::escape(pattern);
  re.replace(QStringLiteral("\\*"), QStringLiteral(".*"))
      .replace(QStringLiteral("\\?"), QStringLiteral("."));
  return QRegularExpression(QRegularExpression::anchoredPattern(re));
}

}  // namespace

// --- SeriesModel ----------------------------------------------------------------

constexpr const char* kSeriesColumns[] = {"Series", "Last value", "Points", "Source", "Last seen"};
static_assert(std::size(kSeriesColumns) == SeriesModel::ColumnCount);

SeriesModel::SeriesModel(const SeriesStore& store, QObject* parent)
    : QAbstractItemModel(parent), store_(store), generation_(store.generation()) {}

void SeriesModel::refresh(std::int64_t now_ms) {
  now_ms_ = now_ms;
  if (store_.generation() != generation_) {
    beginResetModel();
    buckets_.clear();
    bucket_rows_.clear();
    position_.clear();
    known_ = 0;
    generation_ = store_.generation();
    endResetModel();
  }
  // Series the store gained since the last refresh, grouped by bucket.
  std::map<std::size_t, std::vector<std::size_t>> added;  // bucket row -> store indices
  std::vector<std::pair<std::string, std::vector<std::size_t>>> new_buckets;
  std::unordered_map<std::string, std::size_t> new_bucket_rows;
  for (std::size_t i = known_; i < store_.size(); ++i) {
    const auto& bucket = store_.at(i).bucket;
    if (const auto it = bucket_rows_.find(bucket); it != bucket_rows_.end()) {
      added[it->second].push_back(i);
    } else if (const auto nit = new_bucket_rows.find(bucket); nit != new_bucket_rows.end()) {
      new_buckets[nit->second].second.push_back(i);
    } else {
      new_bucket_rows.emplace(bucket, new_buckets.size());
      new_buckets.push_back({bucket, {i}});
    }
  }
  position_.resize(store_.size());
  for (const auto& [row, indices] : added) {
    auto& b = buckets_[row];
    const int first = int(b.series.size());
    beginInsertRows(index(int(row), 0), first, first + int(indices.size()) - 1);
    for (const auto i : indices) {
      position_[i] = {std::uint32_t(row), std::uint32_t(b.series.size())};
      b.series.push_back(i);
    }
    endInsertRows();
  }
  if (!new_buckets.empty()) {
    // Whole buckets with their series in one insertion: the view sees the rows
    // and their children at once.
    const int first = int(buckets_.size());
    beginInsertRows({}, first, first + int(new_buckets.size()) - 1);
    for (auto& [name, indices] : new_buckets) {
      const auto row = buckets_.size();
      bucket_rows_.emplace(name, row);
      for (std::size_t k = 0; k < indices.size(); ++k)
        position_[indices[k]] = {std::uint32_t(row), std::uint32_t(k)};
      buckets_.push_back({qs(name), std::move(indices)});
    }
    endInsertRows();
  }
  const bool had_rows = known_ > 0;
  known_ = store_.size();
  if (!had_rows) return;
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    if (buckets_[b].series.empty()) continue;
    const auto parent = index(int(b), 0);
    emit dataChanged(index(0, Value, parent),
                     index(int(buckets_[b].series.size()) - 1, LastSeen, parent));
  }
  if (!buckets_.empty())
    emit dataChanged(index(0, Value), index(int(buckets_.size()) - 1, LastSeen));
}

QModelIndex SeriesModel::index_of_series(std::size_t series) const {
  if (series >= known_) return {};
  const auto [bucket, row] = position_[series];
  return createIndex(int(row), 0, quintptr(bucket) + 1);
}

QModelIndex SeriesModel::index(int row, int column, const QModelIndex& parent) const {
  if (row < 0 || column < 0 || column >= ColumnCount) return {};
  if (!parent.isValid())
    return row < int(buckets_.size()) ? createIndex(row, column, quintptr(0)) : QModelIndex();
  if (parent.internalId() != 0 || parent.row() >= int(buckets_.size())) return {};
  if (row >= int(buckets_[std::size_t(parent.row())].series.size())) return {};
  return createIndex(row, column, quintptr(parent.row()) + 1);
}

QModelIndex SeriesModel::parent(const QModelIndex& child) const {
  if (!child.isValid() || child.internalId() == 0) return {};
  return createIndex(int(child.internalId() - 1), 0, quintptr(0));
}

int SeriesModel::rowCount(const QModelIndex& parent) const {
  if (!parent.isValid()) return int(buckets_.size());
  if (parent.internalId() != 0 || parent.column() != 0) return 0;
  return int(buckets_[std::size_t(parent.row())].series.size());
}

int SeriesModel::columnCount(const QModelIndex&) const {
  return ColumnCount;
}

QVariant SeriesModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid)) return {};
  if (index.internalId() == 0) {
    const auto& b = buckets_[std::size_t(index.row())];
    if (role == SeriesIndexRole) return qulonglong(-1);
    if (role == LabelRole ||
        ((role == Qt::DisplayRole || role == SortRole) && index.column() == Series))
      return b.name;
    if (role == Qt::DisplayRole && index.column() == Value)
      return QStringLiteral("%1 series").arg(b.series.size());
    if (role == SortRole && index.column() == Value) return qulonglong(b.series.size());
    if (role == Qt::DisplayRole && index.column() == Source && !b.series.empty())
      return qs(store_.at(b.series.front()).source);
    return {};
  }
  const auto& b = buckets_[std::size_t(index.internalId() - 1)];
  const auto store_index = b.series[std::size_t(index.row())];
  const auto& s = store_.at(store_index);
  switch (role) {
    case SeriesIndexRole: return qulonglong(store_index);
    case LabelRole: return qs(s.label);
    case TagsRole: return qs(s.tags_text);
    case Qt::ToolTipRole: return qs(s.label);
    case Qt::TextAlignmentRole:
      return index.column() == Value || index.column() == Points
                 ? QVariant(Qt::AlignRight | Qt::AlignVCenter)
                 : QVariant();
    case Qt::DisplayRole:
    case SortRole: break;
    default: return {};
  }
  const bool sort = role == SortRole;
  const double age_s = s.last_seen_ms ? double(now_ms_ - s.last_seen_ms) / 1000.0 : 0;
  switch (index.column()) {
    case Series: return qs(s.browse_text);
    case Value:
      if (s.points.empty()) return sort ? QVariant(0.0) : QVariant();
      return sort ? QVariant(s.points.back().value) : QVariant(format_value(s.points.back().value));
    case Points: return qulonglong(s.points.size());
    case Source: return qs(s.source);
    case LastSeen:
      if (sort) return age_s;
      return s.last_seen_ms
                 ? QVariant(QStringLiteral("%1 ago").arg(format_duration(std::max(0.0, age_s))))
                 : QVariant();
  }
  return {};
}

QVariant SeriesModel::headerData(int section, Qt::Orientation orientation, int role) const {
  return column_header(kSeriesColumns, section, orientation, role);
}

// --- SeriesFilterModel -----------------------------------------------------------

SeriesFilterModel::SeriesFilterModel(const SeriesStore& store, QObject* parent)
    : QSortFilterProxyModel(parent), store_(store) {
  setRecursiveFilteringEnabled(true);
  setSortRole(SortRole);
  setSortCaseSensitivity(Qt::CaseInsensitive);
}

void SeriesFilterModel::set_text_filter(const QString& text) {
  const auto words = text.split(QLatin1Char(' '), Qt::SkipEmptyParts);
  if (words == words_) return;
  words_ = words;
  invalidateRowsFilter();
}

void SeriesFilterModel::set_tag_filter(const QString& terms) {
  std::vector<TagTerm> parsed;
  for (auto term : terms.split(QRegularExpression(QStringLiteral("[\\s,]+")), Qt::SkipEmptyParts)) {
    TagTerm t;
    if (term.startsWith(QLatin1Char('!'))) {
      t.negate = true;
      term = term.mid(1);
    }
    const auto eq = term.indexOf(QLatin1Char('='));
    const auto colon = term.indexOf(QLatin1Char(':'));
    const auto split = eq >= 0 ? eq : colon;  // DogStatsD writes key:value
    t.key = split >= 0 ? term.left(split) : term;
    if (split >= 0 && split + 1 < term.size()) t.value = glob(term.mid(split + 1));
    if (!t.key.isEmpty()) parsed.push_back(std::move(t));
  }
  tag_terms_ = std::move(parsed);
  invalidateRowsFilter();
}

bool SeriesFilterModel::accepts(const bucky3::inspector::Series& series) const {
  if (!words_.isEmpty()) {
    const auto label = qs(series.label);
    for (const auto& w : words_) {
      if (!label.contains(w, Qt::CaseInsensitive)) return false;
    }
  }
  for (const auto& term : tag_terms_) {
    bool found = false;
    for (const auto& tag : series.tags) {
      if (qs(tag.key) != term.key) continue;
      found = !term.value || term.value->match(qs(tag.value)).hasMatch();
      break;
    }
    if (found == term.negate) return false;
  }
  return true;
}

bool SeriesFilterModel::filterAcceptsRow(int row, const QModelIndex& parent) const {
  const bool filtering = !words_.isEmpty() || !tag_terms_.empty();
  if (!parent.isValid()) return !filtering;  // a bucket shows through its series
  const auto index = sourceModel()->index(row, 0, parent);
  const auto store_index = index.data(SeriesIndexRole).toULongLong();
  return !filtering || accepts(store_.at(store_index));
}

std::vector<std::size_t> SeriesFilterModel::series_of(const QModelIndexList& indices) const {
  std::vector<std::size_t> out;
  for (const auto& proxy : indices) {
    if (proxy.column() != 0) continue;
    if (!proxy.parent().isValid()) {
      for (int r = 0; r < rowCount(proxy); ++r)
        out.push_back(index(r, 0, proxy).data(SeriesIndexRole).toULongLong());
    } else {
      out.push_back(proxy.data(SeriesIndexRole).toULongLong());
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// --- PlotModel ------------------------------------------------------------------

constexpr const char* kPlotColumns[] = {"Plotted series", "Points", "Last", "Min", "Max"};
static_assert(std::size(kPlotColumns) == PlotModel::ColumnCount);

PlotModel::PlotModel(const SeriesStore& store, QObject* parent)
    : RowTableModel(kPlotColumns, parent), store_(store), generation_(store.generation()) {}

QColor PlotModel::color(int row) {
  // Tableau 10: distinguishable, and readable on white.
  static const QColor palette[] = {
      QColor(0x4e79a7), QColor(0xf28e2b), QColor(0xe15759), QColor(0x76b7b2), QColor(0x59a14f),
      QColor(0xedc948), QColor(0xb07aa1), QColor(0xff9da7), QColor(0x9c755f), QColor(0xbab0ac)};
  return palette[row % 10];
}

void PlotModel::set_series(std::vector<std::size_t> series) {
  if (series == rows_) return;
  beginResetModel();
  rows_ = std::move(series);
  endResetModel();
}

void PlotModel::add_pattern(const QString& pattern) {
  patterns_.push_back(glob(pattern));
  patterns_checked_ = 0;
}

bool PlotModel::matches_pattern(const std::string& label) const {
  const auto text = qs(label);
  return std::any_of(patterns_.begin(), patterns_.end(),
                     [&](const auto& p) { return p.match(text).hasMatch(); });
}

bool PlotModel::apply_patterns() {
  if (store_.generation() != generation_) {
    generation_ = store_.generation();
    patterns_checked_ = 0;
    set_series({});
  }
  std::vector<std::size_t> found;
  for (; patterns_checked_ < store_.size(); ++patterns_checked_) {
    if (matches_pattern(store_.at(patterns_checked_).label) &&
        std::find(rows_.begin(), rows_.end(), patterns_checked_) == rows_.end())
      found.push_back(patterns_checked_);
  }
  if (found.empty() || patterns_.empty()) return false;
  beginInsertRows({}, int(rows_.size()), int(rows_.size() + found.size()) - 1);
  rows_.insert(rows_.end(), found.begin(), found.end());
  endInsertRows();
  return true;
}

void PlotModel::set_window(std::int64_t from_ms, std::int64_t to_ms) {
  from_ms_ = from_ms;
  to_ms_ = to_ms;
}

void PlotModel::refresh() {
  if (!rows_.empty()) emit dataChanged(index(0, Points), index(rowCount() - 1, Max));
}

QString PlotModel::short_label(int row) const {
  if (row < 0 || row >= rowCount()) return {};
  const auto& mine = store_.at(rows_[std::size_t(row)]);
  if (rows_.size() < 2) return qs(mine.label);
  bool same_bucket = true, same_field = true;
  std::vector<bool> tag_shared(mine.tags.size(), true);
  for (const auto s : rows_) {
    const auto& other = store_.at(s);
    same_bucket = same_bucket && other.bucket == mine.bucket;
    same_field = same_field && other.field == mine.field;
    for (std::size_t t = 0; t < mine.tags.size(); ++t) {
      if (std::find(other.tags.begin(), other.tags.end(), mine.tags[t]) == other.tags.end())
        tag_shared[t] = false;
    }
  }
  std::string text = same_bucket ? std::string() : mine.bucket;
  std::string tags;
  for (std::size_t t = 0; t < mine.tags.size(); ++t) {
    if (tag_shared[t]) continue;
    if (!tags.empty()) tags += ',';
    tags.append(mine.tags[t].key).append("=").append(mine.tags[t].value);
  }
  if (!tags.empty()) text.append("{").append(tags).append("}");
  if (!same_field && !mine.field.empty()) text.append(".").append(mine.field);
  return text.empty() ? qs(mine.label) : qs(text);
}

std::pair<std::deque<Point>::const_iterator, std::deque<Point>::const_iterator> PlotModel::range(
    std::size_t series) const {
  const auto& points = store_.at(series).points;
  const auto first = std::lower_bound(points.begin(), points.end(), from_ms_,
                                      [](const Point& p, std::int64_t t) { return p.time_ms < t; });
  const auto last = std::upper_bound(first, points.end(), to_ms_,
                                     [](std::int64_t t, const Point& p) { return t < p.time_ms; });
  return {first, last};
}

QList<QPointF> PlotModel::points(int row) const {
  QList<QPointF> out;
  if (row < 0 || row >= rowCount()) return out;
  const auto [first, last] = range(rows_[std::size_t(row)]);
  out.reserve(last - first);
  for (auto it = first; it != last; ++it) out.append(QPointF(double(it->time_ms), it->value));
  return out;
}

std::size_t PlotModel::plotted_point_count() const {
  std::size_t n = 0;
  for (const auto s : rows_) {
    const auto [first, last] = range(s);
    n += std::size_t(last - first);
  }
  return n;
}

QString PlotModel::to_csv() const {
  const auto quote = [](QString text) {
    if (!text.contains(QLatin1Char(',')) && !text.contains(QLatin1Char('"')) &&
        !text.contains(QLatin1Char('\n')))
      return text;
    return QLatin1Char('"') + text.replace(QLatin1Char('"'), QStringLiteral("\"\"")) +
           QLatin1Char('"');
  };
  QString out = QStringLiteral("time");
  std::map<std::int64_t, std::vector<std::optional<double>>> rows;
  for (std::size_t k = 0; k < rows_.size(); ++k) {
    out += QLatin1Char(',') + quote(qs(store_.at(rows_[k]).label));
    const auto [first, last] = range(rows_[k]);
    for (auto it = first; it != last; ++it) {
      auto& row = rows[it->time_ms];
      row.resize(rows_.size());
      row[k] = it->value;
    }
  }
  out += QLatin1Char('\n');
  for (const auto& [time, values] : rows) {
    out += QDateTime::fromMSecsSinceEpoch(time, QTimeZone::utc())
               .toString(QStringLiteral("yyyy-MM-ddTHH:mm:ss.zzz")) +
           QLatin1Char('Z');
    for (std::size_t k = 0; k < rows_.size(); ++k) {
      out += QLatin1Char(',');
      if (k < values.size() && values[k]) out += format_value(*values[k]);
    }
    out += QLatin1Char('\n');
  }
  return out;
}

QVariant PlotModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid)) return {};
  const auto store_index = rows_[std::size_t(index.row())];
  const auto& s = store_.at(store_index);
  if (role == SeriesIndexRole) return qulonglong(store_index);
  if (role == LabelRole) return qs(s.label);
  if (role == Qt::DecorationRole && index.column() == Label) return color(index.row());
  if (role == Qt::TextAlignmentRole && index.column() != Label)
    return QVariant(Qt::AlignRight | Qt::AlignVCenter);
  if (role != Qt::DisplayRole && role != SortRole) return {};
  const auto [first, last] = range(store_index);
  if (index.column() == Label) return qs(s.label);
  if (index.column() == Points) return qulonglong(last - first);
  if (first == last) return {};
  double value = 0;
  switch (index.column()) {
    case Last: value = std::prev(last)->value; break;
    case Min:
      value = std::min_element(first, last, [](const Point& a, const Point& b) {
                return a.value < b.value;
              })->value;
      break;
    case Max:
      value = std::max_element(first, last, [](const Point& a, const Point& b) {
                return a.value < b.value;
              })->value;
      break;
  }
  return role == SortRole ? QVariant(value) : QVariant(format_value(value));
}

}  // namespace bucky3::inspector
