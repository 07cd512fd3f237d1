// statsd_server's options; see options.h.
#include "collectors/statsd/options.h"

#include <limits>
#include <memory>

#include "daemon/config/scalars.h"

namespace bucky3::statsd {

namespace {

// A module with no keys set: every option at its schema default.
const config::ModuleOptions& defaults() {
  static const config::ModuleOptions options =
      config::load_config_text("modules:\n  statsd:\n    type: statsd_server\n", "<defaults>")
          .modules.front()
          .options;
  return options;
}

}  // namespace

std::vector<HistogramBinRule> histogram_bin_rules(const config::ModuleOptions& options) {
  std::vector<HistogramBinRule> out;
  for (const auto& item :
       options.get_yaml("histogram_bins").items("a list of {match, bins} rules")) {
    HistogramBinRule rule;
    bool has_bins = false;
    for (const auto& e : item.entries()) {
      if (e.key == "match") {
        rule.match = config::parse_match(e.value);
      } else if (e.key == "bins") {
        has_bins = true;
        for (const auto& b : e.value.entries()) {
          const std::string& bound_text = b.value.scalar("a number or .inf");
          double bound = std::numeric_limits<double>::infinity();
          if (!config::is_infinity(bound_text)) {
            const auto number = config::parse_number(bound_text);
            if (!number) b.value.fail("must be a number or .inf, got " + config::quote(bound_text));
            if (*number <= 0) {
              b.value.fail("must be greater than 0, got " + config::format_number(*number));
            }
            bound = *number;
          }
          rule.bins.emplace_back(b.key_node.scalar("a bin name"), bound);
        }
        if (rule.bins.empty()) e.value.fail("must name at least one bin");
      } else {
        e.key_node.fail("unknown histogram_bins key; expected match or bins");
      }
    }
    if (!has_bins) item.fail(item.path() + ".bins", "is required");
    out.push_back(std::move(rule));
  }
  return out;
}

AggregatorOptions aggregator_options(const config::ModuleOptions& o) {
  AggregatorOptions options;
  options.percentile_thresholds = o.get_double_list("percentile_thresholds");
  options.timers_bucket = o.get_string("timers_bucket");
  options.histograms_bucket = o.get_string("histograms_bucket");
  options.sets_bucket = o.get_string("sets_bucket");
  options.gauges_bucket = o.get_string("gauges_bucket");
  options.counters_bucket = o.get_string("counters_bucket");
  options.max_series = static_cast<std::size_t>(o.get_int("max_series"));
  options.timer_sample_limit = static_cast<std::size_t>(o.get_int("timer_sample_limit"));
  options.timestamp_window_s = o.get_seconds("timestamp_window");
  for (auto& rule : histogram_bin_rules(o)) {
    HistogramRule out;
    out.bins = std::move(rule.bins);
    const auto match = std::make_shared<const config::Match>(std::move(rule.match));
    const std::string bucket = options.histograms_bucket;
    // Runs once per new histogram series: the name joins the tags as DESIGN's `name` tag.
    out.matches = [match, bucket](std::string_view name, const std::vector<Tag>& tags) {
      Metric probe;
      probe.bucket = bucket;
      probe.metadata = tags;
      probe.set_tag("name", name);
      return match->matches(probe);
    };
    options.histogram_rules.push_back(std::move(out));
  }
  return options;
}

ReceiverOptions receiver_options(const config::ModuleOptions& o) {
  ReceiverOptions options;
  options.udp_host = o.get_string("local_host");
  if (o.has("tcp_host")) options.tcp_host = o.get_string("tcp_host");
  if (o.has("local_socket")) options.unix_socket = o.get_string("local_socket");
  options.unix_socket_mode = static_cast<unsigned>(o.get_int("local_socket_mode"));
  options.socket_buffer = o.get_size("socket_buffer");
  options.max_datagram_size = o.get_size("max_datagram_size");
  options.tcp_max_connections = static_cast<std::size_t>(o.get_int("tcp_max_connections"));
  options.tcp_max_line_length = o.get_size("tcp_max_line_length");
  return options;
}

AggregatorOptions default_aggregator_options() {
  return aggregator_options(defaults());
}

ReceiverOptions default_receiver_options() {
  return receiver_options(defaults());
}

}  // namespace bucky3::statsd
