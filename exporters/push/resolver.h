// Host name resolution for the push transports: numeric addresses at once,
// names through Asio's resolver (or, for tests, a hosts file), looked up again
// when older than 180 s.
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

struct ResolveOptions {
  // A name's addresses are looked up again at the first use after this (DESIGN: 180 s).
  std::chrono::milliseconds refresh = std::chrono::seconds(180);
  // Test seam, not a config key: when set, names are looked up in this file
  // (hosts(5) format, read at each lookup) instead of through getaddrinfo, so
  // a test can move a name to another address by rewriting the file.
  std::string hosts_file;
};

// The addresses `name` has in a hosts(5)-format text, in file order, each once.
std::vector<boost::asio::ip::address> addresses_in_hosts_text(std::string_view text,
                                                              std::string_view name);

class Resolver {
 public:
  using Addresses = std::vector<boost::asio::ip::address>;
  using Callback = std::function<void(boost::system::error_code, const Addresses&)>;

  Resolver(boost::asio::io_context& io, HostPort target, ResolveOptions options = {});
  ~Resolver();

  // The addresses, looked up when never done or older than `options.refresh` (a
  // failed lookup keeps the previous addresses when there are some). The callback
  // may run before get() returns when nothing needs looking up.
  void get(Callback callback);
  // True when the next get() looks the name up (never for a numeric address).
  bool stale() const;
  const HostPort& target() const { return target_; }
  void cancel();

 private:
  boost::asio::io_context& io_;
  HostPort target_;
  ResolveOptions options_;
  bool numeric_ = false;
  Addresses addresses_;
  std::chrono::steady_clock::time_point resolved_at_{};
  struct Lookup;
  void finish(const std::shared_ptr<Lookup>& lookup, boost::system::error_code ec, Addresses fresh);
  std::shared_ptr<Lookup> lookup_;
};

}  // namespace bucky3::push
