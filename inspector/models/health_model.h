// Table models of the health view: modules (one row per health slot), the last
// errors of one module, the rings (fill and throughput), the instances on the host.
#pragma once
#include <QAbstractTableModel>
#include <vector>

#include "inspector/instances.h"
#include "inspector/live_source.h"

namespace bucky3::inspector {

class HealthModel : public QAbstractTableModel {
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
  using QAbstractTableModel::QAbstractTableModel;

  // Same modules as before: dataChanged; other modules: a reset.
  void set_modules(const std::vector<ModuleView>& modules);
  const ModuleView* module(int row) const;

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation,
                      int role = Qt::DisplayRole) const override;

 private:
  std::vector<ModuleView> modules_;
};

// The last errors (at most 16) of one module, newest first.
class ErrorModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column { Time, Reason, Text, ColumnCount };
  using QAbstractTableModel::QAbstractTableModel;

  void set_errors(const std::vector<shm::HealthSnapshot::Error>& errors);

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation,
                      int role = Qt::DisplayRole) const override;

 private:
  std::vector<shm::HealthSnapshot::Error> errors_;  // newest first
};

class RingModel : public QAbstractTableModel {
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
  using QAbstractTableModel::QAbstractTableModel;

  void set_rings(const std::vector<RingView>& rings);

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation,
                      int role = Qt::DisplayRole) const override;

 private:
  std::vector<RingView> rings_;
};

class InstanceModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  // Picker: "default — running, pid 4121, 3 modules", for the toolbar's combo box.
  enum Column { Name, State, Pid, Modules, Destinations, Picker, ColumnCount };
  using QAbstractTableModel::QAbstractTableModel;

  void set_instances(std::vector<InstanceInfo> instances);
  const InstanceInfo* instance(int row) const;
  int row_of(const QString& name) const;  // -1 when absent

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation,
                      int role = Qt::DisplayRole) const override;

 private:
  std::vector<InstanceInfo> instances_;
};

}  // namespace bucky3::inspector
