// Top talkers of one ring (shm/talkers.h): metric names or tag keys with their
// series, metrics/s and bytes/s, so the source of a cardinality jump is one
// sort away.
#pragma once
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "inspector/models/table_model.h"
#include "shm/talkers.h"

namespace bucky3::inspector {

// One row: a talker and its rates.
struct TalkerRow {
  shm::Talker talker;
  double metrics_per_s = 0, bytes_per_s = 0;
};

class TalkersModel : public RowTableModel<TalkerRow> {
  Q_OBJECT
 public:
  enum class Kind { names, tag_keys };
  enum Column {
    Key,
    Series,
    MetricsRate,
    BytesRate,
    Metrics,
    Bytes,
    Values,
    LastSeen,
    ColumnCount
  };
  static constexpr std::size_t top_n = 100;  // per order; the union is shown
  static constexpr std::int64_t rate_window_ms = 10000;

  explicit TalkersModel(Kind kind, QObject* parent = nullptr);

  // Takes the top talkers by series, metrics and bytes. Rates are over the
  // last 10 s of updates; with `span_s` set (a dump), they are the totals over
  // that span instead.
  void update(const shm::TopTalkers& talkers, std::int64_t now_ms, double span_s = 0);
  void clear();

  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation,
                      int role = Qt::DisplayRole) const override;

 private:
  struct Sample {
    std::int64_t time_ms;
    std::uint64_t metrics, bytes;
  };
  Kind kind_;
  std::unordered_map<std::string, std::deque<Sample>> history_;
  std::int64_t now_ms_ = 0;
};

}  // namespace bucky3::inspector
