// Module-specific config keys: one schema table per module type, and the
// validated values of one module (defaults filled in).
#pragma once
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "daemon/config/node.h"

namespace bucky3::config {

enum class ModuleRole { source, destination };

enum class OptionKind {
  string,          // any scalar; empty only where allow_empty
  choice,          // one of OptionSpec::choices ("udp|http")
  boolean,         // true | false
  integer,         // within [min, max]
  seconds,         // a number of seconds, within [min, max]
  size,            // bytes: integer or "<n><B|KiB|MiB|GiB|KB|MB|GB>", within [min, max]
  octal_mode,      // file mode as an octal string, "0660"
  listen_address,  // host:port, IPv6 as "[::1]:8125"; port 0 = any free port
  remote_hosts,    // non-empty list of host[:port]
  regex_list,      // list of ECMAScript regexes (compiled to check them)
  string_list,     // list of non-empty strings
  number_list,     // list of numbers within (min, max]
  string_map,      // map string -> string
  url_list,        // non-empty list of http:// or https:// URLs (parse_http_url())
  yaml,            // any YAML value, kept as a ConfigNode: the module parses and checks it
};

struct OptionSpec {
  std::string_view key;
  OptionKind kind;
  // The default as YAML text, parsed and checked by the same code as user
  // input; empty = no default (optional unless `required`).
  std::string_view default_yaml;
  double min = 0;
  double max = 0;
  std::string_view choices = {};
  bool required = false;
  bool allow_empty = false;
};

// The module types, in the order DESIGN lists them.
std::span<const std::string_view> known_types();
bool is_known_type(std::string_view type);
// Precondition: is_known_type(type).
ModuleRole role_of(std::string_view type);
// The type's schema; empty for an unknown type.
std::span<const OptionSpec> module_schema(std::string_view type);

class ModuleOptions {
 public:
  using Value = std::variant<std::monostate, bool, std::int64_t, double, std::uint64_t, std::string,
                             std::vector<std::string>, std::vector<double>,
                             std::vector<std::pair<std::string, std::string>>, ConfigNode>;

  ModuleOptions() = default;
  explicit ModuleOptions(std::string_view type) : type_(type) {}

  const std::string& type() const { return type_; }

  // True when the key is set or has a default; false also for keys outside the schema.
  bool has(std::string_view key) const;

  // Each getter throws std::logic_error for a key outside the type's schema, of
  // another kind, or without a value (check has() for optional keys).
  std::string get_string(std::string_view key) const;  // string, choice, octal_mode, listen_address
  bool get_bool(std::string_view key) const;
  std::int64_t get_int(std::string_view key) const;  // integer; octal_mode as its number
  double get_double(std::string_view key) const;     // integer or seconds
  std::uint64_t get_size(std::string_view key) const;
  double get_seconds(std::string_view key) const;
  std::vector<std::string> get_string_list(std::string_view key) const;  // *_list, remote_hosts
  std::vector<double> get_double_list(std::string_view key) const;
  std::vector<std::pair<std::string, std::string>> get_string_map(std::string_view key) const;
  // A yaml key's value as written (its default's when not set), for the module's parser.
  const ConfigNode& get_yaml(std::string_view key) const;

  // Used by the loader.
  void set(std::string_view key, Value value);

 private:
  const OptionSpec& spec(std::string_view key) const;
  const Value& value(std::string_view key) const;

  std::string type_;
  std::map<std::string, Value, std::less<>> values_;
};

}  // namespace bucky3::config
