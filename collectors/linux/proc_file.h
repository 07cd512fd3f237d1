// One /proc (or fixture) file kept open and re-read from offset 0 with pread,
// so a collection costs no open/close per file.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace bucky3::linux_stats {

class ProcFile {
 public:
  explicit ProcFile(std::string path) : path_(std::move(path)) {}
  ~ProcFile();
  ProcFile(const ProcFile&) = delete;
  ProcFile& operator=(const ProcFile&) = delete;
  ProcFile(ProcFile&& other) noexcept;
  ProcFile& operator=(ProcFile&&) = delete;

  // The whole file as it is now, valid until the next read(); nullopt when it
  // cannot be opened or read. The first failure is logged, repeats are not
  // until the file has been read again; a failed descriptor is reopened next time.
  std::optional<std::string_view> read();

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  bool failing_ = false;
  // Sized to the largest content seen, so one pread() usually returns it all
  // (seq_file then renders the file once: no tearing between chunks).
  std::string buffer_;
};

}  // namespace bucky3::linux_stats
