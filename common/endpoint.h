// The one parser of "host:port" endpoints (config keys local_host, tcp_host,
// remote_hosts; the listeners and push transports that use them) and of the
// http(s) URLs built on them (remote_urls: the config's check, the HTTP client). Pure.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bucky3 {

struct Endpoint {
  std::string host;                   // a name, IPv4 or IPv6 address, without brackets
  std::optional<std::uint16_t> port;  // absent when the text gave none
};

// "host:port", "[v6]:port", or "host" / "[v6]" without a port. nullopt when
// malformed: an empty host, ' ', '/', '[' or ']' in it, a bare IPv6 address
// (its port would be ambiguous), a port that is not digits or over 65535.
std::optional<Endpoint> parse_endpoint(std::string_view text);

// "127.0.0.1:2003", "[::1]:2003".
std::string format_endpoint(std::string_view host, std::uint16_t port);

struct HttpUrl {
  bool tls = false;        // https://
  std::string host;        // as parse_endpoint() gives it: no brackets
  std::uint16_t port = 0;  // the URL's, else 80 (http) or 443 (https)
  std::string target;      // path and query, "/api/v1/write?x=y"; "/" when none; no fragment
};

// "http://host[:port][/path][?query][#fragment]" or https://, the host and port
// as parse_endpoint() takes them. nullopt for another scheme, port 0, a space or
// control character anywhere, or credentials (user:pw@host): they would show in
// logs and errors, so modules take them as keys of their own.
std::optional<HttpUrl> parse_http_url(std::string_view text);

}  // namespace bucky3
