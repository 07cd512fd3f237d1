// collectors/statsd/options.h — statsd_server's config keys turned into the
// aggregator's and the receiver's options, histogram_bins parsed here: the
// config loader keeps it as YAML (OptionKind::yaml) and knows nothing of bins.
#pragma once
#include "collectors/statsd/aggregator.h"
#include "collectors/statsd/receiver.h"
#include "daemon/config/config.h"

namespace bucky3::statsd {

// One `histogram_bins` rule: the first rule whose match holds gives a series its bins.
struct HistogramBinRule {
  config::Match match;
  std::vector<std::pair<std::string, double>> bins;  // in config order; bound may be +inf
};

// Throw config::ConfigError at the offending node; std::logic_error for options
// of another module type.
std::vector<HistogramBinRule> histogram_bin_rules(const config::ModuleOptions& options);
AggregatorOptions aggregator_options(const config::ModuleOptions& options);
ReceiverOptions receiver_options(const config::ModuleOptions& options);

// The options of a statsd_server with every key at its default: the schema's,
// daemon/config/options.cpp, the one place defaults are written (the structs
// have none). For tests, benchmarks and fuzzers that build the parts directly.
AggregatorOptions default_aggregator_options();
ReceiverOptions default_receiver_options();

}  // namespace bucky3::statsd
