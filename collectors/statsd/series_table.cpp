// The series table's cold paths: setup, growth, histogram rules, accounting; see series_table.h.
#include "collectors/statsd/series_table.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <unordered_map>

namespace bucky3::statsd {

namespace {

// calloc: large zeroed blocks come from fresh pages, so this stays cheap.
std::unique_ptr<Slot, FreeDeleter> zeroed_slots(std::size_t capacity) {
  std::unique_ptr<Slot, FreeDeleter> slots(static_cast<Slot*>(std::calloc(capacity, sizeof(Slot))));
  if (!slots) throw std::bad_alloc();
  return slots;
}

// A table of `capacity` slots holding entries 0..count-1 at their hashes.
template <class HashOf>
std::unique_ptr<Slot, FreeDeleter> rehashed(std::size_t capacity, std::size_t count,
                                            HashOf hash_of) {
  auto slots = zeroed_slots(capacity);
  const std::size_t mask = capacity - 1;
  for (std::size_t idx = 0; idx < count; ++idx) {
    const std::uint64_t hash = hash_of(idx);
    std::size_t i = hash & mask;
    while (slots.get()[i].index != 0) i = (i + 1) & mask;
    slots.get()[i] =
        Slot{static_cast<std::uint32_t>(hash >> 32), static_cast<std::uint32_t>(idx + 1)};
  }
  return slots;
}

}  // namespace

IntervalData::IntervalData(std::shared_ptr<const AggregatorConfig> config, std::int64_t start_ms,
                           std::size_t size_hint)
    : config_(std::move(config)), options_(&config_->options), start_ms_(start_ms) {
  restart(start_ms, size_hint);
}

void IntervalData::restart(std::int64_t start_ms, std::size_t size_hint) {
  start_ms_ = start_ms;
  std::size_t capacity = 16;
  const std::size_t wanted = std::min(size_hint, options_->max_series);
  while (capacity * 3 < wanted * 4 + 4) capacity *= 2;
  if (capacity != capacity_) {
    // Another size than the kept one (or none kept): what a new interval
    // gets; the kept arrays were for another load too.
    slots_ = zeroed_slots(capacity);
    capacity_ = capacity;
    std::vector<Series>().swap(series_);
    std::vector<CachedLine>().swap(cached_);
  }
  if (cache_capacity_ != capacity) {
    cache_slots_ = zeroed_slots(capacity);
    cache_capacity_ = capacity;
  }
  // An eighth over the hint: a load that varies by a few series does not
  // double the arrays in the middle of an interval.
  series_.reserve(wanted + wanted / 8);
  cached_.reserve(wanted + wanted / 8);
}

namespace {

// Empties `v`; keeps its memory unless it is over a quarter more than was used
// (the first interval's, grown by doubling; a burst's).
template <class T>
void empty_keeping_what_was_used(std::vector<T>& v) {
  if (v.capacity() > v.size() + v.size() / 4 + 16) {
    std::vector<T>().swap(v);
  } else {
    v.clear();
  }
}

}  // namespace

void IntervalData::clear() {
  std::memset(slots_.get(), 0, capacity_ * sizeof(Slot));
  std::memset(cache_slots_.get(), 0, cache_capacity_ * sizeof(Slot));
  empty_keeping_what_was_used(series_);
  empty_keeping_what_was_used(cached_);
  empty_keeping_what_was_used(timers_);
  empty_keeping_what_was_used(sets_);
  // The chunks this interval used are about what an interval of the same
  // load needs; the rest go, so a burst's chunks do not stay.
  chunks_.resize(chunk_next_);
  long_keys_.clear();
  chunk_ = nullptr;
  chunk_next_ = 0;
  chunk_used_ = 0;
  arena_bytes_ = chunks_.size() * kChunkBytes;
  random_ = kRandomSeed;
  drain_series_ = 0;
  drain_sub_ = 0;
  cap_drops = 0;
  end_ms = 0;
}

std::size_t IntervalData::memory_bytes() const {
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

void IntervalData::grow_cache() {
  const std::size_t capacity = cache_capacity_ * 2;
  cache_slots_ = rehashed(capacity, cached_.size(), [this](std::size_t idx) {
    // Not kept per line (8 bytes a series): growing is rare, rehashing cheap.
    const CachedLine& c = cached_[idx];
    return line_hash({c.raw, c.prefix_len}, {c.raw + c.prefix_len, c.raw_len - c.prefix_len});
  });
  cache_capacity_ = capacity;
}

void IntervalData::grow() {
  const std::size_t capacity = capacity_ * 2;
  slots_ =
      rehashed(capacity, series_.size(), [this](std::size_t idx) { return series_[idx].hash; });
  capacity_ = capacity;
}

int IntervalData::match_rule(const ParsedLine& line) const {
  const auto& rules = options_->histogram_rules;
  if (rules.empty()) return -1;
  std::vector<Tag> tags;
  tags.reserve(line.tags.size());
  for (const TagView& t : line.tags) tags.push_back(Tag{std::string(t.key), std::string(t.value)});
  for (std::size_t r = 0; r < rules.size(); ++r) {
    if (rules[r].matches && rules[r].matches(line.name, tags)) return static_cast<int>(r);
  }
  return -1;
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

}  // namespace bucky3::statsd
