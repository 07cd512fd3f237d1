// Reading a module's YAML value; see node.h.
#include "daemon/config/node.h"

#include "daemon/config/config.h"
#include "daemon/config/scalars.h"

namespace bucky3::config {

void ConfigNode::set_scalar(std::string written, std::string interpolated, std::string error) {
  written_ = std::move(written);
  text_ = std::move(interpolated);
  interpolation_error_ = std::move(error);
}

const std::string& ConfigNode::scalar(std::string_view expected) const {
  if (kind_ != Kind::scalar) fail("must be " + std::string(expected) + ", got " + describe());
  if (!interpolation_error_.empty()) fail(interpolation_error_);
  return text_;
}

const std::vector<ConfigNode>& ConfigNode::items(std::string_view expected) const {
  if (kind_ != Kind::list) fail("must be " + std::string(expected) + ", got " + describe());
  return items_;
}

const std::vector<ConfigNode::Entry>& ConfigNode::entries() const {
  if (kind_ != Kind::map) fail("must be a map, got " + describe());
  return entries_;
}

const ConfigNode* ConfigNode::find(std::string_view key) const {
  for (const auto& e : entries_) {
    if (e.key == key) return &e.value;
  }
  return nullptr;
}

void ConfigNode::fail(const std::string& path, const std::string& message) const {
  throw ConfigError(file_, line_, col_, path, message);
}

std::string ConfigNode::describe() const {
  switch (kind_) {
    case Kind::map: return "a map";
    case Kind::list: return "a list";
    case Kind::scalar: return quote(written_);
    case Kind::null: break;
  }
  return "nothing (null)";
}

}  // namespace bucky3::config
