// A YAML value handed to a module as it was written (OptionKind::yaml): scalars
// already interpolated, every node with its file position and key path, so the
// module parses its own structures and reports errors exactly as the loader does.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace bucky3::config {

class ConfigNode {
 public:
  enum class Kind { null, scalar, list, map };
  struct Entry;

  // Defined below Entry: clang needs Entry complete where the vector of
  // entries may be destroyed (an exception in a constructor).
  ConfigNode();
  // The loader builds nodes; a module only reads them.
  ConfigNode(Kind kind, std::string file, int line, int col, std::string path);

  Kind kind() const { return kind_; }
  const std::string& path() const { return path_; }  // "modules.statsd.histogram_bins[0]"

  // Checked reads: anything else is a ConfigError at this node, "must be
  // <expected>, got a map" (scalar, list) or "must be a map, got ..." (entries).
  const std::string& scalar(std::string_view expected) const;
  const std::vector<ConfigNode>& items(std::string_view expected) const;
  const std::vector<Entry>& entries() const;
  // A map's value for `key`; nullptr when there is none or this is not a map.
  const ConfigNode* find(std::string_view key) const;

  // Throws ConfigError at this node's position, naming its path (or `path`).
  [[noreturn]] void fail(const std::string& message) const { fail(path_, message); }
  [[noreturn]] void fail(const std::string& path, const std::string& message) const;

  // "a map", "a list", "\"text\"" or "nothing (null)", for error messages.
  std::string describe() const;

  // Used by the loader. A scalar keeps its text as written (for describe()),
  // interpolated, or why interpolation failed (reported when scalar() is read).
  void set_scalar(std::string written, std::string interpolated, std::string error);
  std::vector<ConfigNode>& mutable_items() { return items_; }
  std::vector<Entry>& mutable_entries() { return entries_; }

 private:
  Kind kind_ = Kind::null;
  std::string file_;
  int line_ = 0, col_ = 0;
  std::string path_;
  std::string written_, text_, interpolation_error_;
  std::vector<ConfigNode> items_;
  std::vector<Entry> entries_;
};

// One key of a map: its text as written (keys are not interpolated), the key
// itself as a scalar node (read through scalar() where keys are names: bins,
// tags) and the value.
struct ConfigNode::Entry {
  std::string key;
  ConfigNode key_node;
  ConfigNode value;
};

inline ConfigNode::ConfigNode() = default;
inline ConfigNode::ConfigNode(Kind kind, std::string file, int line, int col, std::string path)
    : kind_(kind), file_(std::move(file)), line_(line), col_(col), path_(std::move(path)) {}

}  // namespace bucky3::config
