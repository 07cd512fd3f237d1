// A .b3dump capture read into the inspector: a file read at once, or a pipe
// (stdin: `ssh server bucky3-ring dump -o - | bucky3-inspector -`) read as data
// arrives, without blocking the window. Decodes each record and hands it on.
#pragma once
#include <QObject>
#include <QString>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "shm/batch_codec.h"
#include "shm/dump.h"

class QSocketNotifier;

namespace bucky3::inspector {

class DumpStream : public QObject {
  Q_OBJECT
 public:
  // ring = the destination the dump observed, source = the record's source module.
  using BatchHandler = std::function<void(std::string_view ring, std::string_view source,
                                          const shm::DecodedBatch& batch, std::size_t bytes,
                                          std::int64_t capture_ms)>;
  explicit DumpStream(QObject* parent = nullptr);
  ~DumpStream() override;

  void set_batch_handler(BatchHandler handler) { handler_ = std::move(handler); }
  // A path, or "-" for stdin. A regular file is read whole before this returns;
  // anything else (a pipe, a terminal) is read as it becomes readable. False
  // when it cannot be opened (`status()` says why).
  bool open(const QString& path);
  // Reads from `fd` (not closed by us unless `owned`), as open() does.
  bool open_fd(int fd, const QString& name, bool owned);

  const QString& name() const { return name_; }
  const std::optional<shm::dump::Header>& header() const { return header_; }
  bool streaming() const { return notifier_ != nullptr; }  // still reading a pipe
  bool ended() const { return ended_; }                    // the input ended (cleanly or not)
  bool failed() const { return failed_; }                  // truncated or corrupt
  std::uint64_t records() const { return records_; }
  std::uint64_t missed_records() const { return missed_; }
  std::uint64_t decode_errors() const { return decode_errors_; }
  std::int64_t first_capture_ms() const { return first_ms_; }
  std::int64_t last_capture_ms() const { return last_ms_; }
  // "dump.b3dump from host a, ring prometheus_exporter: 120 records, complete",
  // or what went wrong and where.
  QString status() const;

 signals:
  void updated();  // records were handed on, or the status changed

 private:
  void read_available();
  void drain();
  void end_of_input();

  BatchHandler handler_;
  QString name_;
  int fd_ = -1;
  bool owned_ = false;
  QSocketNotifier* notifier_ = nullptr;
  shm::dump::Reader reader_;
  shm::dump::Item item_;
  shm::DecodedBatch batch_;
  std::optional<shm::dump::Header> header_;
  bool ended_ = false, failed_ = false, complete_ = false;
  QString error_;
  std::uint64_t records_ = 0, missed_ = 0, decode_errors_ = 0;
  std::int64_t first_ms_ = 0, last_ms_ = 0;
};

}  // namespace bucky3::inspector
