// bucky3-ring cat: every metric of a .b3dump, as debug_output prints it.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "exporters/debug/format.h"
#include "shm/batch_codec.h"
#include "shm/dump.h"
#include "shm/tool/tool.h"

namespace bucky3::ring_tool {

int run_cat(const std::vector<std::string>& args) {
  const Options options("cat", args, {"--json"}, {});
  if (options.positional().size() != 1) throw UsageError("cat: give one FILE (or - for stdin)");
  const auto& path = options.positional()[0];
  const bool json = options.has("--json");
  int fd = STDIN_FILENO;
  if (path != "-") {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Failure("cat: cannot open " + path + ": " + std::strerror(errno));
  }
  const std::string name = path == "-" ? "stdin" : path;
  shm::dump::FdReader reader(fd);
  shm::dump::Item item;
  shm::DecodedBatch decoded;
  std::string out;
  std::uint64_t record_number = 0;
  int status = 0;
  for (;;) {
    const auto result = reader.next(item);
    if (result == shm::dump::Reader::Status::end) break;
    if (result == shm::dump::Reader::Status::error) {
      std::cout << out << std::flush;
      out.clear();
      std::cerr << "bucky3-ring: cat: " << name << ": " << reader.reader().error() << " ("
                << record_number << " batches printed)\n";
      status = 1;
      break;
    }
    if (const auto* record = std::get_if<shm::dump::Record>(&item)) {
      ++record_number;
      if (const auto error = shm::decode_batch(record->batch, decoded)) {
        std::cout << out << std::flush;
        out.clear();
        std::cerr << "bucky3-ring: cat: " << name << ": batch " << record_number << " (from "
                  << record->source << ") does not decode: " << error->reason << " at byte "
                  << error->offset << '\n';
        status = 1;
        break;
      }
      for (const auto& view : decoded.metrics) {
        if (json) {
          debug_output::append_json_line(view.to_metric(), out);
        } else {
          debug_output::append_text_line(view.to_metric(), out);
        }
      }
      if (out.size() > (1 << 16)) {
        std::cout << out;
        out.clear();
      }
    } else if (const auto* missed = std::get_if<shm::dump::Missed>(&item)) {
      // stderr: stdout stays exactly debug_output's lines.
      std::cerr << "bucky3-ring: cat: " << name << ": the capture missed " << missed->records
                << " records (" << missed->bytes << " bytes) of " << missed->source
                << " here (the producer lapped the observer)\n";
    }
  }
  std::cout << out << std::flush;
  if (fd != STDIN_FILENO) ::close(fd);
  if (!std::cout) {
    std::cerr << "bucky3-ring: cat: cannot write to stdout\n";
    return 1;
  }
  return status;
}

}  // namespace bucky3::ring_tool
