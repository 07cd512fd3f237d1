// The top-talkers table; see talkers_model.h.
#include "inspector/models/talkers_model.h"

#include <algorithm>
#include <iterator>
#include <unordered_set>

#include "inspector/models/format.h"
#include "inspector/models/roles.h"

namespace bucky3::inspector {

namespace {
// The key column's header says which kind of key it is.
constexpr const char* kTalkerColumns[] = {"",        "Series", "Metrics/s", "Bytes/s",
                                          "Metrics", "Bytes",  "Values",    "Last seen"};
static_assert(std::size(kTalkerColumns) == TalkersModel::ColumnCount);
}  // namespace

TalkersModel::TalkersModel(Kind kind, QObject* parent)
    : RowTableModel(kTalkerColumns, parent), kind_(kind) {}

void TalkersModel::update(const shm::TopTalkers& talkers, std::int64_t now_ms, double span_s) {
  now_ms_ = now_ms;
  std::vector<TalkerRow> rows;
  std::unordered_set<std::string> seen;
  for (const auto order :
       {shm::TalkerOrder::series, shm::TalkerOrder::metrics, shm::TalkerOrder::bytes}) {
    const auto top =
        kind_ == Kind::names ? talkers.top_names(order, top_n) : talkers.top_tag_keys(order, top_n);
    for (const auto& t : top) {
      if (seen.insert(t.key).second) rows.push_back({t, 0, 0});
    }
  }
  std::unordered_map<std::string, std::deque<Sample>> history;
  for (auto& row : rows) {
    if (span_s > 0) {
      row.metrics_per_s = double(row.talker.metrics) / span_s;
      row.bytes_per_s = double(row.talker.bytes) / span_s;
      continue;
    }
    auto samples = std::move(history_[row.talker.key]);
    samples.push_back({now_ms, row.talker.metrics, row.talker.bytes});
    while (samples.size() > 2 && now_ms - samples[1].time_ms >= rate_window_ms) samples.pop_front();
    const auto& first = samples.front();
    if (samples.size() >= 2 && now_ms > first.time_ms) {
      const double dt = double(now_ms - first.time_ms) / 1000.0;
      row.metrics_per_s = double(row.talker.metrics - first.metrics) / dt;
      row.bytes_per_s = double(row.talker.bytes - first.bytes) / dt;
    }
    history.emplace(row.talker.key, std::move(samples));
  }
  history_ = std::move(history);
  replace_rows(std::move(rows),
               [](const TalkerRow& a, const TalkerRow& b) { return a.talker.key == b.talker.key; });
}

void TalkersModel::clear() {
  beginResetModel();
  rows_.clear();
  history_.clear();
  endResetModel();
}

QVariant TalkersModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid)) return {};
  const auto& row = rows_[std::size_t(index.row())];
  const auto& t = row.talker;
  if (role == Qt::TextAlignmentRole && index.column() != Key)
    return QVariant(Qt::AlignRight | Qt::AlignVCenter);
  if (role == Qt::ToolTipRole && t.estimated &&
      (index.column() == Series || index.column() == Values))
    return QStringLiteral("estimated (HyperLogLog, about 3 %)");
  const bool sort = role == SortRole;
  if (role != Qt::DisplayRole && !sort) return {};
  const auto approx = [&](std::uint64_t n) {
    return sort ? QVariant(qulonglong(n))
                : QVariant((t.estimated ? QStringLiteral("≈") : QString()) + QString::number(n));
  };
  switch (index.column()) {
    case Key: return QString::fromStdString(t.key);
    case Series: return approx(t.series);
    case MetricsRate:
      return sort ? QVariant(row.metrics_per_s)
                  : QVariant(format_rate(row.metrics_per_s) + QStringLiteral("/s"));
    case BytesRate:
      return sort ? QVariant(row.bytes_per_s)
                  : QVariant(format_bytes(row.bytes_per_s) + QStringLiteral("/s"));
    case Metrics: return qulonglong(t.metrics);
    case Bytes:
      return sort ? QVariant(qulonglong(t.bytes)) : QVariant(format_bytes(double(t.bytes)));
    case Values: return kind_ == Kind::tag_keys ? approx(t.values) : QVariant();
    case LastSeen: {
      const double age = double(now_ms_ - t.last_seen_ms) / 1000.0;
      return sort ? QVariant(age)
                  : QVariant(QStringLiteral("%1 ago").arg(format_duration(std::max(0.0, age))));
    }
  }
  return {};
}

QVariant TalkersModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (section == Key && orientation == Qt::Horizontal && role == Qt::DisplayRole)
    return kind_ == Kind::names ? QStringLiteral("Metric name") : QStringLiteral("Tag key");
  return RowTableModel::headerData(section, orientation, role);
}

}  // namespace bucky3::inspector
