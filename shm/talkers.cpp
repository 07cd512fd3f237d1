// Top-talker statistics; see talkers.h.
#include "shm/talkers.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace bucky3::shm {

namespace {

constexpr int hll_bits = 10;
constexpr std::size_t hll_registers = std::size_t{1} << hll_bits;

// splitmix64's finaliser: spreads FNV's weak low bits over the whole word, which
// the HyperLogLog needs (it takes the register from the top bits, the rank from the rest).
std::uint64_t mix(std::uint64_t h) {
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

std::uint64_t fnv(std::uint64_t h, std::string_view s) {
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  // A separator, so ("ab","c") and ("a","bc") differ.
  h ^= 0xff;
  h *= 0x100000001b3ull;
  return h;
}
constexpr std::uint64_t fnv_basis = 0xcbf29ce484222325ull;

// The batch codec's size of one metric (docs/SHM.md, "Batch codec").
std::uint64_t encoded_bytes(const MetricView& m) {
  std::uint64_t size = 12 + (m.timestamp_ms ? 8 : 0) + 4 + m.bucket.size();
  for (const auto& tag : m.metadata) size += 8 + tag.key.size() + tag.value.size();
  for (const auto& field : m.values) size += 4 + field.name.size() + 1 + 8;
  return size;
}

}  // namespace

void DistinctCounter::add(std::uint64_t hash) {
  hash = mix(hash);
  if (registers_.empty()) {
    const auto it = std::lower_bound(exact_.begin(), exact_.end(), hash);
    if (it != exact_.end() && *it == hash) return;
    if (exact_.size() < exact_limit) {
      exact_.insert(it, hash);
      return;
    }
    // Overflow: move what we know into the sketch and keep counting there.
    registers_.assign(hll_registers, 0);
    const auto known = std::move(exact_);
    exact_ = {};
    for (const auto h : known) {
      const auto index = h >> (64 - hll_bits);
      const auto rank = static_cast<std::uint8_t>(std::countl_zero((h << hll_bits) | 1) + 1);
      registers_[index] = std::max(registers_[index], rank);
    }
  }
  const auto index = hash >> (64 - hll_bits);
  // `| 1` keeps countl_zero below 64 - hll_bits + 1 for an all-zero remainder.
  const auto rank = static_cast<std::uint8_t>(std::countl_zero((hash << hll_bits) | 1) + 1);
  registers_[index] = std::max(registers_[index], rank);
}

std::uint64_t DistinctCounter::count() const {
  if (registers_.empty()) return exact_.size();
  const double m = static_cast<double>(hll_registers);
  double sum = 0;
  std::size_t zeros = 0;
  for (const auto r : registers_) {
    sum += std::ldexp(1.0, -static_cast<int>(r));
    if (r == 0) ++zeros;
  }
  const double alpha = 0.7213 / (1.0 + 1.079 / m);
  double estimate = alpha * m * m / sum;
  // Small range: linear counting is the better estimate while registers are empty.
  if (estimate <= 2.5 * m && zeros > 0) estimate = m * std::log(m / static_cast<double>(zeros));
  // Never below what the exact phase had counted.
  return std::max<std::uint64_t>(static_cast<std::uint64_t>(std::llround(estimate)),
                                 exact_limit + 1);
}

std::optional<TalkerOrder> parse_talker_order(std::string_view text) {
  if (text == "series") return TalkerOrder::series;
  if (text == "metrics") return TalkerOrder::metrics;
  if (text == "bytes") return TalkerOrder::bytes;
  return std::nullopt;
}

std::string_view to_string(TalkerOrder order) {
  switch (order) {
    case TalkerOrder::series: return "series";
    case TalkerOrder::metrics: return "metrics";
    case TalkerOrder::bytes: return "bytes";
  }
  return "?";
}

TopTalkers::TopTalkers(const TalkerOptions& options) {
  names_.capacity = std::max<std::size_t>(1, options.max_names);
  tag_keys_.capacity = std::max<std::size_t>(1, options.max_tag_keys);
}

void TopTalkers::clear() {
  const auto names = names_.capacity, keys = tag_keys_.capacity;
  names_ = Table{};
  tag_keys_ = Table{};
  names_.capacity = names;
  tag_keys_.capacity = keys;
  series_ = DistinctCounter{};
  metrics_ = bytes_ = batches_ = 0;
}

TopTalkers::Entry& TopTalkers::Table::find_or_add(const std::string& key,
                                                  std::uint64_t& random_state) {
  if (const auto it = index.find(key); it != index.end()) return entries[it->second];
  std::size_t slot = entries.size();
  if (entries.size() >= capacity) {
    // Approximate least-frequently-seen: the smallest of 8 random entries.
    slot = SIZE_MAX;
    for (int i = 0; i < 8; ++i) {
      random_state ^= random_state << 13;
      random_state ^= random_state >> 7;
      random_state ^= random_state << 17;
      const auto candidate = static_cast<std::size_t>(random_state % entries.size());
      if (slot == SIZE_MAX || entries[candidate].talker.metrics < entries[slot].talker.metrics) {
        slot = candidate;
      }
    }
    index.erase(entries[slot].talker.key);
    entries[slot] = Entry{};
    ++evicted;
  } else {
    entries.emplace_back();
  }
  entries[slot].talker.key = key;
  index.emplace(key, slot);
  return entries[slot];
}

void TopTalkers::add(const DecodedBatch& batch, std::int64_t now_ms) {
  ++batches_;
  for (const auto& metric : batch.metrics) {
    std::uint64_t series_hash = fnv(fnv_basis, metric.bucket);
    const std::string_view* name = nullptr;
    for (const auto& tag : metric.metadata) {
      series_hash = fnv(fnv(series_hash, tag.key), tag.value);
      if (tag.key == "name") name = &tag.value;
    }
    const auto size = encoded_bytes(metric);
    ++metrics_;
    bytes_ += size;
    series_.add(series_hash);

    key_.assign(metric.bucket);
    if (name) {
      key_.append(" name=");
      key_.append(*name);
    }
    auto& entry = names_.find_or_add(key_, random_state_);
    entry.series.add(series_hash);
    entry.talker.metrics += 1;
    entry.talker.bytes += size;
    entry.talker.last_seen_ms = now_ms;

    for (const auto& tag : metric.metadata) {
      key_.assign(tag.key);
      auto& key_entry = tag_keys_.find_or_add(key_, random_state_);
      key_entry.series.add(series_hash);
      key_entry.values.add(fnv(fnv_basis, tag.value));
      key_entry.talker.metrics += 1;
      key_entry.talker.bytes += 8 + tag.key.size() + tag.value.size();
      key_entry.talker.last_seen_ms = now_ms;
    }
  }
}

std::vector<Talker> TopTalkers::Table::top(TalkerOrder order, std::size_t n) const {
  std::vector<Talker> all;
  all.reserve(entries.size());
  for (const auto& entry : entries) {
    Talker t = entry.talker;
    t.series = entry.series.count();
    t.values = entry.values.count();
    t.estimated = entry.series.estimated() || entry.values.estimated();
    all.push_back(std::move(t));
  }
  const auto value = [order](const Talker& t) {
    switch (order) {
      case TalkerOrder::series: return t.series;
      case TalkerOrder::metrics: return t.metrics;
      case TalkerOrder::bytes: return t.bytes;
    }
    return t.metrics;
  };
  const auto before = [&](const Talker& a, const Talker& b) {
    if (value(a) != value(b)) return value(a) > value(b);
    return a.key < b.key;
  };
  n = std::min(n, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(), before);
  all.resize(n);
  return all;
}

std::vector<Talker> TopTalkers::top_names(TalkerOrder order, std::size_t n) const {
  return names_.top(order, n);
}

std::vector<Talker> TopTalkers::top_tag_keys(TalkerOrder order, std::size_t n) const {
  return tag_keys_.top(order, n);
}

}  // namespace bucky3::shm
