// The health view's table models; see health_model.h.
#include "inspector/models/health_model.h"

#include <QBrush>
#include <QColor>
#include <QDateTime>
#include <QStringList>
#include <algorithm>
#include <iterator>

#include "inspector/models/format.h"
#include "inspector/models/roles.h"

namespace bucky3::inspector {

namespace {

QString qs(std::string_view s) {
  return QString::fromUtf8(s.data(), qsizetype(s.size()));
}

std::uint64_t counter(const ModuleView& m, shm::Counter c) {
  return m.health.counters[static_cast<std::size_t>(c)];
}

constexpr shm::Counter kDropCounters[] = {
    shm::Counter::drops_kernel, shm::Counter::drops_series_cap, shm::Counter::drops_ring_full,
    shm::Counter::drops_buffer, shm::Counter::drops_other,      shm::Counter::lines_invalid};

std::uint64_t total_drops(const ModuleView& m) {
  std::uint64_t sum = 0;
  for (const auto c : kDropCounters) {
    if (c != shm::Counter::lines_invalid) sum += counter(m, c);
  }
  return sum;
}

// "ring_full 12, kernel 3"; the tooltip lists every cause, zero or not.
QString drops_text(const ModuleView& m, bool all) {
  QStringList parts;
  for (const auto c : kDropCounters) {
    const auto n = counter(m, c);
    if (n || all) {
      auto name = qs(to_string(c));
      if (name.startsWith(QStringLiteral("drops_"))) name = name.mid(6);
      parts << QStringLiteral("%1 %2").arg(name).arg(n);
    }
  }
  return parts.join(all ? QStringLiteral("\n") : QStringLiteral(", "));
}

const QColor kStale(255, 205, 200);
const QColor kWarn(255, 236, 179);

}  // namespace

// --- HealthModel ---------------------------------------------------------------

constexpr const char* kHealthColumns[] = {"Module",   "Type",      "PID", "State", "Uptime",
                                          "Restarts", "Heartbeat", "In",  "Out",   "Drops",
                                          "Errors",   "CPU",       "RSS"};
static_assert(std::size(kHealthColumns) == HealthModel::ColumnCount);

HealthModel::HealthModel(QObject* parent) : RowTableModel(kHealthColumns, parent) {}

void HealthModel::set_modules(const std::vector<ModuleView>& modules) {
  replace_rows(modules, [](const ModuleView& a, const ModuleView& b) {
    return a.health.name == b.health.name;
  });
}

QVariant HealthModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid)) return {};
  const auto& m = rows_[std::size_t(index.row())];
  const auto& h = m.health;
  const bool running = h.state == shm::ModuleState::running;
  if (role == StaleRole) return m.stale;
  if (role == Qt::BackgroundRole) {
    if (m.stale) return QBrush(kStale);
    if (h.state == shm::ModuleState::failed || h.state == shm::ModuleState::backoff)
      return QBrush(kWarn);
    return {};
  }
  if (role == Qt::TextAlignmentRole) {
    return index.column() >= Pid && index.column() != State
               ? QVariant(Qt::AlignRight | Qt::AlignVCenter)
               : QVariant();
  }
  if (role == Qt::ToolTipRole) {
    switch (index.column()) {
      case Drops: return drops_text(m, true);
      case Heartbeat:
        return m.stale ? QStringLiteral("no heartbeat for %1: the module is stuck or stopped")
                             .arg(format_duration(m.heartbeat_age_s))
                       : QStringLiteral("modules heartbeat every second");
      case Errors:
        return QStringLiteral("%1 errors recorded; the last ones are listed below")
            .arg(h.errors_total);
      case Name:
      case Type: {
        // The module's named values (what it self_reports beyond the counters).
        if (h.values.empty()) return {};
        QString text = QStringLiteral("values:");
        for (const auto& v : h.values)
          text += QStringLiteral("\n%1 = %2").arg(qs(v.name)).arg(v.value);
        if (h.values_offered > h.values.size())
          text += QStringLiteral("\n(%1 of %2 kept)").arg(h.values.size()).arg(h.values_offered);
        return text;
      }
      default: return {};
    }
  }
  const bool sort = role == SortRole;
  if (role != Qt::DisplayRole && !sort) return {};
  switch (index.column()) {
    case Name: return qs(h.name);
    case Type: return qs(h.type);
    case Pid: return sort || h.pid ? QVariant(h.pid) : QVariant(QStringLiteral("–"));
    case State:
      return m.stale && !sort ? QStringLiteral("%1 (stale)").arg(qs(to_string(h.state)))
                              : qs(to_string(h.state));
    case Uptime:
      return sort      ? QVariant(m.uptime_s)
             : running ? QVariant(format_duration(m.uptime_s))
                       : QVariant(QStringLiteral("–"));
    case Restarts: return h.restarts;
    case Heartbeat:
      if (sort) return m.heartbeat_age_s;
      return h.last_heartbeat_ms ? QVariant(QStringLiteral("%1 ago").arg(
                                       format_duration(std::max(0.0, m.heartbeat_age_s))))
                                 : QVariant(QStringLiteral("never"));
    case InRate:
      return sort ? QVariant(m.in_per_s) : QVariant(format_rate(m.in_per_s) + QStringLiteral("/s"));
    case OutRate:
      return sort ? QVariant(m.out_per_s)
                  : QVariant(format_rate(m.out_per_s) + QStringLiteral("/s"));
    case Drops:
      return sort ? QVariant(qulonglong(total_drops(m)))
                  : QVariant(total_drops(m) || counter(m, shm::Counter::lines_invalid)
                                 ? drops_text(m, false)
                                 : QStringLiteral("0"));
    case Errors: return qulonglong(counter(m, shm::Counter::errors));
    case Cpu:
      return sort ? QVariant(m.cpu_percent)
                  : QVariant(QStringLiteral("%1 %").arg(m.cpu_percent, 0, 'f', 1));
    case Rss:
      return sort ? QVariant(qulonglong(counter(m, shm::Counter::rss_bytes)))
                  : QVariant(format_bytes(double(counter(m, shm::Counter::rss_bytes))));
  }
  return {};
}

