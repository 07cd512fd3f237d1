// host:port parsing; see endpoint.h.
#include "common/endpoint.h"

#include <algorithm>

namespace bucky3 {

std::optional<Endpoint> parse_endpoint(std::string_view text) {
  Endpoint out;
  std::string_view rest;
  if (!text.empty() && text[0] == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close == 1) return std::nullopt;
    out.host = std::string(text.substr(1, close - 1));
    rest = text.substr(close + 1);
  } else {
    const auto colon = text.find(':');
    if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
      return std::nullopt;  // a bare IPv6 address: the port would be ambiguous
    }
    out.host = std::string(text.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view{} : text.substr(colon);
  }
  if (out.host.empty() || out.host.find_first_of(" /[]") != std::string::npos) return std::nullopt;
  if (!rest.empty()) {
    const auto digits = rest.substr(1);
    if (rest[0] != ':' || digits.empty() ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
    unsigned port = 0;
    for (const char c : digits) {
      port = port * 10 + static_cast<unsigned>(c - '0');
      if (port > 65535) return std::nullopt;
    }
    out.port = static_cast<std::uint16_t>(port);
  }
  return out;
}

std::string format_endpoint(std::string_view host, std::uint16_t port) {
  const bool v6 = host.find(':') != std::string_view::npos;
  return (v6 ? "[" + std::string(host) + "]" : std::string(host)) + ":" + std::to_string(port);
}

}  // namespace bucky3
