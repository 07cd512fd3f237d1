// Open-once, pread-from-zero reader of /proc files; see proc_file.h.
#include "collectors/linux/proc_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace bucky3::linux_stats {

ProcFile::~ProcFile() {
  if (fd_ >= 0) ::close(fd_);
}

ProcFile::ProcFile(ProcFile&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(other.fd_),
      failing_(other.failing_),
      buffer_(std::move(other.buffer_)) {
  other.fd_ = -1;
}

std::optional<std::string_view> ProcFile::read() {
  const auto fail = [this](const char* what) -> std::optional<std::string_view> {
    const int error = errno;
    if (!failing_) {
      log::warning("cannot ", what, " ", path_, ": ", std::strerror(error),
                   "; its metrics are skipped until it can be read");
      failing_ = true;
    }
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    return std::nullopt;
  };
  if (fd_ < 0) {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return fail("open");
  }
  if (buffer_.size() < 4096) buffer_.resize(4096);
  std::size_t total = 0;
  for (;;) {
    if (total == buffer_.size()) buffer_.resize(buffer_.size() * 2);
    const ssize_t n =
        ::pread(fd_, buffer_.data() + total, buffer_.size() - total, static_cast<off_t>(total));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("read");
    }
    if (n == 0) break;
    total += static_cast<std::size_t>(n);
  }
  if (failing_) {
    log::info(path_, " is readable again");
    failing_ = false;
  }
  return std::string_view(buffer_.data(), total);
}

}  // namespace bucky3::linux_stats
