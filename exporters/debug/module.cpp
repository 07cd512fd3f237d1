// debug_output module: one line per metric on stdout, flushed before the read
// position moves, so a kill -9 loses nothing it took from a ring.
#include "exporters/debug/module.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ostream>

#include "common/log.h"
#include "daemon/runtime/runtime.h"
#include "exporters/debug/format.h"

namespace bucky3::debug_output {

namespace {

// Writes all of `text` to stdout and flushes; false when stdout is gone.
// Under `bucky3-ring replay --output` the lines go to that stream instead.
bool write_stdout(const std::string& text, std::ostream* replay_output) {
  if (replay_output) {
    replay_output->write(text.data(), static_cast<std::streamsize>(text.size()));
    replay_output->flush();
    return static_cast<bool>(*replay_output);
  }
  if (!text.empty() && std::fwrite(text.data(), 1, text.size(), stdout) != text.size())
    return false;
  return std::fflush(stdout) == 0;
}

}  // namespace

int run_debug_output(runtime::ModuleRuntime& runtime) {
  const auto format_name = runtime.module().options.get_string("format");
  const Format format = format_name == "json" ? Format::json : Format::text;
  std::string out;
  const auto append = [&](const Metric& metric) {
    if (format == Format::json) {
      append_json_line(metric, out);
    } else {
      append_text_line(metric, out);
    }
  };
  runtime.consume([&](std::string_view, const shm::DecodedBatch& batch) {
    out.clear();
    for (const auto& view : batch.metrics) append(view.to_metric());
    if (!write_stdout(out, runtime.replay_output())) {
      // Leave the batch in the ring: a restarted module prints it again.
      log::error("cannot write to stdout: ", std::strerror(errno));
      runtime.request_stop();
      return false;
    }
    runtime.count(shm::Counter::metrics_out, batch.metrics.size());
    runtime.count(shm::Counter::batches_out, 1);
    runtime.count(shm::Counter::bytes_out, out.size());
    return true;
  });
  runtime.on_self_report([&](std::vector<Metric>& metrics) {
    out.clear();
    for (const auto& metric : metrics) append(metric);
    write_stdout(out, runtime.replay_output());
  });
  return runtime.run();
}

}  // namespace bucky3::debug_output
