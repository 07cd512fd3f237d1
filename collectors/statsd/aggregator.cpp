// Per-interval StatsD aggregation; see aggregator.h and docs/STATSD.md for the arithmetic.
#include "collectors/statsd/aggregator.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <unordered_map>

namespace bucky3::statsd {

namespace {

// The series kinds. ms, h and d share one: they produce the same metrics.
enum class Kind : std::uint8_t { counter = 0, gauge = 1, set = 2, timer = 3 };

Kind kind_of(SampleType type) {
  switch (type) {
    case SampleType::counter: return Kind::counter;
    case SampleType::gauge: return Kind::gauge;
    case SampleType::set: return Kind::set;
    case SampleType::timer:
    case SampleType::histogram:
    case SampleType::distribution: return Kind::timer;
  }
  return Kind::counter;
}

constexpr std::int64_t kNoTimestamp = std::numeric_limits<std::int64_t>::min();

std::uint64_t load64(const char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
std::uint64_t load32(const char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Folded 64x64->128 multiply: two multiplies per 16 bytes, good enough
// spread for a table indexed by the low bits and tagged by the high ones.
std::uint64_t fold(std::uint64_t a, std::uint64_t b) {
  const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}

std::uint64_t hash_bytes(const char* p, std::size_t n) {
  constexpr std::uint64_t k0 = 0xa0761d6478bd642fULL, k1 = 0xe7037ed1a0b428dbULL,
                          k2 = 0x8ebc6af09c88c6e3ULL;
  std::uint64_t h = k2 ^ n;
  while (n > 16) {
    h = fold(load64(p) ^ k0 ^ h, load64(p + 8) ^ k1);
    p += 16;
    n -= 16;
  }
  std::uint64_t a = 0, b = 0;
  if (n >= 8) {
    a = load64(p);
    b = load64(p + n - 8);  // overlaps `a` when n < 16
  } else if (n >= 4) {
    a = load32(p);
    b = load32(p + n - 4);
  } else if (n > 0) {
    a = (std::uint64_t(std::uint8_t(p[0])) << 16) | (std::uint64_t(std::uint8_t(p[n / 2])) << 8) |
        std::uint8_t(p[n - 1]);
  }
  return fold(fold(a ^ k0 ^ h, b ^ k1), k2 ^ n);
}

// Writes through a raw pointer: the caller sized the buffer for the worst case.
char* put_string(char* out, std::string_view s) {
  std::size_t v = s.size();
  while (v >= 0x80) {
    *out++ = static_cast<char>(0x80 | (v & 0x7f));
    v >>= 7;
  }
  *out++ = static_cast<char>(v);
  if (!s.empty()) std::memcpy(out, s.data(), s.size());  // an empty view may hold nullptr
  return out + s.size();
}

std::string_view get_string(const char*& p) {
  std::size_t len = 0;
  int shift = 0;
  while (static_cast<std::uint8_t>(*p) & 0x80) {
    len |= std::size_t(static_cast<std::uint8_t>(*p) & 0x7f) << shift;
    shift += 7;
    ++p;
  }
  len |= std::size_t(static_cast<std::uint8_t>(*p)) << shift;
  ++p;
  const std::string_view s(p, len);
  p += len;
  return s;
}

// The canonical series key: kind, timestamp, bucket override, name, sorted tags.
// Equal series give equal bytes, so one hash and one memcmp identify a series.
struct KeyView {
  Kind kind;
  std::int64_t timestamp_ms;
  std::string_view bucket;
  std::string_view name;
  const char* tags_begin;
  const char* tags_end;
};

// The first byte is the kind, with this bit set when 8 bytes of timestamp
// follow: most series have none and keep the 8 bytes.
constexpr std::uint8_t kHasTimestamp = 0x80;

Kind key_kind(const char* key) {
  return static_cast<Kind>(static_cast<std::uint8_t>(key[0]) & ~kHasTimestamp);
}

KeyView decode_key(const char* key, std::size_t len) {
  KeyView view;
  view.kind = key_kind(key);
  const char* p = key + 1;
  view.timestamp_ms = kNoTimestamp;
  if (static_cast<std::uint8_t>(key[0]) & kHasTimestamp) {
    std::memcpy(&view.timestamp_ms, p, sizeof(std::int64_t));
    p += sizeof(std::int64_t);
  }
  view.bucket = get_string(p);
  view.name = get_string(p);
  view.tags_begin = p;
  view.tags_end = key + len;
  return view;
}

// count, sum, extremes and Welford's running mean and M2 of a sample stream.
struct Moments {
  std::uint64_t n = 0;
  double weight = 0;  // Σ 1/sample_rate: the count the samples stand for
  double sum = 0;
  double min = 0;
  double max = 0;
  double mean = 0;
  double m2 = 0;

  void add(double v, double w) {
    if (n == 0) {
      min = max = v;
    } else {
      min = std::min(min, v);
      max = std::max(max, v);
    }
    ++n;
    weight += w;
    sum += v;
    const double delta = v - mean;
    mean += delta / static_cast<double>(n);
    m2 += delta * (v - mean);
  }
};

struct TimerState {
  std::vector<double> samples;  // every sample, or a uniform reservoir past the limit
  Moments all;                  // exact over every sample
  std::unique_ptr<Moments[]> bins;
  int rule = -1;  // histogram rule index, -1: none matched
  bool sorted = false;
};

// Distinct set members by 64-bit hash (a collision needs ~4e9 members to be
// likely). Open addressing; 0 marks an empty slot.
struct SetState {
  std::vector<std::uint64_t> slots;
  std::size_t count = 0;

  void add(std::uint64_t h) {
    if (h == 0) h = 1;
    if ((count + 1) * 2 > slots.size()) grow();
    const std::size_t mask = slots.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      if (slots[i] == h) return;
      if (slots[i] == 0) {
        slots[i] = h;
        ++count;
        return;
      }
    }
  }
  void grow() {
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
};

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

std::uint64_t line_hash(std::string_view prefix, std::string_view suffix) {
  return fold(hash_bytes(prefix.data(), prefix.size()) ^ 0x9E3779B97F4A7C15ULL,
              hash_bytes(suffix.data(), suffix.size()));
}

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

// A sorted copy of a rule's bounds, to find "the smallest bound strictly above".
struct BinIndex {
  std::vector<std::pair<double, std::size_t>> bounds;  // bound, bin index in the rule
};

std::string shortest(double v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, ec == std::errc{} ? end : buf);
}

}  // namespace

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
               std::size_t size_hint)
      : config_(std::move(config)), options_(&config_->options), start_ms_(start_ms) {
    std::size_t capacity = 16;
    const std::size_t wanted = std::min(size_hint, options_->max_series);
    while (capacity * 3 < wanted * 4 + 4) capacity *= 2;
    // calloc: large zeroed blocks come from fresh pages, so this stays cheap.
    slots_.reset(static_cast<Slot*>(std::calloc(capacity, sizeof(Slot))));
    if (!slots_) throw std::bad_alloc();
    capacity_ = capacity;
    series_.reserve(wanted);
    cache_slots_.reset(static_cast<Slot*>(std::calloc(capacity, sizeof(Slot))));
    if (!cache_slots_) throw std::bad_alloc();
    cache_capacity_ = capacity;
    cached_.reserve(wanted);
  }

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
    const Kind kind = key_kind(key.data());
    if (kind == Kind::timer) {
      s.state = static_cast<std::uint32_t>(timers_.size());
      timers_.emplace_back();
      TimerState& timer = timers_.back();
      timer.rule = match_rule(line);
      if (timer.rule >= 0) {
        timer.bins.reset(new Moments[options_->histogram_rules[timer.rule].bins.size()]);
      }
    } else if (kind == Kind::set) {
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
    if (t.rule >= 0 && value >= 0) {
      const auto& bounds = config_->bin_index[t.rule].bounds;
      const auto it = std::upper_bound(
          bounds.begin(), bounds.end(), value,
          [](double v, const std::pair<double, std::size_t>& b) { return v < b.first; });
      if (it != bounds.end()) t.bins[it->second].add(value, weight);
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
      case Kind::counter: s.value += sample.value * weight; break;
      case Kind::gauge: s.value = sample.delta ? s.value + sample.value : sample.value; break;
      case Kind::set:
        sets_[s.state].add(hash_bytes(sample.member.data(), sample.member.size()));
        break;
      case Kind::timer: add_timer_sample(s, sample.value, weight); break;
    }
  }

