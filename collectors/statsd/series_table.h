// collectors/statsd/series_table.h — one interval's series (IntervalData): an
// open-addressing table over canonical keys (series_key.h), the line cache, the
// key arena and the per-kind state. The per-line paths are inline here, since
// Aggregator::add_line calls them for every line; growth, rule matching and
// accounting are in series_table.cpp, the output in interval_output.cpp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collectors/statsd/aggregator.h"
#include "collectors/statsd/hash.h"
#include "collectors/statsd/line_parser.h"
#include "collectors/statsd/series_key.h"
#include "collectors/statsd/statistics.h"

namespace bucky3::statsd {

struct Series {
  const char* key;
  std::uint32_t key_len;
  std::uint32_t state;  // index into timers or sets
  std::uint64_t hash;
  double value;  // counter: Σ value/rate; gauge: the value
};

struct Slot {
  std::uint32_t tag;    // high hash bits, to skip most key compares
  std::uint32_t index;  // series index + 1; 0 = empty
};

// A line's bytes without its value ("name,tags:" and "|type|fields"), and its series.
struct CachedLine {
  const char* raw;
  std::uint32_t raw_len;
  std::uint32_t prefix_len;
  std::uint32_t series;
  double weight;  // 1 / the line's sample rate
};

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

// The options and what is derived from them once, shared by every interval.
struct AggregatorConfig {
  AggregatorOptions options;
  std::vector<BinIndex> bin_index;  // one per histogram rule
};

// One interval's series. Keys live in an arena of chunks, so series never
// move their key bytes and a key costs its length plus no allocator header.
class IntervalData {
 public:
  IntervalData(std::shared_ptr<const AggregatorConfig> config, std::int64_t start_ms,
               std::size_t size_hint);

  // Aggregator::recycle(): empties the interval and keeps its memory (tables
  // zeroed, arrays cleared unless over a quarter larger than was used, the key
  // chunks this interval used rewound, the others freed). O(capacity), between
  // receive calls.
  void clear();
  // Starts a new or cleared interval at `start_ms` sized for `size_hint`
  // series, as the constructor does: tables of another size than the hint's
  // are replaced, kept ones are used as they are. O(1) when the sizes match.
  void restart(std::int64_t start_ms, std::size_t size_hint);
  const AggregatorConfig* config() const { return config_.get(); }

  // nullptr when the series is new and max_series is reached.
  Series* find_or_insert(std::string_view key, std::uint64_t hash, const ParsedLine& line) {
    const std::uint32_t tag = static_cast<std::uint32_t>(hash >> 32);
    const std::size_t mask = capacity_ - 1;
    std::size_t i = hash & mask;
    for (;; i = (i + 1) & mask) {
      const Slot slot = slots_.get()[i];
      if (slot.index == 0) break;
      if (slot.tag == tag) {
        Series& s = series_[slot.index - 1];
        if (s.hash == hash && s.key_len == key.size() &&
            std::memcmp(s.key, key.data(), key.size()) == 0) {
          return &s;
        }
      }
    }
    if (series_.size() >= options_->max_series) return nullptr;
    if ((series_.size() + 1) * 4 > capacity_ * 3) {
      grow();
      return find_or_insert(key, hash, line);
    }
    Series s{store_key(key), static_cast<std::uint32_t>(key.size()), 0, hash, 0};
    const SeriesKind kind = key_kind(key.data());
    if (kind == SeriesKind::timer) {
      s.state = static_cast<std::uint32_t>(timers_.size());
      timers_.emplace_back();
      TimerState& timer = timers_.back();
      timer.rule = match_rule(line);
      if (timer.rule >= 0) {
        timer.bins.reset(new Moments[options_->histogram_rules[timer.rule].bins.size()]);
      }
    } else if (kind == SeriesKind::set) {
      s.state = static_cast<std::uint32_t>(sets_.size());
      sets_.emplace_back();
    }
    series_.push_back(s);
    slots_.get()[i] = Slot{tag, static_cast<std::uint32_t>(series_.size())};
    return &series_.back();
  }

