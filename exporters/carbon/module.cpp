// carbon_client glue: encoder + push machinery (TCP, one write per batch). docs/CARBON.md.
#include "exporters/carbon/module.h"

#include <stdexcept>

#include "common/log.h"
#include "daemon/runtime/runtime.h"
#include "exporters/carbon/plaintext.h"
#include "exporters/push/push.h"
#include "exporters/push/transports.h"

namespace bucky3::carbon {

int run_carbon_client(runtime::ModuleRuntime& runtime) {
  const auto& module = runtime.module();
  const auto& options = module.options;
  PathOptions path_options;
  path_options.name_mapping = options.get_string_list("name_mapping");
  if (options.has("prefix")) path_options.prefix = options.get_string("prefix");
  path_options.tags = options.get_bool("tags");

  push::PushOptions push_options;
  push_options.buffer_limit = module.buffer_limit;
  push::Pusher pusher(runtime.io(), push_options,
                      {[&runtime] { runtime.resume_consuming(); },
                       [&runtime](shm::Counter c, std::uint64_t n) { runtime.count(c, n); },
                       [&runtime](std::string_view reason, std::string_view text) {
                         runtime.record_error(reason, text);
                       }});
  if (auto* out = runtime.replay_output()) {
    pusher.add_host(push::make_replay_transport(*out));
  } else {
    for (const auto& text : options.get_string_list("remote_hosts")) {
      auto target = push::split_host_port(text, 2003);
      if (!target) throw std::runtime_error("remote_hosts: cannot parse " + text);
      pusher.add_host(push::make_tcp_transport(runtime.io(), *target, "carbon"));
    }
  }

  std::uint64_t values_dropped = 0, lines_too_long = 0;
  const auto encode = [&](const shm::DecodedBatch& batch) {
    std::string lines;
    EncodeStats stats;
    // A metric without a timestamp gets the time this destination read it.
    const auto now_s = runtime::wall_clock_ms() / 1000;
    for (const auto& metric : batch.metrics)
      append_lines(metric, path_options, now_s, lines, stats);
    values_dropped += stats.values_dropped;
    lines_too_long += stats.lines_too_long;
    if (stats.metrics_dropped) runtime.count(shm::Counter::drops_other, stats.metrics_dropped);
    std::vector<push::PayloadPtr> payloads;
    // One write per batch; metrics_out counts the batch's metrics that have a line.
    if (!lines.empty())
      payloads.push_back(
          push::make_payload(std::move(lines), batch.metrics.size() - stats.metrics_dropped));
    return payloads;
  };

  runtime.consume([&](std::string_view source, const shm::DecodedBatch& batch) {
    return pusher.offer(source, [&] { return encode(batch); });
  });
  runtime.on_self_report([&](std::vector<Metric>& metrics) {
    std::vector<std::byte> record;
    shm::encode_batch(metrics, record);
    shm::DecodedBatch batch;
    if (shm::decode_batch(record, batch)) return;
    pusher.send_untracked(encode(batch));
  });
  runtime.add_self_report_values([&](std::vector<Field>& values) {
    values.push_back({"values_dropped_nonfinite", static_cast<std::int64_t>(values_dropped)});
    values.push_back({"lines_dropped_too_long", static_cast<std::int64_t>(lines_too_long)});
  });
  log::info("carbon_client: Graphite plaintext to ", pusher.host_count(),
            runtime.replay_output() ? " replay output" : " host(s)");
  return runtime.run();
}

}  // namespace bucky3::carbon
