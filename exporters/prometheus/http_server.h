// The exporter's HTTP endpoint: Boost.Beast inside the module's own single-threaded
// io_context, bounded against slow and hostile clients.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "exporters/prometheus/scrape_page.h"

namespace boost::asio {
class io_context;
}

namespace bucky3::prometheus {

struct HttpOptions {
  std::string local_host = "127.0.0.1:9103";  // "host:port" or "[v6]:port"; port 0 picks one
  std::string http_path = "metrics";          // "" serves the metrics at "/"
  std::size_t max_connections = 256;          // past it the idlest connection is closed
  std::chrono::seconds idle_timeout{30};      // no request (or a client not reading)
  std::chrono::seconds header_timeout{10};    // first byte to the end of the headers
  std::size_t max_header_bytes = 8192;        // past it: 431 and close
};

struct HttpStats {
  std::uint64_t scrapes = 0;     // GET/HEAD of the metrics page answered
  std::uint64_t requests = 0;    // every request answered
  std::uint64_t sent_bytes = 0;  // headers and bodies
  std::uint64_t accepted = 0;
  std::uint64_t closed_for_cap = 0;  // idlest connections closed at max_connections
  std::uint64_t timed_out = 0;       // idle or header timeouts
  std::uint64_t rejected = 0;        // 400, 413, 431
  std::size_t open_connections = 0;
};

class HttpServer {
 public:
  // Called for each scrape; `gzip` says the client accepts it and the page must then
  // be a gzip member (or return gzip = false). The chunks are shared, not copied.
  using PageProvider = std::function<ScrapePage(bool gzip)>;

  // Binds and listens at once (throws std::runtime_error naming the address on
  // failure), raises the soft RLIMIT_NOFILE to the hard limit, and serves from `io`.
  HttpServer(boost::asio::io_context& io, HttpOptions options, PageProvider provider);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const;
  HttpStats stats() const;
  // Stops accepting and closes every connection; the destructor does it too.
  void stop();

 private:
  struct Impl;
  class Connection;
  std::shared_ptr<Impl> impl_;
};

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit.
std::uint64_t raise_open_files_limit();

}  // namespace bucky3::prometheus