  void add_timer_sample(Series& s, double value, double weight) {
    TimerState& t = timers_[s.state];
    t.all.add(value, weight);
    const std::size_t limit = options_->timer_sample_limit;
    if (t.samples.size() < limit) {
      // Start at 8: most timers get a few samples an interval, and 1-2-4-8
      // would be four allocations where this is one.
      if (t.samples.capacity() == 0) t.samples.reserve(std::min<std::size_t>(limit, 8));
      t.samples.push_back(value);
    } else if (limit > 0) {
      // Algorithm R: sample n replaces a kept one with probability limit/n,
      // which keeps every sample seen equally likely to be kept.
      const std::uint64_t j = next_random() % t.all.n;
      if (j < limit) t.samples[j] = value;
    }
    if (t.rule >= 0) {
      if (const auto bin = config_->bin_index[t.rule].bin_of(value))
        t.bins[*bin].add(value, weight);
    }
  }

  // The line cache: a line whose bytes, apart from its value, equal a line
  // seen before in this interval belongs to the same series, so it skips the
  // tag parse, the key and the series lookup. Only single-sample lines without
  // their own timestamp are cached (a timestamp's window moves with now).
  Series* find_cached(std::string_view prefix, std::string_view suffix, std::uint64_t hash,
                      double& weight) const {
    const std::uint32_t tag = static_cast<std::uint32_t>(hash >> 32);
    const std::size_t mask = cache_capacity_ - 1;
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
      const Slot slot = cache_slots_.get()[i];
      if (slot.index == 0) return nullptr;
      if (slot.tag != tag) continue;
      const CachedLine& c = cached_[slot.index - 1];
      if (c.prefix_len == prefix.size() && c.raw_len == prefix.size() + suffix.size() &&
          std::memcmp(c.raw, prefix.data(), prefix.size()) == 0 &&
          std::memcmp(c.raw + prefix.size(), suffix.data(), suffix.size()) == 0) {
        weight = c.weight;
        return const_cast<Series*>(&series_[c.series]);
      }
    }
  }

  void remember(std::string_view prefix, std::string_view suffix, std::uint64_t hash,
                const Series& series, double weight) {
    // Bounded like the series: one series sent with many tag orders or rates
    // must not grow the cache without end.
    if (cached_.size() >= options_->max_series) return;
    if ((cached_.size() + 1) * 4 > cache_capacity_ * 3) grow_cache();
    const std::uint32_t tag = static_cast<std::uint32_t>(hash >> 32);
    const std::size_t mask = cache_capacity_ - 1;
    std::size_t i = hash & mask;
    while (cache_slots_.get()[i].index != 0) i = (i + 1) & mask;
    char* raw = store_bytes(prefix.size() + suffix.size());
    std::memcpy(raw, prefix.data(), prefix.size());
    std::memcpy(raw + prefix.size(), suffix.data(), suffix.size());
    cached_.push_back(CachedLine{raw, static_cast<std::uint32_t>(prefix.size() + suffix.size()),
                                 static_cast<std::uint32_t>(prefix.size()),
                                 static_cast<std::uint32_t>(&series - series_.data()), weight});
    cache_slots_.get()[i] = Slot{tag, static_cast<std::uint32_t>(cached_.size())};
  }

  void apply(Series& s, const Sample& sample, double weight) {
    switch (key_kind(s.key)) {
      case SeriesKind::counter: s.value += sample.value * weight; break;
      case SeriesKind::gauge: s.value = sample.delta ? s.value + sample.value : sample.value; break;
      case SeriesKind::set:
        sets_[s.state].add(hash_bytes(sample.member.data(), sample.member.size()));
        break;
      case SeriesKind::timer: add_timer_sample(s, sample.value, weight); break;
    }
  }

