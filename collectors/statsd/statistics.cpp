// Per-flush timer and histogram arithmetic; see statistics.h and docs/STATSD.md.
#include "collectors/statsd/statistics.h"

#include <charconv>
#include <cmath>

namespace bucky3::statsd {

namespace {

std::vector<Field> summary_fields(double count, double lower, double upper, double sum, double mean,
                                  std::uint64_t n, double m2, double elapsed_s) {
  std::vector<Field> values{{"count", count}, {"count_ps", count / elapsed_s},
                            {"lower", lower}, {"upper", upper},
                            {"mean", mean},   {"sum", sum}};
  if (n > 1) values.push_back({"stdev", std::sqrt(m2 / static_cast<double>(n - 1))});
  return values;
}

}  // namespace

void SetState::grow() {
  std::vector<std::uint64_t> old = std::move(slots);
  slots.assign(std::max<std::size_t>(8, old.size() * 2), 0);
  const std::size_t mask = slots.size() - 1;
  for (std::uint64_t h : old) {
    if (h == 0) continue;
    std::size_t i = h & mask;
    while (slots[i] != 0) i = (i + 1) & mask;
    slots[i] = h;
  }
}

BinIndex::BinIndex(const std::vector<std::pair<std::string, double>>& bins) {
  for (std::size_t i = 0; i < bins.size(); ++i) bounds.emplace_back(bins[i].second, i);
  std::stable_sort(bounds.begin(), bounds.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
}

std::vector<Field> moments_fields(const Moments& m, double elapsed_s) {
  return summary_fields(m.weight, m.min, m.max, m.sum, m.sum / m.n, m.n, m.m2, elapsed_s);
}

std::optional<std::vector<Field>> percentile_fields(TimerState& t, double threshold,
                                                    double elapsed_s) {
  const Moments& all = t.all;
  if (!t.sorted) {
    std::sort(t.samples.begin(), t.samples.end());
    t.sorted = true;
  }
  // ⌊t·n/100⌋, with a nudge so 99.9 % of 1000 is 999 and not 998.
  const auto lowest = [&](std::size_t n) {
    return static_cast<std::size_t>(std::floor(threshold * static_cast<double>(n) / 100 + 1e-9));
  };
  const std::size_t m_kept = t.samples.size();
  const std::size_t k = lowest(m_kept);
  if (k == 0) return std::nullopt;
  double sum = 0;
  for (std::size_t i = 0; i < k; ++i) sum += t.samples[i];
  const double mean = sum / static_cast<double>(k);
  double m2 = 0;
  for (std::size_t i = 0; i < k; ++i) m2 += (t.samples[i] - mean) * (t.samples[i] - mean);
  // Past timer_sample_limit the kept samples are a reservoir: scale the
  // subset to what it stands for; the lowest value is still known exactly.
  const bool exact = m_kept == all.n;
  const double k_all = exact ? static_cast<double>(k) : static_cast<double>(lowest(all.n));
  const double count = k_all * all.weight / static_cast<double>(all.n);
  return summary_fields(count, exact ? t.samples[0] : all.min, t.samples[k - 1],
                        exact ? sum : mean * k_all, mean, k, m2, elapsed_s);
}

std::string shortest(double v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, ec == std::errc{} ? end : buf);
}

}  // namespace bucky3::statsd
