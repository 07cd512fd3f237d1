// Reading .b3dump captures into the inspector; see dump_stream.h.
#include "inspector/dump_stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <QSocketNotifier>
#include <cerrno>
#include <cstring>
#include <vector>

namespace bucky3::inspector {

DumpStream::DumpStream(QObject* parent) : QObject(parent) {}

DumpStream::~DumpStream() {
  if (owned_ && fd_ >= 0) ::close(fd_);
}

bool DumpStream::open(const QString& path) {
  if (path == QStringLiteral("-")) return open_fd(STDIN_FILENO, QStringLiteral("stdin"), false);
  const int fd = ::open(path.toLocal8Bit().constData(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    name_ = path;
    ended_ = failed_ = true;
    error_ = QStringLiteral("cannot open %1: %2")
                 .arg(path, QString::fromLocal8Bit(std::strerror(errno)));
    return false;
  }
  return open_fd(fd, path, true);
}

bool DumpStream::open_fd(int fd, const QString& name, bool owned) {
  fd_ = fd;
  owned_ = owned;
  name_ = name;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    std::vector<std::byte> buffer(1 << 20);
    while (!ended_) {
      const auto n = ::read(fd_, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        reader_.set_error(std::string("cannot read: ") + std::strerror(errno));
        drain();
        break;
      }
      if (n == 0) {
        end_of_input();
        break;
      }
      reader_.feed(std::span(buffer.data(), std::size_t(n)));
      drain();
    }
    return !failed_ || records_ > 0;
  }
  // A pipe: read what is there whenever it is readable; read(2) then never blocks.
  notifier_ = new QSocketNotifier(fd_, QSocketNotifier::Read, this);
  connect(notifier_, &QSocketNotifier::activated, this, &DumpStream::read_available);
  return true;
}

void DumpStream::read_available() {
  std::vector<std::byte> buffer(256 * 1024);
  const auto n = ::read(fd_, buffer.data(), buffer.size());
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n < 0) {
    reader_.set_error(std::string("cannot read: ") + std::strerror(errno));
    drain();
  } else if (n == 0) {
    end_of_input();
  } else {
    reader_.feed(std::span(buffer.data(), std::size_t(n)));
    drain();
  }
  if (ended_ && notifier_) {
    notifier_->setEnabled(false);
    notifier_->deleteLater();
    notifier_ = nullptr;
  }
  emit updated();
}

void DumpStream::end_of_input() {
  reader_.finish();
  drain();
  ended_ = true;
}

void DumpStream::drain() {
  using shm::dump::Reader;
  for (;;) {
    const auto status = reader_.next(item_);
    if (status == Reader::Status::need_more) return;
    if (status == Reader::Status::end) {
      complete_ = true;
      ended_ = true;
      return;
    }
    if (status == Reader::Status::error) {
      failed_ = true;
      ended_ = true;
      error_ = QString::fromStdString(reader_.error());
      return;
    }
    if (const auto* header = std::get_if<shm::dump::Header>(&item_)) {
      header_ = *header;
    } else if (const auto* record = std::get_if<shm::dump::Record>(&item_)) {
      ++records_;
      if (first_ms_ == 0 || record->capture_time_ms < first_ms_)
        first_ms_ = record->capture_time_ms;
      last_ms_ = std::max(last_ms_, record->capture_time_ms);
      if (shm::decode_batch(record->batch, batch_)) {
        ++decode_errors_;
        continue;
      }
      if (handler_)
        handler_(header_ ? std::string_view(header_->ring) : std::string_view(), record->source,
                 batch_, record->batch.size(), record->capture_time_ms);
    } else if (const auto* missed = std::get_if<shm::dump::Missed>(&item_)) {
      missed_ += missed->records;
    }
  }
}

QString DumpStream::status() const {
  QString text = name_;
  if (header_) {
    text += QStringLiteral(" (instance %1, ring %2, host %3)")
                .arg(QString::fromStdString(header_->instance),
                     QString::fromStdString(header_->ring), QString::fromStdString(header_->host));
  }
  text += QStringLiteral(": %1 records").arg(records_);
  if (missed_) text += QStringLiteral(", %1 missed by the capture").arg(missed_);
  if (decode_errors_) text += QStringLiteral(", %1 undecodable").arg(decode_errors_);
  if (failed_)
    return text + QStringLiteral("; ") + error_ + QStringLiteral(" (showing what it holds)");
  if (complete_) return text + QStringLiteral(", complete");
  if (ended_) return text + QStringLiteral("; the input ended");
  return text + (notifier_ ? QStringLiteral(", streaming") : QString());
}

}  // namespace bucky3::inspector
