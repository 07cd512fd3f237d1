// Test support: owning Metrics turned into the MetricViews a destination reads
// from a ring (through the real batch codec), and a one-line way to write a metric.
#pragma once
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "shm/batch_codec.h"
#include "shm/metric.h"

namespace bucky3::test {

// Keeps the record alive as long as the views into it.
struct DecodedMetrics {
  std::vector<std::byte> record;
  shm::DecodedBatch batch;
  const shm::MetricView& operator[](std::size_t i) const { return batch.metrics.at(i); }
};

inline DecodedMetrics decode(const std::vector<Metric>& metrics) {
  DecodedMetrics out;
  shm::encode_batch(metrics, out.record);
  if (const auto error = shm::decode_batch(out.record, out.batch))
    throw std::runtime_error(error->reason);
  return out;
}

inline Metric metric(std::string bucket, std::vector<Tag> tags, std::vector<Field> values,
                     std::optional<std::int64_t> timestamp_ms = std::nullopt) {
  Metric m;
  m.bucket = std::move(bucket);
  m.metadata = std::move(tags);
  normalize_metadata(m.metadata);
  m.values = std::move(values);
  m.timestamp_ms = timestamp_ms;
  return m;
}

}  // namespace bucky3::test