  // The sample a cached line's value text stands for, read as parse_line()
  // would; false when the slow path must judge it (packed, invalid, ...).
  static bool sample_from_text(const Series& s, std::string_view text, Sample& sample) {
    const SeriesKind kind = key_kind(s.key);
    if (kind == SeriesKind::set) {
      // Prefix and suffix are ASCII at the cut, so the line is valid UTF-8
      // exactly when the member is.
      if (text.empty() || text.find(':') != std::string_view::npos || !is_valid_utf8(text)) {
        return false;
      }
      sample.member = text;
      return true;
    }
    if (!parse_value(text, sample.value)) return false;
    sample.delta = kind == SeriesKind::gauge && (text[0] == '+' || text[0] == '-');
    return true;
  }

  std::size_t series() const { return series_.size(); }

  std::size_t memory_bytes() const;

  bool drain(std::vector<Metric>& out, std::size_t max_metrics);
  std::vector<std::pair<std::string, std::size_t>> top_names(std::size_t n) const;

  std::uint64_t cap_drops = 0;
  std::int64_t end_ms = 0;
  std::int64_t start_ms() const { return start_ms_; }

 private:
  static constexpr std::size_t kChunkBytes = 64 * 1024;

  char* store_bytes(std::size_t size) {
    if (size > kChunkBytes / 4) {
      // A rare long key gets its own block and leaves the current chunk be.
      long_keys_.emplace_back(new char[size]);
      arena_bytes_ += size;
      return long_keys_.back().get();
    }
    if (!chunk_ || kChunkBytes - chunk_used_ < size) {
      // A recycled interval's chunks first, then new ones.
      if (chunk_next_ == chunks_.size()) {
        chunks_.emplace_back(new char[kChunkBytes]);
        arena_bytes_ += kChunkBytes;
      }
      chunk_ = chunks_[chunk_next_++].get();
      chunk_used_ = 0;
    }
    char* dst = chunk_ + chunk_used_;
    chunk_used_ += size;
    return dst;
  }

  const char* store_key(std::string_view key) {
    char* dst = store_bytes(key.size());
    std::memcpy(dst, key.data(), key.size());
    return dst;
  }

  void grow_cache();
  void grow();
  int match_rule(const ParsedLine& line) const;

  std::uint64_t next_random() {
    // xorshift64*: the reservoir needs uniform indexes, not secrecy.
    random_ ^= random_ >> 12;
    random_ ^= random_ << 25;
    random_ ^= random_ >> 27;
    return random_ * 0x2545F4914F6CDD1DULL;
  }

  void send_metrics(const Series& s, std::size_t sub, std::vector<Metric>& out);
  Metric base_metric(const KeyView& key, const std::string& default_bucket, MetricKind kind) const;
  std::size_t subs_of(const Series& s) const {
    const SeriesKind kind = key_kind(s.key);
    if (kind != SeriesKind::timer) return 1;
    const TimerState& t = timers_[s.state];
    return options_->percentile_thresholds.size() +
           (t.rule >= 0 ? options_->histogram_rules[t.rule].bins.size() : 0);
  }

  std::shared_ptr<const AggregatorConfig> config_;
  const AggregatorOptions* options_;
  std::int64_t start_ms_;
  std::unique_ptr<Slot, FreeDeleter> slots_;
  std::size_t capacity_ = 0;
  std::vector<Series> series_;
  std::vector<TimerState> timers_;
  std::vector<SetState> sets_;
  std::unique_ptr<Slot, FreeDeleter> cache_slots_;
  std::size_t cache_capacity_ = 0;
  std::vector<CachedLine> cached_;
  std::vector<std::unique_ptr<char[]>> chunks_;     // kChunkBytes each
  std::vector<std::unique_ptr<char[]>> long_keys_;  // one block per key over kChunkBytes / 4
  char* chunk_ = nullptr;                           // the chunk keys are appended to
  std::size_t chunk_next_ = 0;                      // chunks_[chunk_next_] comes after it
  std::size_t chunk_used_ = 0;
  std::size_t arena_bytes_ = 0;
  static constexpr std::uint64_t kRandomSeed = 0x9E3779B97F4A7C15ULL;
  std::uint64_t random_ = kRandomSeed;
  // Drain cursor: series index and the metric within it.
  std::size_t drain_series_ = 0;
  std::size_t drain_sub_ = 0;
};

}  // namespace bucky3::statsd
