// fuzz/fuzz_config_tree.cpp — config interpolation and validation over YAML trees
// built from the fuzzer's bytes (no yaml-cpp parser: its 0.7 hangs on some text,
// see fuzz/ci-skip), at most 8 levels deep and 400 nodes, with keys and values
// drawn mostly from the real schema. Every tree must give a Config or a
// ConfigError; anything else is a bug. Also interpolate() on raw text.
#include <fuzzer/FuzzedDataProvider.h>
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "daemon/config/config.h"
#include "daemon/config/interpolate.h"
#include "daemon/config/tree.h"

namespace {

using namespace bucky3::config;

constexpr int kMaxDepth = 8;
constexpr int kMaxNodes = 400;

// Keys of every schema plus the global and top-level ones, and values that
// reach past the type checks.
const std::vector<std::string>& words() {
  static const std::vector<std::string> list = [] {
    std::vector<std::string> out = {"instance",
                                    "shm_group",
                                    "modules",
                                    "type",
                                    "inactive",
                                    "destinations",
                                    "log_level",
                                    "flush_interval",
                                    "randomize_startup",
                                    "metadata",
                                    "buffer_limit",
                                    "chunk_size",
                                    "self_report",
                                    "add_timestamps",
                                    "filters",
                                    "ring_size",
                                    "match",
                                    "bucket",
                                    "name",
                                    "drop",
                                    "set_metadata",
                                    "remove_metadata",
                                    "bins",
                                    "username",
                                    "password",
                                    "true",
                                    "false",
                                    "0",
                                    "1",
                                    "-1",
                                    "0.1",
                                    "0.05",
                                    "10",
                                    "1e308",
                                    ".inf",
                                    "-.inf",
                                    ".nan",
                                    "8MiB",
                                    "1KiB",
                                    "99999999999GiB",
                                    "127.0.0.1:8125",
                                    "[::1]:8125",
                                    "127.0.0.1:0",
                                    "host:99999",
                                    "${HOSTNAME}",
                                    "${X}",
                                    "${X:-d}",
                                    "${UNSET}",
                                    "${UNSET:-}",
                                    "$$",
                                    "${",
                                    "$",
                                    "json",
                                    "text",
                                    "udp",
                                    "http",
                                    "debug",
                                    "warning",
                                    "^a",
                                    "(",
                                    "[a-",
                                    "a{99999}",
                                    "0660",
                                    "0999",
                                    "http://127.0.0.1:9090/api/v1/write",
                                    "https://x",
                                    "ftp://x",
                                    "Content-Type",
                                    "X-Ok",
                                    "root",
                                    "nogroup",
                                    "statsd",
                                    "out",
                                    "health",
                                    "lock",
                                    "",
                                    "a b",
                                    "UPPER"};
    for (const auto type : known_types()) {
      out.emplace_back(type);
      for (const auto& spec : module_schema(type)) out.emplace_back(spec.key);
    }
    return out;
  }();
  return list;
}

template <typename List>
std::string pick(FuzzedDataProvider& data, const List& list) {
  return std::string(list[data.ConsumeIntegralInRange<std::size_t>(0, list.size() - 1)]);
}

class TreeBuilder {
 public:
  explicit TreeBuilder(FuzzedDataProvider& data) : data_(data) {}

  YAML::Node scalar() {
    ++nodes_;
    if (data_.ConsumeBool()) return YAML::Node(pick(data_, words()));
    return YAML::Node(data_.ConsumeRandomLengthString(64));
  }

  YAML::Node node(int depth) {
    if (nodes_ >= kMaxNodes || depth >= kMaxDepth || data_.remaining_bytes() == 0) return scalar();
    switch (data_.ConsumeIntegralInRange(0, 4)) {
      case 0: return scalar();
      case 1: {
        ++nodes_;
        return YAML::Node(YAML::NodeType::Null);
      }
      case 2: {
        ++nodes_;
        YAML::Node list(YAML::NodeType::Sequence);
        const int n = data_.ConsumeIntegralInRange(0, 6);
        for (int i = 0; i < n; ++i) list.push_back(node(depth + 1));
        return list;
      }
      default: return map(depth);
    }
  }

  YAML::Node map(int depth) {
    ++nodes_;
    YAML::Node out(YAML::NodeType::Map);
    const int n = data_.ConsumeIntegralInRange(0, 6);
    for (int i = 0; i < n && nodes_ < kMaxNodes; ++i) {
      const auto key = scalar();
      out[key.Scalar()] = node(depth + 1);
    }
    return out;
  }

  // A root shaped like a config most of the time: a map with modules, each a
  // map with a known type.
  YAML::Node root() {
    if (data_.ConsumeIntegralInRange(0, 7) == 0) return node(0);
    YAML::Node top = map(1);
    YAML::Node modules(YAML::NodeType::Map);
    const int n = data_.ConsumeIntegralInRange(0, 4);
    for (int i = 0; i < n && nodes_ < kMaxNodes; ++i) {
      YAML::Node module = map(2);
      if (data_.ConsumeBool()) module["type"] = pick(data_, known_types());
      modules[data_.ConsumeBool() ? std::string("m") + char('a' + i) : scalar().Scalar()] = module;
    }
    top["modules"] = modules;
    return top;
  }

 private:
  FuzzedDataProvider& data_;
  int nodes_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  FuzzedDataProvider data(bytes, size);
  const std::string x_value = data.ConsumeRandomLengthString(32);
  const EnvLookup env = [&](std::string_view name) -> std::optional<std::string> {
    if (name == "X") return x_value;
    if (name == "HOSTNAME") return std::string("fuzzhost");
    return std::nullopt;
  };
  try {
    interpolate(data.ConsumeRandomLengthString(128), env);
  } catch (const InterpolationError&) {
  }
  TreeBuilder builder(data);
  const YAML::Node root = builder.root();
  try {
    const Config config = load_config_tree(root, "fuzz.yaml", env);
    bucky3::Metric metric;
    metric.bucket = "stats_counters";
    metric.set_tag("name", "fuzz");
    for (const auto& module : config.modules) {
      bucky3::Metric copy = metric;
      apply_filters(module.filters, copy);
    }
  } catch (const ConfigError&) {
  }
  return 0;
}
