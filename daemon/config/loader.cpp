// Loading and validating the YAML config; see config.h. yaml-cpp parses, then
// every scalar is interpolated and checked where it is read, so errors point
// at the node's own line and column.
#include <grp.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <regex>
#include <sstream>

#include "common/endpoint.h"
#include "daemon/config/config.h"
#include "daemon/config/interpolate.h"
#include "daemon/config/scalars.h"
#include "daemon/config/tree.h"

namespace bucky3::config {

namespace {

constexpr std::array<std::string_view, 10> kGlobalKeys{
    "log_level",  "flush_interval", "randomize_startup", "metadata", "buffer_limit",
    "chunk_size", "self_report",    "add_timestamps",    "filters",  "ring_size",
};
constexpr std::array<std::string_view, 3> kTopLevelKeys{"instance", "shm_group", "modules"};

std::string format_error(const std::string& file, int line, int col, const std::string& key_path,
                         const std::string& message) {
  std::string out = file + ":" + std::to_string(line) + ":" + std::to_string(col) + ": ";
  if (!key_path.empty()) out += key_path + ": ";
  return out + message;
}

std::string join(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : std::string(path) + "." + std::string(key);
}
std::string index(std::string_view path, std::size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

template <class Names>
std::string list_names(const Names& names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

bool is_module_name(std::string_view name) {
  if (name.empty() || name.size() > 32 || name[0] < 'a' || name[0] > 'z') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

struct Entry {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};

struct PendingDestinations {
  std::size_t module_index;
  YAML::Node node;
  std::string path;
};

class Loader {
 public:
  Loader(std::string file, EnvLookup env, ModuleCheck check)
      : file_(std::move(file)), env_(std::move(env)), check_(std::move(check)) {}

  Config load(std::string_view text) {
    std::vector<YAML::Node> documents;
    const std::string_view document = first_document(text);
    try {
      documents = YAML::LoadAll(std::string(document));
    } catch (const YAML::Exception& e) {
      throw_at(e.mark, "", "invalid YAML: " + e.msg);
    }
    // A second document ("---") would otherwise be ignored without a word.
    if (documents.size() > 1) {
      fail(documents[1], "", "the config must be one YAML document, found a second one");
    }
    return validate(documents.empty() ? YAML::Node() : documents[0]);
  }

  // Interpolation and validation of a parsed tree (load_config_tree()).
  Config validate(const YAML::Node& root) {
    Config config;
    config.path = file_;
    if (!root.IsMap()) {
      fail(root, "", "the config must be a map with a modules: key, got " + describe(root));
    }
    ModuleConfig globals;
    std::optional<YAML::Node> modules;
    for (auto& e : entries(root, "")) {
      if (e.key == "instance") {
        config.instance = scalar(e.value, e.key, "a name");
        if (!is_module_name(config.instance)) {
          fail(e.value, e.key, "must match [a-z][a-z0-9_]{0,31}, got " + quote(config.instance));
        }
      } else if (e.key == "shm_group") {
        const std::string group = scalar(e.value, e.key, "a group name");
        if (group.empty() || getgrnam(group.c_str()) == nullptr) {
          fail(e.value, e.key, "no such group " + quote(group));
        }
        config.shm_group = group;
      } else if (e.key == "modules") {
        modules = e.value;
      } else if (!parse_global(e, e.key, globals, nullptr)) {
        unknown_key(e, e.key, "top-level", kTopLevelKeys);
      }
    }
    if (!modules) fail(root, "modules", "is required: a map of module name to module settings");
    parse_modules(*modules, globals, config);
    return config;
  }

 private:
  // yaml-cpp 0.7 allocates without bound when a document's root starts with a
  // flow entry, after optional properties (",", "!t ,", "&a ,"). So only the
  // first document goes to yaml-cpp (a second one is an error anyway), and its
  // root is checked for that shape first.
  std::string_view first_document(std::string_view text) const {
    const auto position = [&](std::size_t offset) {
      const std::string_view before = text.substr(0, offset);
      const std::size_t line_start = before.rfind('\n');
      const int col =
          static_cast<int>(line_start == std::string_view::npos ? offset : offset - line_start - 1);
      return std::pair<int, int>(
          static_cast<int>(std::count(before.begin(), before.end(), '\n')) + 1, col + 1);
    };
    const auto is_marker = [&](std::size_t at, std::string_view marker) {
      return text.substr(at, 3) == marker &&
             (at + 3 == text.size() ||
              std::string_view(" \t\r\n").find(text[at + 3]) != std::string_view::npos);
    };
    // YAML allows no C0 control characters but tab and line breaks; yaml-cpp
    // skips NULs, which lets "\0," reach the blow-up below.
    for (std::size_t i = 0; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
        const auto [l, col] = position(i);
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", c);
        throw ConfigError(file_, l, col, "",
                          std::string("invalid YAML: control character ") + hex +
                              " (YAML allows only tab and line breaks)");
      }
    }
    // yaml-cpp also blows up on some block-context lines that start with ','
    // (fuzzing); a config never needs one: end the previous line with it.
    for (std::size_t line = 0; line < text.size();) {
      const std::size_t end = std::min(text.find('\n', line), text.size());
      const std::size_t first = text.find_first_not_of(" \t\r", line);
      if (first < end && text[first] == ',') {
        const auto [l, c] = position(first);
        throw ConfigError(file_, l, c, "",
                          "invalid YAML: a line may not start with ',' (end the previous line "
                          "with it instead)");
      }
      line = end + 1;
    }
    bool in_document = false, root_checked = false;
    std::size_t at = 0;
    while (at < text.size()) {
      const std::size_t line_end = std::min(text.find('\n', at), text.size());
      const std::size_t first = text.find_first_not_of(" \t\r", at);
      const bool blank = first >= line_end || text[first] == '#';
      if (is_marker(at, "---") || is_marker(at, "...")) {
        if (in_document || text[at] == '.') {
          // Anything but blank lines and comments after this is a second document.
          std::size_t rest = line_end;
          while (rest < text.size()) {
            const std::size_t next_end = std::min(text.find('\n', rest + 1), text.size());
            const std::size_t content = text.find_first_not_of(" \t\r\n", rest);
            if (content < next_end && text[content] != '#') {
              const auto [line, col] = position(text[at] == '-' ? at : content);
              throw ConfigError(file_, line, col, "",
                                "the config must be one YAML document, found a second one");
            }
            rest = next_end;
          }
          return text.substr(0, at);
        }
        in_document = true;
      } else if (!blank && !(text[at] == '%' && !in_document)) {
        in_document = true;
      }
      if (in_document && !root_checked) {
        std::size_t p = is_marker(at, "---") ? at + 3 : at;
        // Skip blanks, comments and node properties (!tag, &anchor) to the root's first token.
        while (p < text.size()) {
          if (std::string_view(" \t\r\n").find(text[p]) != std::string_view::npos) {
            ++p;
          } else if (text[p] == '#') {
            p = std::min(text.find('\n', p), text.size());
          } else if (text[p] == '!' || text[p] == '&') {
            p = std::min(text.find_first_of(" \t\r\n,[]{}", p + 1), text.size());
          } else {
            break;
          }
        }
        if (p < text.size() && text[p] == ',') {
          const auto [line, col] = position(p);
          throw ConfigError(file_, line, col, "",
                            "invalid YAML: the top level must be a map, found ','");
        }
        root_checked = p < text.size();
      }
      at = line_end + 1;
    }
    return text;
  }

  [[noreturn]] void throw_at(const YAML::Mark& mark, const std::string& path,
                             const std::string& message) const {
    const bool known = mark.line >= 0 && mark.column >= 0;
    throw ConfigError(file_, known ? mark.line + 1 : 0, known ? mark.column + 1 : 0, path, message);
  }
  [[noreturn]] void fail(const YAML::Node& at, const std::string& path,
                         const std::string& message) const {
    throw_at(at.Mark(), path, message);
  }

  static std::string describe(const YAML::Node& node) {
    switch (node.Type()) {
      case YAML::NodeType::Map: return "a map";
      case YAML::NodeType::Sequence: return "a list";
      case YAML::NodeType::Scalar: return quote(node.Scalar());
      default: return "nothing (null)";
    }
  }

  // The interpolated text of a scalar; anything else is an error naming `expected`.
  std::string scalar(const YAML::Node& node, const std::string& path, std::string_view expected) {
    if (!node.IsScalar()) {
      fail(node, path, "must be " + std::string(expected) + ", got " + describe(node));
    }
    try {
      return interpolate(node.Scalar(), env_);
    } catch (const InterpolationError& e) {
      fail(node, path, e.what());
    }
  }

  std::vector<Entry> entries(const YAML::Node& node, const std::string& path) {
    if (!node.IsMap()) fail(node, path, "must be a map, got " + describe(node));
    std::vector<Entry> out;
    // yaml-cpp keeps both copies of a repeated key; catch them here.
    std::map<std::string, YAML::Mark> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node key = it->first;
      if (!key.IsScalar()) fail(key, path, "keys must be strings, got " + describe(key));
      const std::string& text = key.Scalar();
      const auto [first, inserted] = seen.emplace(text, key.Mark());
      if (!inserted) {
        fail(key, join(path, text),
             "duplicate key (first at line " + std::to_string(first->second.line + 1) + ", col " +
                 std::to_string(first->second.column + 1) + ")");
      }
      // A null value has the position of whatever follows it; report the key.
      if (it->second.IsNull()) {
        fail(key, join(path, text), "has no value (null); give it one or remove the key");
      }
      out.push_back(Entry{text, key, it->second});
    }
    return out;
  }

  std::vector<YAML::Node> items(const YAML::Node& node, const std::string& path,
                                std::string_view expected) {
    if (!node.IsSequence()) {
      fail(node, path, "must be " + std::string(expected) + ", got " + describe(node));
    }
    std::vector<YAML::Node> out;
    for (const auto& item : node) out.push_back(item);
    return out;
  }

  template <class Names>
  [[noreturn]] void unknown_key(const Entry& e, const std::string& path, std::string_view where,
                                const Names& extra_keys) {
    std::string best;
    std::size_t best_distance = 3;
    auto consider = [&](std::string_view candidate) {
      const std::size_t d = edit_distance(e.key, candidate);
      if (d < best_distance) {
        best_distance = d;
        best = candidate;
      }
    };
    for (auto k : kGlobalKeys) consider(k);
    for (auto k : extra_keys) consider(k);
    std::string message = "unknown " + std::string(where) + " key";
    if (!best.empty()) message += " (did you mean " + best + "?)";
    fail(e.key_node, path, message + "; see docs/CONFIG.md");
  }

  bool boolean(const YAML::Node& node, const std::string& path) {
    const std::string text = scalar(node, path, "true or false");
    const auto value = parse_bool(text);
    if (!value) fail(node, path, "must be true or false, got " + quote(text));
    return *value;
  }

  std::int64_t integer(const YAML::Node& node, const std::string& path, double min, double max) {
    const std::string text = scalar(node, path, "an integer");
    const auto value = parse_int(text);
    if (!value) fail(node, path, "must be an integer, got " + quote(text));
    check_range(node, path, static_cast<double>(*value), min, max, "");
    return *value;
  }

  double seconds(const YAML::Node& node, const std::string& path, double min, double max) {
    const std::string text = scalar(node, path, "a number of seconds");
    const auto value = parse_number(text);
    if (!value) fail(node, path, "must be a number of seconds, got " + quote(text));
    check_range(node, path, *value, min, max, " s");
    return *value;
  }

  void check_range(const YAML::Node& node, const std::string& path, double value, double min,
                   double max, std::string_view unit) {
    if (value < min) {
      fail(node, path,
           "must be at least " + format_number(min) + std::string(unit) + ", got " +
               format_number(value));
    }
    if (value > max) {
      fail(node, path,
           "must be at most " + format_number(max) + std::string(unit) + ", got " +
               format_number(value));
    }
  }

  std::uint64_t size(const YAML::Node& node, const std::string& path, double min, double max) {
    const std::string text = scalar(node, path, "a size");
    const auto value = parse_size(text);
    if (!value) {
      fail(node, path,
           "must be a size: bytes, or a number with a unit (B, KiB, MiB, GiB, KB, MB, GB), got " +
               quote(text));
    }
    if (static_cast<double>(*value) < min) {
      fail(node, path,
           "must be at least " + format_size(static_cast<std::uint64_t>(min)) + ", got " +
               format_size(*value));
    }
    if (static_cast<double>(*value) > max) {
      fail(node, path,
           "must be at most " + format_size(static_cast<std::uint64_t>(max)) + ", got " +
               format_size(*value));
    }
    return *value;
  }

  std::string non_empty_string(const YAML::Node& node, const std::string& path) {
    std::string text = scalar(node, path, "a string");
    if (text.empty()) fail(node, path, "must not be empty");
    return text;
  }

  std::vector<std::string> string_list(const YAML::Node& node, const std::string& path) {
    std::vector<std::string> out;
    std::size_t i = 0;
    for (const auto& item : items(node, path, "a list of strings")) {
      out.push_back(non_empty_string(item, index(path, i++)));
    }
    return out;
  }

  std::vector<std::pair<std::string, std::string>> string_map(const YAML::Node& node,
                                                              const std::string& path) {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto& e : entries(node, path)) {
      const std::string entry_path = join(path, e.key);
      std::string key = scalar(e.key_node, entry_path, "a string");
      if (key.empty()) fail(e.key_node, entry_path, "keys must not be empty");
      out.emplace_back(std::move(key), scalar(e.value, entry_path, "a string"));
    }
    return out;
  }

  // `node` as a ConfigNode: the same checks on maps as entries(), scalars
  // interpolated (a failure is reported when the scalar is read).
  ConfigNode to_node(const YAML::Node& node, const std::string& path) {
    const YAML::Mark mark = node.Mark();
    const bool known = mark.line >= 0 && mark.column >= 0;
    const auto make = [&](ConfigNode::Kind kind, const std::string& p) {
      return ConfigNode(kind, file_, known ? mark.line + 1 : 0, known ? mark.column + 1 : 0, p);
    };
    switch (node.Type()) {
      case YAML::NodeType::Scalar: {
        ConfigNode out = make(ConfigNode::Kind::scalar, path);
        try {
          out.set_scalar(node.Scalar(), interpolate(node.Scalar(), env_), "");
        } catch (const InterpolationError& e) {
          out.set_scalar(node.Scalar(), "", e.what());
        }
        return out;
      }
      case YAML::NodeType::Sequence: {
        ConfigNode out = make(ConfigNode::Kind::list, path);
        std::size_t i = 0;
        for (const auto& item : node)
          out.mutable_items().push_back(to_node(item, index(path, i++)));
        return out;
      }
      case YAML::NodeType::Map: {
        ConfigNode out = make(ConfigNode::Kind::map, path);
        for (auto& e : entries(node, path)) {
          const std::string p = join(path, e.key);
          out.mutable_entries().push_back({e.key, to_node(e.key_node, p), to_node(e.value, p)});
        }
        return out;
      }
      default: return make(ConfigNode::Kind::null, path);
    }
  }

  Pattern pattern(const YAML::Node& node, const std::string& path) {
    return parse_pattern(to_node(node, path));
  }
  Match match(const YAML::Node& node, const std::string& path) {
    return parse_match(to_node(node, path));
  }

  std::vector<FilterRule> filters(const YAML::Node& node, const std::string& path) {
    std::vector<FilterRule> out;
    std::size_t i = 0;
    for (const auto& item : items(node, path, "a list of rules")) {
      const std::string rule_path = index(path, i++);
      FilterRule rule;
      bool has_action = false;
      for (auto& e : entries(item, rule_path)) {
        const std::string p = join(rule_path, e.key);
        if (e.key == "match") {
          rule.match = match(e.value, p);
          continue;
        }
        has_action = true;
        if (e.key == "drop") {
          rule.drop = boolean(e.value, p);
        } else if (e.key == "set_metadata") {
          for (auto& [k, v] : string_map(e.value, p)) rule.set_metadata.push_back({k, v});
          normalize_metadata(rule.set_metadata);
        } else if (e.key == "remove_metadata") {
          rule.remove_metadata = string_list(e.value, p);
        } else if (e.key == "bucket") {
          rule.bucket = non_empty_string(e.value, p);
        } else {
          fail(e.key_node, p,
               "unknown filter key; expected match, drop, set_metadata, remove_metadata or "
               "bucket");
        }
      }
      if (!has_action) {
        fail(item, rule_path,
             "a rule needs at least one action: drop, set_metadata, remove_metadata or bucket");
      }
      if (rule.drop &&
          (!rule.set_metadata.empty() || !rule.remove_metadata.empty() || rule.bucket)) {
        fail(item, rule_path, "drop: true ends the rules; its other actions would never run");
      }
      out.push_back(std::move(rule));
    }
    return out;
  }

  // Reads a global key into `target`; false when `e` is not a global key.
  // `source` is set for a module (ring_size is not valid on sources).
  bool parse_global(const Entry& e, const std::string& path, ModuleConfig& target,
                    const ModuleConfig* source) {
    const YAML::Node& v = e.value;
    if (e.key == "log_level") {
      const std::string text = scalar(v, path, "a log level");
      const auto level = log::parse_level(text);
      if (!level || text == "warn") {
        fail(v, path, "must be one of debug, info, warning, error, got " + quote(text));
      }
      target.log_level = *level;
    } else if (e.key == "flush_interval") {
      target.flush_interval_s = seconds(v, path, 0.1, 86400);
    } else if (e.key == "randomize_startup") {
      target.randomize_startup = boolean(v, path);
    } else if (e.key == "metadata") {
      // The module's tags overlay the top-level ones key by key.
      for (auto& [key, value] : string_map(v, path)) {
        const auto it =
            std::lower_bound(target.metadata.begin(), target.metadata.end(), key,
                             [](const Tag& t, const std::string& k) { return t.key < k; });
        if (it != target.metadata.end() && it->key == key) {
          it->value = value;
        } else {
          target.metadata.insert(it, Tag{key, value});
        }
      }
    } else if (e.key == "buffer_limit") {
      target.buffer_limit = static_cast<std::size_t>(integer(v, path, 1, 1e12));
    } else if (e.key == "chunk_size") {
      target.chunk_size = static_cast<std::size_t>(integer(v, path, 1, 1e9));
    } else if (e.key == "self_report") {
      target.self_report = boolean(v, path);
    } else if (e.key == "add_timestamps") {
      target.add_timestamps = boolean(v, path);
    } else if (e.key == "filters") {
      target.filters = filters(v, path);
    } else if (e.key == "ring_size") {
      if (source) {
        fail(e.key_node, path,
             "is set on destinations (each destination holds the rings of its sources), not on "
             "source type " +
                 source->type);
      }
      target.ring_size_bytes = size(v, path, 64 * 1024, 64.0 * 1024 * 1024 * 1024);
    } else {
      return false;
    }
    return true;
  }

  // An optional key without a default set to "" is left unset, so
  // `token: "${INFLUXDB_TOKEN:-}"` sets it only when the variable does.
  static bool unset_when_empty(const OptionSpec& spec) {
    return spec.default_yaml.empty() && !spec.required;
  }

  ModuleOptions::Value option(const OptionSpec& spec, const YAML::Node& v,
                              const std::string& path) {
    switch (spec.kind) {
      case OptionKind::string: {
        std::string text = scalar(v, path, "a string");
        if (text.empty() && unset_when_empty(spec)) return std::monostate{};
        if (text.empty() && !spec.allow_empty) fail(v, path, "must not be empty");
        return text;
      }
      case OptionKind::choice: {
        std::string text = scalar(v, path, "a string");
        std::string_view rest = spec.choices;
        while (!rest.empty()) {
          const auto bar = rest.find('|');
          if (rest.substr(0, bar) == text) return text;
          rest = bar == std::string_view::npos ? std::string_view{} : rest.substr(bar + 1);
        }
        std::string expected(spec.choices);
        std::replace(expected.begin(), expected.end(), '|', ' ');
        fail(v, path, "must be one of " + expected + ", got " + quote(text));
      }
      case OptionKind::boolean: return boolean(v, path);
      case OptionKind::integer: return integer(v, path, spec.min, spec.max);
      case OptionKind::seconds: return seconds(v, path, spec.min, spec.max);
      case OptionKind::size: return size(v, path, spec.min, spec.max);
      case OptionKind::octal_mode: {
        std::string text = scalar(v, path, "an octal file mode");
        const bool octal =
            (text.size() == 3 || text.size() == 4) &&
            std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '7'; });
        if (!octal) fail(v, path, "must be an octal file mode like \"0660\", got " + quote(text));
        return text;
      }
      case OptionKind::listen_address: {
        std::string text = scalar(v, path, "host:port");
        if (text.empty() && unset_when_empty(spec)) return std::monostate{};
        const auto hp = parse_endpoint(text);
        if (!hp || !hp->port) {
          fail(v, path, "must be host:port (IPv6 in brackets, \"[::1]:8125\"), got " + quote(text));
        }
        return text;
      }
      case OptionKind::remote_hosts: {
        std::vector<std::string> out;
        std::size_t i = 0;
        for (const auto& item : items(v, path, "a list of host[:port]")) {
          const std::string item_path = index(path, i++);
          std::string text = scalar(item, item_path, "host[:port]");
          const auto hp = parse_endpoint(text);
          if (!hp || (hp->port && *hp->port == 0)) {
            fail(item, item_path,
                 "must be host or host:port with a port 1-65535 (IPv6 in brackets, "
                 "\"[::1]:8089\"), got " +
                     quote(text));
          }
          out.push_back(std::move(text));
        }
        if (out.empty()) fail(v, path, "must name at least one host");
        return out;
      }
      case OptionKind::regex_list: {
        std::vector<std::string> out;
        std::size_t i = 0;
        for (const auto& item : items(v, path, "a list of regexes")) {
          out.push_back(pattern(item, index(path, i++)).text);
        }
        return out;
      }
      case OptionKind::string_list: return string_list(v, path);
      case OptionKind::number_list: {
        std::vector<double> out;
        std::size_t i = 0;
        for (const auto& item : items(v, path, "a list of numbers")) {
          const std::string item_path = index(path, i++);
          const std::string text = scalar(item, item_path, "a number");
          const auto value = parse_number(text);
          if (!value) fail(item, item_path, "must be a number, got " + quote(text));
          if (*value <= spec.min || *value > spec.max) {
            fail(item, item_path,
                 "must be greater than " + format_number(spec.min) + " and at most " +
                     format_number(spec.max) + ", got " + format_number(*value));
          }
          if (std::find(out.begin(), out.end(), *value) != out.end()) {
            fail(item, item_path, format_number(*value) + " is listed twice");
          }
          out.push_back(*value);
        }
        return out;
      }
      case OptionKind::string_map: return string_map(v, path);
      case OptionKind::url_list: {
        std::vector<std::string> out;
        std::size_t i = 0;
        for (const auto& item : items(v, path, "a list of URLs")) {
          const std::string item_path = index(path, i++);
          std::string text = scalar(item, item_path, "a URL");
          if (!parse_http_url(text)) {
            fail(item, item_path,
                 "must be an http:// or https:// URL with a host, like "
                 "\"http://127.0.0.1:9090/api/v1/write\", got " +
                     quote(text));
          }
          out.push_back(std::move(text));
        }
        if (out.empty()) fail(v, path, "must name at least one URL");
        return out;
      }
      case OptionKind::yaml: return to_node(v, path);
    }
    return {};
  }

