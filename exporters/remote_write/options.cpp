// remote_write_client's own option checks; see options.h.
#include "exporters/remote_write/options.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <string_view>

#include "daemon/config/config.h"

namespace bucky3::remote_write {

namespace {

// RFC 9110 token characters.
bool is_header_token(std::string_view name) {
  constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           extra.find(c) != std::string_view::npos;
  });
}

// Headers the remote write protocol and HTTP framing set themselves.
bool is_protocol_header(std::string_view name) {
  constexpr std::array<std::string_view, 6> fixed{
      "content-encoding", "content-type",      "x-prometheus-remote-write-version",
      "content-length",   "transfer-encoding", "host"};
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(fixed.begin(), fixed.end(), lower) != fixed.end();
}

}  // namespace

void check_remote_write_client(const config::ModuleConfig& module) {
  const auto& options = module.options;
  // Keys given in the file are in module.node; defaults ({} headers) need no check.
  if (const config::ConfigNode* headers = module.node.find("headers")) {
    for (const auto& [name, value] : options.get_string_map("headers")) {
      const std::string path = headers->path() + "." + name;
      if (!is_header_token(name)) headers->fail(path, "is not a valid HTTP header name");
      if (is_protocol_header(name)) {
        headers->fail(path, "is set by the protocol and cannot be overridden");
      }
      if (value.find_first_of("\r\n") != std::string::npos) {
        headers->fail(path, "must not contain line breaks");
      }
    }
  }
  if (const config::ConfigNode* auth = module.node.find("basic_auth");
      auth && options.has("basic_auth")) {
    bool username = false;
    for (const auto& [key, value] : options.get_string_map("basic_auth")) {
      if (key == "username") {
        username = !value.empty();
      } else if (key != "password") {
        auth->fail(auth->path() + "." + key, "unknown key; expected username, password");
      }
    }
    if (!username) auth->fail(auth->path() + ".username", "is required and must not be empty");
  }
  if (options.has("basic_auth") && options.has("bearer_token")) {
    module.node.fail(module.node.path() + ".bearer_token",
                     "cannot be set together with basic_auth");
  }
}

}  // namespace bucky3::remote_write
