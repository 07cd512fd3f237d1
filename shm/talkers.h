// Top talkers of a ring: which metric names and tag keys bring the most series,
// metrics and bytes, and when each was last seen. Fed decoded batches; bounded
// memory whatever arrives. Shared by `bucky3-ring top` and the inspector.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "shm/batch_codec.h"

namespace bucky3::shm {

// Distinct 64-bit hashes: exact up to `exact_limit`, then a HyperLogLog of 1024
// one-byte registers (standard error about 3 %). At most ~1 KiB whatever the count.
class DistinctCounter {
 public:
  static constexpr std::size_t exact_limit = 128;
  void add(std::uint64_t hash);
  std::uint64_t count() const;
  bool estimated() const { return !registers_.empty(); }

 private:
  std::vector<std::uint64_t> exact_;     // sorted, until it would pass exact_limit
  std::vector<std::uint8_t> registers_;  // HyperLogLog once exact_ overflowed
};

struct TalkerOptions {
  std::size_t max_names = 4096;     // metric names followed at once
  std::size_t max_tag_keys = 1024;  // tag keys followed at once
};

struct Talker {
  // A metric name: the bucket, followed by " name=<value>" when the metric has a
  // `name` tag (StatsD's metric name, a collector's device). A tag key: the key.
  std::string key;
  std::uint64_t series = 0;   // distinct series (bucket + every tag) seen with it
  std::uint64_t metrics = 0;  // metrics seen
  // Bytes it took in the batch encoding: for a name, its metrics' encoded size;
  // for a tag key, the encoded size of that tag (key, value, two lengths).
  std::uint64_t bytes = 0;
  std::uint64_t values = 0;  // tag keys only: distinct values
  std::int64_t last_seen_ms = 0;
  bool estimated = false;  // series/values past the exact limit (HyperLogLog)
};

enum class TalkerOrder { series, metrics, bytes };
std::optional<TalkerOrder> parse_talker_order(std::string_view text);  // "series", ...
std::string_view to_string(TalkerOrder order);

class TopTalkers {
 public:
  explicit TopTalkers(const TalkerOptions& options = {});

  // Counts every metric of `batch` as seen at `now_ms`.
  void add(const DecodedBatch& batch, std::int64_t now_ms);

  // The `n` largest by `order` (ties: the key), largest first.
  std::vector<Talker> top_names(TalkerOrder order, std::size_t n) const;
  std::vector<Talker> top_tag_keys(TalkerOrder order, std::size_t n) const;

  std::uint64_t metrics() const { return metrics_; }
  std::uint64_t bytes() const { return bytes_; }
  std::uint64_t series() const { return series_.count(); }
  std::uint64_t batches() const { return batches_; }
  // When a table is full, a new key replaces the smallest (by metrics) of 8
  // entries picked at random, so heavy talkers stay while a flood of one-off
  // names churns; these count the replaced entries.
  std::uint64_t names_evicted() const { return names_.evicted; }
  std::uint64_t tag_keys_evicted() const { return tag_keys_.evicted; }
  void clear();

 private:
  struct Entry {
    Talker talker;
    DistinctCounter series, values;
  };
  struct Table {
    std::size_t capacity = 0;
    std::vector<Entry> entries;
    std::unordered_map<std::string, std::size_t> index;  // key -> entries[i]
    std::uint64_t evicted = 0;
    Entry& find_or_add(const std::string& key, std::uint64_t& random_state);
    std::vector<Talker> top(TalkerOrder order, std::size_t n) const;
  };
  Table names_, tag_keys_;
  DistinctCounter series_;
  std::uint64_t metrics_ = 0, bytes_ = 0, batches_ = 0;
  std::uint64_t random_state_ = 0x9e3779b97f4a7c15ull;
  std::string key_;  // reused
};

}  // namespace bucky3::shm