  void parse_modules(const YAML::Node& node, const ModuleConfig& globals, Config& config) {
    const auto module_entries = entries(node, "modules");
    if (module_entries.empty()) fail(node, "modules", "must define at least one module");
    std::vector<PendingDestinations> pending;
    for (const auto& m : module_entries) {
      const std::string path = join("modules", m.key);
      if (!is_module_name(m.key)) {
        fail(m.key_node, path, "module names must match [a-z][a-z0-9_]{0,31}");
      }
      if (m.key == "health" || m.key == "lock") {
        fail(m.key_node, path, "\"" + m.key + "\" is reserved (shared-memory names); pick another");
      }
      const auto body = entries(m.value, path);
      const auto type_entry =
          std::find_if(body.begin(), body.end(), [](const Entry& e) { return e.key == "type"; });
      if (type_entry == body.end()) {
        fail(m.value, join(path, "type"), "is required, one of " + list_names(known_types()));
      }
      ModuleConfig module = globals;
      module.name = m.key;
      module.type = scalar(type_entry->value, join(path, "type"), "a module type");
      if (!is_known_type(module.type)) {
        fail(type_entry->value, join(path, "type"),
             "unknown module type " + quote(module.type) + "; expected one of " +
                 list_names(known_types()));
      }
      module.role = role_of(module.type);
      module.options = ModuleOptions(module.type);
      const auto schema = module_schema(module.type);
      std::vector<std::string_view> keys{"type", "inactive"};
      if (module.role == ModuleRole::source) keys.push_back("destinations");
      for (const auto& s : schema) keys.push_back(s.key);

      for (const auto& e : body) {
        const std::string p = join(path, e.key);
        if (e.key == "type") continue;
        if (e.key == "inactive") {
          module.inactive = boolean(e.value, p);
        } else if (e.key == "destinations" && module.role == ModuleRole::source) {
          pending.push_back({config.modules.size(), e.value, p});
        } else if (e.key == "destinations") {
          fail(e.key_node, p,
               "only sources have destinations; " + module.type + " is a destination");
        } else if (parse_global(e, p, module,
                                module.role == ModuleRole::source ? &module : nullptr)) {
        } else if (const auto spec =
                       std::find_if(schema.begin(), schema.end(),
                                    [&](const OptionSpec& s) { return s.key == e.key; });
                   spec != schema.end()) {
          module.options.set(spec->key, option(*spec, e.value, p));
        } else {
          unknown_key(e, p, module.type, keys);
        }
      }
      for (const auto& spec : schema) {
        if (module.options.has(spec.key)) continue;
        if (spec.required) {
          fail(m.value, join(path, spec.key), "is required for type " + module.type);
        }
        if (spec.default_yaml.empty()) continue;
        const std::string p = join(path, spec.key);
        module.options.set(spec.key, option(spec, YAML::Load(std::string(spec.default_yaml)), p));
      }
      if (check_) {
        module.node = to_node(m.value, path);
        check_(module);
      }
      config.modules.push_back(std::move(module));
    }
    resolve_destinations(pending, config);
  }

