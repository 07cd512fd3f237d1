// Config interpolation; see interpolate.h.
#include "daemon/config/interpolate.h"

#include <unistd.h>

#include <climits>
#include <cstdlib>

namespace bucky3::config {

namespace {

bool is_name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

}  // namespace

std::string interpolate(std::string_view text, const EnvLookup& lookup) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c != '$' || i + 1 == text.size()) {
      out += c;
      ++i;
      continue;
    }
    if (text[i + 1] == '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (text[i + 1] != '{') {
      out += c;
      ++i;
      continue;
    }
    const std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      throw InterpolationError("unterminated \"${\" (write \"$$\" for a literal \"$\")");
    }
    const std::string_view inner = text.substr(i + 2, close - i - 2);
    const std::size_t sep = inner.find(":-");
    const std::string_view name = inner.substr(0, sep);
    if (name.empty() || !is_name_start(name[0])) {
      throw InterpolationError("invalid variable name \"" + std::string(name) + "\" in \"${" +
                               std::string(inner) + "}\"");
    }
    for (char n : name) {
      if (!is_name_char(n)) {
        throw InterpolationError("invalid variable name \"" + std::string(name) + "\" in \"${" +
                                 std::string(inner) + "}\"");
      }
    }
    std::optional<std::string> value = lookup(name);
    if (sep != std::string_view::npos) {
      if (!value || value->empty()) value = std::string(inner.substr(sep + 2));
    } else if (!value) {
      throw InterpolationError("environment variable " + std::string(name) + " is not set (use ${" +
                               std::string(name) + ":-default} to give a default)");
    }
    out += *value;
    i = close + 1;
  }
  return out;
}

std::optional<std::string> process_env(std::string_view name) {
  const std::string key(name);
  if (const char* value = std::getenv(key.c_str())) return std::string(value);
  if (key == "HOSTNAME") {
    char host[HOST_NAME_MAX + 1] = {};
    if (gethostname(host, sizeof host - 1) == 0) return std::string(host);
  }
  return std::nullopt;
}

}  // namespace bucky3::config
