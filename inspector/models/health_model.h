// Table models of the health view: modules (one row per health slot), the last
// errors of one module, the rings (fill and throughput), the instances on the host.
#pragma once
#include <vector>

#include "inspector/instances.h"
#include "inspector/live_source.h"
#include "inspector/models/table_model.h"

namespace bucky3::inspector {

class HealthModel : public RowTableModel<ModuleView> {
  Q_OBJECT
 public:
  enum Column {
    Name,
    Type,
    Pid,
    State,
    Uptime,
    Restarts,
    Heartbeat,
    InRate,
    OutRate,
    Drops,
    Errors,
    Cpu,
    Rss,
    ColumnCount
  };
  explicit HealthModel(QObject* parent = nullptr);

  // Same modules as before: dataChanged; other modules: a reset.
  void set_modules(const std::vector<ModuleView>& modules);
  const ModuleView* module(int row) const { return at(row); }

  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
};

// The last errors (at most 16) of one module, newest first.
class ErrorModel : public RowTableModel<shm::HealthSnapshot::Error> {
  Q_OBJECT
 public:
  enum Column { Time, Reason, Text, ColumnCount };
  explicit ErrorModel(QObject* parent = nullptr);

  void set_errors(const std::vector<shm::HealthSnapshot::Error>& errors);

  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
};

class RingModel : public RowTableModel<RingView> {
  Q_OBJECT
 public:
  enum Column {
    Destination,
    Source,
    Fill,
    Used,
    Capacity,
    Records,
    Throughput,
    Dropped,
    Skipped,
    ColumnCount
  };
  explicit RingModel(QObject* parent = nullptr);

  // Same rings as before: dataChanged; other rings: a reset.
  void set_rings(const std::vector<RingView>& rings);

  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
};

class InstanceModel : public RowTableModel<InstanceInfo> {
  Q_OBJECT
 public:
  // Picker: "default — running, pid 4121, 3 modules", for the toolbar's combo box.
  enum Column { Name, State, Pid, Modules, Destinations, Picker, ColumnCount };
  explicit InstanceModel(QObject* parent = nullptr);

  // Same instances as before: dataChanged; others: a reset.
  void set_instances(std::vector<InstanceInfo> instances);
  const InstanceInfo* instance(int row) const { return at(row); }
  int row_of(const QString& name) const;  // -1 when absent

  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
};

}  // namespace bucky3::inspector