  // The sample a cached line's value text stands for, read as parse_line()
  // would; false when the slow path must judge it (packed, invalid, ...).
  static bool sample_from_text(const Series& s, std::string_view text, Sample& sample) {
    const Kind kind = key_kind(s.key);
    if (kind == Kind::set) {
      // Prefix and suffix are ASCII at the cut, so the line is valid UTF-8
      // exactly when the member is.
      if (text.empty() || text.find(':') != std::string_view::npos || !is_valid_utf8(text)) {
        return false;
      }
      sample.member = text;
      return true;
    }
    if (!parse_value(text, sample.value)) return false;
    sample.delta = kind == Kind::gauge && (text[0] == '+' || text[0] == '-');
    return true;
  }

  std::size_t series() const { return series_.size(); }

  std::size_t memory_bytes() const {
    std::size_t bytes = capacity_ * sizeof(Slot) + series_.capacity() * sizeof(Series) +
                        cache_capacity_ * sizeof(Slot) + cached_.capacity() * sizeof(CachedLine) +
                        timers_.capacity() * sizeof(TimerState) +
                        sets_.capacity() * sizeof(SetState) + arena_bytes_;
    for (const TimerState& t : timers_) {
      bytes += t.samples.capacity() * sizeof(double);
      if (t.rule >= 0) bytes += options_->histogram_rules[t.rule].bins.size() * sizeof(Moments);
    }
    for (const SetState& s : sets_) bytes += s.slots.capacity() * sizeof(std::uint64_t);
    return bytes;
  }

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
      chunks_.emplace_back(new char[size]);
      arena_bytes_ += size;
      return chunks_.back().get();
    }
    if (!chunk_ || kChunkBytes - chunk_used_ < size) {
      chunks_.emplace_back(new char[kChunkBytes]);
      arena_bytes_ += kChunkBytes;
      chunk_ = chunks_.back().get();
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

  void grow_cache() {
    const std::size_t capacity = cache_capacity_ * 2;
    std::unique_ptr<Slot, FreeDeleter> slots(
        static_cast<Slot*>(std::calloc(capacity, sizeof(Slot))));
    if (!slots) throw std::bad_alloc();
    const std::size_t mask = capacity - 1;
    for (std::size_t idx = 0; idx < cached_.size(); ++idx) {
      // Not kept per line (8 bytes a series): growing is rare, rehashing cheap.
      const CachedLine& c = cached_[idx];
      const std::uint64_t hash =
          line_hash({c.raw, c.prefix_len}, {c.raw + c.prefix_len, c.raw_len - c.prefix_len});
      std::size_t i = hash & mask;
      while (slots.get()[i].index != 0) i = (i + 1) & mask;
      slots.get()[i] =
          Slot{static_cast<std::uint32_t>(hash >> 32), static_cast<std::uint32_t>(idx + 1)};
    }
    cache_slots_ = std::move(slots);
    cache_capacity_ = capacity;
  }

  void grow() {
    const std::size_t capacity = capacity_ * 2;
    std::unique_ptr<Slot, FreeDeleter> slots(
        static_cast<Slot*>(std::calloc(capacity, sizeof(Slot))));
    if (!slots) throw std::bad_alloc();
    const std::size_t mask = capacity - 1;
    for (std::size_t idx = 0; idx < series_.size(); ++idx) {
      const std::uint64_t hash = series_[idx].hash;
      std::size_t i = hash & mask;
      while (slots.get()[i].index != 0) i = (i + 1) & mask;
      slots.get()[i] =
          Slot{static_cast<std::uint32_t>(hash >> 32), static_cast<std::uint32_t>(idx + 1)};
    }
    slots_ = std::move(slots);
    capacity_ = capacity;
  }

  int match_rule(const ParsedLine& line) const {
    const auto& rules = options_->histogram_rules;
    if (rules.empty()) return -1;
    std::vector<Tag> tags;
    tags.reserve(line.tags.size());
    for (const TagView& t : line.tags)
      tags.push_back(Tag{std::string(t.key), std::string(t.value)});
    for (std::size_t r = 0; r < rules.size(); ++r) {
      if (rules[r].matches && rules[r].matches(line.name, tags)) return static_cast<int>(r);
    }
    return -1;
  }

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
    const Kind kind = key_kind(s.key);
    if (kind != Kind::timer) return 1;
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
  std::vector<std::unique_ptr<char[]>> chunks_;
  char* chunk_ = nullptr;  // the chunk keys are appended to
  std::size_t chunk_used_ = 0;
  std::size_t arena_bytes_ = 0;
  std::uint64_t random_ = 0x9E3779B97F4A7C15ULL;
  // Drain cursor: series index and the metric within it.
  std::size_t drain_series_ = 0;
  std::size_t drain_sub_ = 0;
};

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
    case Kind::counter: {
      Metric m = base_metric(key, options_->counters_bucket, MetricKind::counter);
      m.values = {Field{"count", s.value}, Field{"rate", s.value / elapsed_s}};
      out.push_back(std::move(m));
      return;
    }
    case Kind::gauge: {
      Metric m = base_metric(key, options_->gauges_bucket, MetricKind::gauge);
      m.values = {Field{"", s.value}};
      out.push_back(std::move(m));
      return;
    }
    case Kind::set: {
      Metric m = base_metric(key, options_->sets_bucket, MetricKind::set);
      m.values = {Field{"count", static_cast<double>(sets_[s.state].count)}};
      out.push_back(std::move(m));
      return;
    }
    case Kind::timer: break;
  }
  TimerState& t = timers_[s.state];
  const auto& thresholds = options_->percentile_thresholds;
  auto stats = [&](double count, double lower, double upper, double sum, double mean,
                   std::uint64_t n, double m2) {
    std::vector<Field> values{{"count", count}, {"count_ps", count / elapsed_s},
                              {"lower", lower}, {"upper", upper},
                              {"mean", mean},   {"sum", sum}};
    if (n > 1) values.push_back({"stdev", std::sqrt(m2 / static_cast<double>(n - 1))});
    return values;
  };
  if (sub < thresholds.size()) {
    const double threshold = thresholds[sub];
    const Moments& all = t.all;
    if (all.n == 0) return;
    Metric m = base_metric(key, options_->timers_bucket, MetricKind::timer);
    m.set_tag("percentile", shortest(threshold));
    if (threshold >= 100) {
      m.values = stats(all.weight, all.min, all.max, all.sum, all.sum / all.n, all.n, all.m2);
      out.push_back(std::move(m));
      return;
    }
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
    if (k == 0) return;
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
    m.values = stats(count, exact ? t.samples[0] : all.min, t.samples[k - 1],
                     exact ? sum : mean * k_all, mean, k, m2);
    out.push_back(std::move(m));
    return;
  }
  const std::size_t bin = sub - thresholds.size();
  const Moments& b = t.bins[bin];
  if (b.n == 0) return;
  Metric m = base_metric(key, options_->histograms_bucket, MetricKind::histogram);
  m.set_tag("histogram", options_->histogram_rules[t.rule].bins[bin].first);
  m.values = stats(b.weight, b.min, b.max, b.sum, b.sum / b.n, b.n, b.m2);
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