// --- ErrorModel ----------------------------------------------------------------

constexpr const char* kErrorColumns[] = {"Time", "Reason", "Input"};
static_assert(std::size(kErrorColumns) == ErrorModel::ColumnCount);

ErrorModel::ErrorModel(QObject* parent) : RowTableModel(kErrorColumns, parent) {}

void ErrorModel::set_errors(const std::vector<shm::HealthSnapshot::Error>& errors) {
  std::vector<shm::HealthSnapshot::Error> newest_first(errors.rbegin(), errors.rend());
  const bool same =
      newest_first.size() == rows_.size() &&
      std::equal(newest_first.begin(), newest_first.end(), rows_.begin(),
                 [](const auto& a, const auto& b) {
                   return a.time_ms == b.time_ms && a.text == b.text && a.reason == b.reason;
                 });
  if (same) return;
  beginResetModel();
  rows_ = std::move(newest_first);
  endResetModel();
}

QVariant ErrorModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid)) return {};
  const auto& e = rows_[std::size_t(index.row())];
  if (role == SortRole && index.column() == Time) return qlonglong(e.time_ms);
  if (role != Qt::DisplayRole && role != Qt::ToolTipRole && role != SortRole) return {};
  switch (index.column()) {
    case Time:
      return QDateTime::fromMSecsSinceEpoch(e.time_ms).toString(QStringLiteral("HH:mm:ss.zzz"));
    case Reason: return qs(e.reason);
    case Text: return qs(e.text);
  }
  return {};
}

// --- RingModel -----------------------------------------------------------------

constexpr const char* kRingColumns[] = {"Destination", "Source",   "Fill",
                                        "Used",        "Capacity", "Batches",
                                        "Throughput",  "Dropped",  "Skipped"};
static_assert(std::size(kRingColumns) == RingModel::ColumnCount);

RingModel::RingModel(QObject* parent) : RowTableModel(kRingColumns, parent) {}