  void resolve_destinations(const std::vector<PendingDestinations>& pending, Config& config) {
    std::vector<std::string> active;
    for (const auto& m : config.modules) {
      if (m.role == ModuleRole::destination && !m.inactive) active.push_back(m.name);
    }
    for (auto& m : config.modules) {
      if (m.role == ModuleRole::source) m.destinations = active;
    }
    for (const auto& p : pending) {
      std::vector<std::string> names;
      std::size_t i = 0;
      for (const auto& item : items(p.node, p.path, "a list of destination module names")) {
        const std::string item_path = index(p.path, i++);
        std::string name = scalar(item, item_path, "a module name");
        const ModuleConfig* target = config.find(name);
        if (!target) fail(item, item_path, "no module named " + quote(name));
        if (target->role != ModuleRole::destination) {
          fail(item, item_path,
               quote(name) + " is a source (type " + target->type + "), not a destination");
        }
        if (target->inactive) fail(item, item_path, quote(name) + " is inactive");
        if (std::find(names.begin(), names.end(), name) != names.end()) {
          fail(item, item_path, quote(name) + " is listed twice");
        }
        names.push_back(std::move(name));
      }
      config.modules[p.module_index].destinations = std::move(names);
    }
  }

  std::string file_;
  EnvLookup env_;
  ModuleCheck check_;
};

}  // namespace

ConfigError::ConfigError(std::string file_, int line_, int col_, std::string key_path_,
                         std::string message_)
    : std::runtime_error(format_error(file_, line_, col_, key_path_, message_)),
      file(std::move(file_)),
      line(line_),
      col(col_),
      key_path(std::move(key_path_)),
      message(std::move(message_)) {}

const ModuleConfig* Config::find(std::string_view name) const {
  for (const auto& m : modules) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

Config load_config_text(std::string_view yaml, const std::string& display_path,
                        const ModuleCheck& check) {
  return Loader(display_path, process_env, check).load(yaml);
}

Config load_config_tree(const YAML::Node& root, const std::string& display_path,
                        const EnvLookup& env, const ModuleCheck& check) {
  return Loader(display_path, env, check).validate(root);
}

Config load_config_file(const std::string& path, const ModuleCheck& check) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw ConfigError(path, 0, 0, "", "cannot read the config: it is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError(path, 0, 0, "",
                      std::string("cannot read the config: ") + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(path, 0, 0, "", "cannot read the config: read error");
  return load_config_text(text.str(), path, check);
}

Config load_builtin_config(const ModuleCheck& check) {
  return load_config_text(builtin_config_yaml(), "<builtin>", check);
}

}  // namespace bucky3::config