std::vector<std::pair<std::string, std::size_t>> IntervalData::top_names(std::size_t n) const {
  std::unordered_map<std::string_view, std::size_t> by_name;
  for (const Series& s : series_) ++by_name[decode_key(s.key, s.key_len).name];
  std::vector<std::pair<std::string_view, std::size_t>> all(by_name.begin(), by_name.end());
  const auto more = [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  };
  const std::size_t count = std::min(n, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(count), all.end(), more);
  std::vector<std::pair<std::string, std::size_t>> top;
  for (std::size_t i = 0; i < count; ++i)
    top.emplace_back(std::string(all[i].first), all[i].second);
  return top;
}

Aggregator::Aggregator(AggregatorOptions options, std::int64_t now_ms) {
  auto config = std::make_shared<AggregatorConfig>();
  config->options = std::move(options);
  for (const HistogramRule& rule : config->options.histogram_rules) {
    BinIndex bins;
    for (std::size_t i = 0; i < rule.bins.size(); ++i)
      bins.bounds.emplace_back(rule.bins[i].second, i);
    // Stable: of two bins with one bound, the first listed takes the values.
    std::stable_sort(bins.bounds.begin(), bins.bounds.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    config->bin_index.push_back(std::move(bins));
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
  auto next = std::make_unique<IntervalData>(config_, now_ms, size_hint_);
  current_->end_ms = now_ms;
  std::swap(next, current_);
  return std::make_unique<Interval>(std::move(next));
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

  // A varint length takes at most 10 bytes; the buffer only ever grows.
  std::size_t worst = 1 + sizeof timestamp + 20 + parsed_.bucket.size() + parsed_.name.size();
  for (const TagView& tag : parsed_.tags) worst += 20 + tag.key.size() + tag.value.size();
  if (key_.size() < worst) key_.resize(worst);
  char* out = key_.data();
  const std::uint8_t timestamp_flag = timestamp == kNoTimestamp ? 0 : kHasTimestamp;
  *out++ = 0;  // the kind, set per sample below
  if (timestamp_flag) {
    std::memcpy(out, &timestamp, sizeof timestamp);
    out += sizeof timestamp;
  }
  out = put_string(out, parsed_.bucket);
  out = put_string(out, parsed_.name);
  for (const TagView& tag : parsed_.tags) {
    out = put_string(out, tag.key);
    out = put_string(out, tag.value);
  }
  const std::string_view key(key_.data(), std::size_t(out - key_.data()));

  const double weight = 1 / parsed_.sample_rate;
  bool dropped = false;
  int last_kind = -1;
  std::uint64_t hash = 0;
  for (const Sample& sample : parsed_.samples) {
    const Kind kind = kind_of(sample.type);
    if (static_cast<int>(kind) != last_kind) {
      key_[0] = static_cast<char>(static_cast<std::uint8_t>(kind) | timestamp_flag);
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
