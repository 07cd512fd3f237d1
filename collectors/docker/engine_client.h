// HTTP/1.1 GET requests to the Docker Engine API on its Unix socket, as Asio
// coroutines on the caller's executor (the module's loop), one kept-alive
// connection, every request bounded by a timeout so a hung dockerd only costs
// that request. Chunked and sized bodies alike (Boost.Beast's parser).
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace bucky3::docker {

struct HttpResult {
  std::string error;  // non-empty: no answer (connect refused, timed out, bad HTTP...)
  int status = 0;
  std::string body;
  bool ok() const { return error.empty() && status == 200; }
};

class EngineClient {
 public:
  EngineClient(boost::asio::any_io_executor executor, std::string socket_path,
               std::chrono::milliseconds timeout);
  ~EngineClient();
  EngineClient(const EngineClient&) = delete;
  EngineClient& operator=(const EngineClient&) = delete;

  // GET `target` ("/v1.52/containers/json?all=true"). A kept-alive connection
  // the engine closed meanwhile is replaced once, transparently.
  boost::asio::awaitable<HttpResult> get(std::string target);
  // Same, with its own timeout (the size=true listing is slow by nature).
  boost::asio::awaitable<HttpResult> get(std::string target, std::chrono::milliseconds timeout);
  // Drops the connection; a request in flight ends with an error.
  void close();
  // close() for good: every later request fails at once (the module is stopping).
  void shutdown();

  const std::string& socket_path() const { return socket_path_; }
  std::uint64_t requests() const { return requests_; }

 private:
  struct Connection;
  boost::asio::awaitable<HttpResult> attempt(const std::string& target,
                                             std::chrono::milliseconds timeout, bool& reused);

  boost::asio::any_io_executor executor_;
  std::string socket_path_;
  std::chrono::milliseconds timeout_;
  std::shared_ptr<Connection> connection_;
  std::uint64_t requests_ = 0;
  bool shut_down_ = false;
};

}  // namespace bucky3::docker
