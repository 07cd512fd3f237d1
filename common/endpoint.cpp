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

std::optional<HttpUrl> parse_http_url(std::string_view text) {
  HttpUrl url;
  std::string_view rest;
  if (text.starts_with("http://")) {
    rest = text.substr(7);
  } else if (text.starts_with("https://")) {
    url.tls = true;
    rest = text.substr(8);
  } else {
    return std::nullopt;
  }
  if (std::any_of(text.begin(), text.end(), [](char c) { return c <= ' ' || c == 0x7f; })) {
    return std::nullopt;
  }
  const auto authority_end = rest.find_first_of("/?#");
  const auto authority = rest.substr(0, authority_end);
  if (authority.find('@') != std::string_view::npos) return std::nullopt;
  auto endpoint = parse_endpoint(authority);
  if (!endpoint || endpoint->port == 0) return std::nullopt;
  url.host = std::move(endpoint->host);
  url.port = endpoint->port.value_or(url.tls ? 443 : 80);
  rest = authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  rest = rest.substr(0, rest.find('#'));  // a fragment is the client's, never sent
  url.target = rest.empty() || rest[0] != '/' ? "/" + std::string(rest) : std::string(rest);
  return url;
}

std::string format_endpoint(std::string_view host, std::uint16_t port) {
  const bool v6 = host.find(':') != std::string_view::npos;
  return (v6 ? "[" + std::string(host) + "]" : std::string(host)) + ":" + std::to_string(port);
}

}  // namespace bucky3
