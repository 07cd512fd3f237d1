// The Aggregator: a datagram's lines into the current interval's series, the
// line cache in front of the parser, and rotation. The parts: hash.h and
// series_key.h (keys), series_table.{h,cpp} (the table), statistics.{h,cpp}
// (timer and histogram stats), interval_output.cpp (series to Metrics);
// docs/STATSD.md for the arithmetic.
#include "collectors/statsd/aggregator.h"

#include <cmath>
#include <cstring>

#include "collectors/statsd/hash.h"
#include "collectors/statsd/series_key.h"
#include "collectors/statsd/series_table.h"

namespace bucky3::statsd {

Aggregator::Aggregator(AggregatorOptions options, std::int64_t now_ms) {
  auto config = std::make_shared<AggregatorConfig>();
  config->options = std::move(options);
  for (const HistogramRule& rule : config->options.histogram_rules) {
    config->bin_index.emplace_back(rule.bins);
  }
  config_ = std::move(config);
  current_ = std::make_unique<IntervalData>(config_, now_ms, 0);
}

Aggregator::~Aggregator() = default;

std::size_t Aggregator::series() const {
  return current_->series();
}
std::size_t Aggregator::memory_bytes() const {
  return current_->memory_bytes();
}

std::unique_ptr<Aggregator::Interval> Aggregator::rotate(std::int64_t now_ms) {
  size_hint_ = current_->series();
  std::unique_ptr<IntervalData> next;
  if (spare_) {
    next = std::move(spare_);
    next->restart(now_ms, size_hint_);
  } else {
    next = std::make_unique<IntervalData>(config_, now_ms, size_hint_);
  }
  current_->end_ms = now_ms;
  std::swap(next, current_);
  return std::make_unique<Interval>(std::move(next));
}

void Aggregator::recycle(std::unique_ptr<Interval> drained) {
  // One spare is all rotate() needs; another aggregator's interval has other options.
  if (!drained || !drained->data_ || spare_ || drained->data_->config() != config_.get()) return;
  drained->data_->clear();
  spare_ = std::move(drained->data_);
}

void Aggregator::add_datagram(std::string_view payload, std::int64_t now_ms,
                              const InvalidLineHandler& on_invalid) {
  while (!payload.empty()) {
    const void* nl = std::memchr(payload.data(), '\n', payload.size());
    const std::size_t len =
        nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - payload.data())
           : payload.size();
    std::string_view line = payload.substr(0, len);
    payload.remove_prefix(nl ? len + 1 : len);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) add_line(line, now_ms, on_invalid);
  }
}

void Aggregator::add_line(std::string_view line, std::int64_t now_ms,
                          const InvalidLineHandler& on_invalid) {
  ++stats_.lines;
  // Fast path: the line, cut around its value, was seen before.
  std::string_view prefix, suffix;
  std::uint64_t cut_hash = 0;
  // memchr for the name (~20 bytes), a plain loop for the value: a few bytes
  // do not repay memchr's setup.
  const char* const begin = line.data();
  const char* const end = begin + line.size();
  const char* colon = end;
  if (config_->options.line_cache) {
    if (const void* found = std::memchr(begin, ':', line.size())) {
      colon = static_cast<const char*>(found);
    }
  }
  const char* bar = colon;
  while (bar < end && *bar != '|') ++bar;
  if (bar < end) {
    const std::size_t value_begin = static_cast<std::size_t>(colon - begin) + 1;
    const std::size_t bar_pos = static_cast<std::size_t>(bar - begin);
    prefix = line.substr(0, value_begin);
    suffix = line.substr(bar_pos);
    cut_hash = line_hash(prefix, suffix);
    double weight;
    if (Series* series = current_->find_cached(prefix, suffix, cut_hash, weight)) {
      Sample sample;
      if (IntervalData::sample_from_text(*series, line.substr(value_begin, bar_pos - value_begin),
                                         sample)) {
        current_->apply(*series, sample, weight);
        return;
      }
    }
  }

  if (const auto error = parse_line(line, parsed_)) {
    ++stats_.invalid;
    if (on_invalid) on_invalid(*error, line);
    return;
  }
  if (parsed_.kind == LineKind::service_check) {
    ++stats_.service_checks;
    return;
  }
  if (parsed_.kind == LineKind::event) {
    ++stats_.events;
    return;
  }
  std::int64_t timestamp = kNoTimestamp;
  if (parsed_.timestamp_ms) {
    const double window_ms = config_->options.timestamp_window_s * 1000;
    if (std::abs(static_cast<double>(*parsed_.timestamp_ms - now_ms)) > window_ms) {
      ++stats_.out_of_window;
      return;
    }
    timestamp = *parsed_.timestamp_ms;
  }

  const std::string_view key = encode_key(parsed_, timestamp, key_);

  const double weight = 1 / parsed_.sample_rate;
  bool dropped = false;
  int last_kind = -1;
  std::uint64_t hash = 0;
  for (const Sample& sample : parsed_.samples) {
    const SeriesKind kind = kind_of(sample.type);
    if (static_cast<int>(kind) != last_kind) {
      set_key_kind(key_, kind, timestamp);
      hash = hash_bytes(key.data(), key.size());
      last_kind = static_cast<int>(kind);
    }
    Series* series = current_->find_or_insert(key, hash, parsed_);
    if (!series) {
      dropped = true;
      continue;
    }
    current_->apply(*series, sample, weight);
    if (parsed_.samples.size() == 1 && timestamp == kNoTimestamp && !prefix.empty()) {
      current_->remember(prefix, suffix, cut_hash, *series, weight);
    }
  }
  if (dropped) {
    ++stats_.series_cap_drops;
    ++current_->cap_drops;
  }
}

Aggregator::Interval::Interval(std::unique_ptr<IntervalData> data) : data_(std::move(data)) {}
Aggregator::Interval::~Interval() = default;
bool Aggregator::Interval::drain(std::vector<Metric>& out, std::size_t max_metrics) {
  return data_->drain(out, max_metrics);
}
std::vector<std::pair<std::string, std::size_t>> Aggregator::Interval::top_names(
    std::size_t n) const {
  return data_->top_names(n);
}
std::uint64_t Aggregator::Interval::series_cap_drops() const {
  return data_->cap_drops;
}
std::size_t Aggregator::Interval::series() const {
  return data_->series();
}
std::int64_t Aggregator::Interval::start_ms() const {
  return data_->start_ms();
}
std::int64_t Aggregator::Interval::end_ms() const {
  return data_->end_ms;
}

}  // namespace bucky3::statsd