void RingModel::set_rings(const std::vector<RingView>& rings) {
  replace_rows(rings, [](const RingView& a, const RingView& b) {
    return a.destination == b.destination && a.source == b.source;
  });
}

QVariant RingModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid)) return {};
  const auto& r = rows_[std::size_t(index.row())];
  const auto used = double(r.stats.write_pos - r.stats.read_pos);
  if (role == FillRole && index.column() == Fill) return r.fill();
  if (role == HistoryRole && index.column() == Throughput) {
    return QVariant::fromValue(
        QList<double>(r.bytes_per_s_history.begin(), r.bytes_per_s_history.end()));
  }
  if (role == Qt::ToolTipRole && index.column() == Skipped) {
    return QStringLiteral(
        "times the inspector fell a whole ring behind and skipped ahead (the agent is not "
        "affected)");
  }
  if (role == Qt::TextAlignmentRole && index.column() >= Used)
    return QVariant(Qt::AlignRight | Qt::AlignVCenter);
  const bool sort = role == SortRole;
  if (role != Qt::DisplayRole && !sort) return {};
  switch (index.column()) {
    case Destination: return qs(r.destination);
    case Source: return qs(r.source);
    case Fill:
      return sort ? QVariant(r.fill())
                  : QVariant(QStringLiteral("%1 %").arg(r.fill() * 100, 0, 'f', 1));
    case Used: return sort ? QVariant(used) : QVariant(format_bytes(used));
    case Capacity:
      return sort ? QVariant(qulonglong(r.stats.capacity))
                  : QVariant(format_bytes(double(r.stats.capacity)));
    case Records:
      return sort ? QVariant(r.records_per_s)
                  : QVariant(format_rate(r.records_per_s) + QStringLiteral("/s"));
    case Throughput:
      return sort ? QVariant(r.bytes_per_s)
                  : QVariant(format_bytes(r.bytes_per_s) + QStringLiteral("/s"));
    case Dropped: return qulonglong(r.stats.records_dropped);
    case Skipped: return qulonglong(r.observer_overruns);
  }
  return {};
}

// --- InstanceModel ------------------------------------------------------------

constexpr const char* kInstanceColumns[] = {"Instance", "State",        "Supervisor",
                                            "Modules",  "Destinations", "Instance and state"};
static_assert(std::size(kInstanceColumns) == InstanceModel::ColumnCount);

InstanceModel::InstanceModel(QObject* parent) : RowTableModel(kInstanceColumns, parent) {}

void InstanceModel::set_instances(std::vector<InstanceInfo> instances) {
  replace_rows(std::move(instances),
               [](const InstanceInfo& a, const InstanceInfo& b) { return a.name == b.name; });
}

int InstanceModel::row_of(const QString& name) const {
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    if (qs(rows_[i].name) == name) return int(i);
  }
  return -1;
}

QVariant InstanceModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid)) return {};
  const auto& i = rows_[std::size_t(index.row())];
  if (role == Qt::ToolTipRole) return i.message.empty() ? QVariant() : QVariant(qs(i.message));
  if (role == Qt::ForegroundRole && i.state != InstanceState::running)
    return QBrush(QColor(120, 120, 120));
  if (role != Qt::DisplayRole && role != SortRole) return {};
  switch (index.column()) {
    case Name: return qs(i.name);
    case State: return qs(to_string(i.state));
    case Pid: return i.supervisor_pid;
    case Modules: return qulonglong(i.modules);
    case Destinations: {
      QStringList names;
      for (const auto& d : i.destinations) names << qs(d);
      return names.join(QStringLiteral(", "));
    }
    case Picker: {
      QString text = qs(i.name) + QStringLiteral(" — ") + qs(to_string(i.state));
      if (i.state == InstanceState::running && i.supervisor_pid)
        text += QStringLiteral(", pid %1").arg(i.supervisor_pid);
      if (i.modules) text += QStringLiteral(", %1 modules").arg(i.modules);
      return text;
    }
  }
  return {};
}

}  // namespace bucky3::inspector
