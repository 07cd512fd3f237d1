// The one parser of "host:port" endpoints (config keys local_host, tcp_host,
// remote_hosts; the listeners and push transports that use them). Pure.
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

}  // namespace bucky3
