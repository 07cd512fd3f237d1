// Host name resolution for the push transports: numeric addresses at once,
// names through Asio's resolver, looked up again when older than 180 s.
#pragma once
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bucky3::push {

struct HostPort {
  std::string host;  // a name, an IPv4 address or an IPv6 address without brackets
  std::uint16_t port = 0;
};
// "host:port" or "[v6]:port" (the port optional: `default_port`); nullopt when malformed.
std::optional<HostPort> split_host_port(std::string_view text, std::uint16_t default_port);
// "127.0.0.1:2003", "[::1]:2003".
std::string format_host_port(const HostPort& hp);

class Resolver {
 public:
  using Addresses = std::vector<boost::asio::ip::address>;
  using Callback = std::function<void(boost::system::error_code, const Addresses&)>;

  Resolver(boost::asio::io_context& io, HostPort target,
           std::chrono::seconds refresh = std::chrono::seconds(180));
  ~Resolver();

  // The addresses, looked up when never done or older than `refresh` (a failed
  // lookup keeps the previous addresses when there are some). The callback may
  // run before get() returns when nothing needs looking up.
  void get(Callback callback);
  // True when the next get() looks the name up (never for a numeric address).
  bool stale() const;
  const HostPort& target() const { return target_; }
  void cancel();

 private:
  boost::asio::io_context& io_;
  HostPort target_;
  std::chrono::seconds refresh_;
  bool numeric_ = false;
  Addresses addresses_;
  std::chrono::steady_clock::time_point resolved_at_{};
  struct Lookup;
  std::shared_ptr<Lookup> lookup_;
};

}  // namespace bucky3::push
