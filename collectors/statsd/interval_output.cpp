// A finished interval's series to Metrics, a few at a time; see series_table.h
// and DESIGN "StatsD" for what each kind emits.
#include <algorithm>

#include "collectors/statsd/series_table.h"

namespace bucky3::statsd {

Metric IntervalData::base_metric(const KeyView& key, const std::string& default_bucket,
                                 MetricKind kind) const {
  Metric m;
  m.bucket = key.bucket.empty() ? default_bucket : std::string(key.bucket);
  m.kind = kind;
  if (key.timestamp_ms != kNoTimestamp) m.timestamp_ms = key.timestamp_ms;
  const char* p = key.tags_begin;
  while (p < key.tags_end) {
    const std::string_view k = get_string(p);
    const std::string_view v = get_string(p);
    m.metadata.push_back(Tag{std::string(k), std::string(v)});
  }
  m.set_tag("name", key.name);
  return m;
}

void IntervalData::send_metrics(const Series& s, std::size_t sub, std::vector<Metric>& out) {
  const KeyView key = decode_key(s.key, s.key_len);
  const double elapsed_s =
      static_cast<double>(std::max<std::int64_t>(end_ms - start_ms_, 1)) / 1000;
  switch (key.kind) {
    case SeriesKind::counter: {
      Metric m = base_metric(key, options_->counters_bucket, MetricKind::counter);
      m.values = {Field{"count", s.value}, Field{"rate", s.value / elapsed_s}};
      out.push_back(std::move(m));
      return;
    }
    case SeriesKind::gauge: {
      Metric m = base_metric(key, options_->gauges_bucket, MetricKind::gauge);
      m.values = {Field{"", s.value}};
      out.push_back(std::move(m));
      return;
    }
    case SeriesKind::set: {
      Metric m = base_metric(key, options_->sets_bucket, MetricKind::set);
      m.values = {Field{"count", static_cast<double>(sets_[s.state].count)}};
      out.push_back(std::move(m));
      return;
    }
    case SeriesKind::timer: break;
  }
  TimerState& t = timers_[s.state];
  const auto& thresholds = options_->percentile_thresholds;
  if (sub < thresholds.size()) {
    const double threshold = thresholds[sub];
    if (t.all.n == 0) return;
    Metric m = base_metric(key, options_->timers_bucket, MetricKind::timer);
    m.set_tag("percentile", shortest(threshold));
    if (threshold >= 100) {
      m.values = moments_fields(t.all, elapsed_s);
    } else if (auto values = percentile_fields(t, threshold, elapsed_s)) {
      m.values = std::move(*values);
    } else {
      return;
    }
    out.push_back(std::move(m));
    return;
  }
  const std::size_t bin = sub - thresholds.size();
  const Moments& b = t.bins[bin];
  if (b.n == 0) return;
  Metric m = base_metric(key, options_->histograms_bucket, MetricKind::histogram);
  m.set_tag("histogram", options_->histogram_rules[t.rule].bins[bin].first);
  m.values = moments_fields(b, elapsed_s);
  out.push_back(std::move(m));
}

bool IntervalData::drain(std::vector<Metric>& out, std::size_t max_metrics) {
  const std::size_t limit = out.size() + max_metrics;
  while (drain_series_ < series_.size() && out.size() < limit) {
    const Series& s = series_[drain_series_];
    const std::size_t subs = subs_of(s);  // 0 for a timer without thresholds or bins
    if (drain_sub_ < subs) send_metrics(s, drain_sub_, out);
    if (++drain_sub_ >= subs) {
      drain_sub_ = 0;
      ++drain_series_;
    }
  }
  return drain_series_ < series_.size();
}

}  // namespace bucky3::statsd
