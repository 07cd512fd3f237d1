// Docker Engine API client over a Unix socket; see engine_client.h.
#include "collectors/docker/engine_client.h"

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace bucky3::docker {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using local_stream = asio::local::stream_protocol;

namespace {
// Far above any real answer (500 containers listed are ~1.5 MB), so a runaway
// body ends as an error instead of eating the agent's memory.
constexpr std::uint64_t kBodyLimit = 256ull << 20;
}  // namespace

// The socket, its read buffer and the request timer. Shared with the timer's
// handler, which may run after the client dropped the connection.
struct EngineClient::Connection {
  explicit Connection(const asio::any_io_executor& executor) : socket(executor), timer(executor) {}
  local_stream::socket socket;
  boost::beast::flat_buffer buffer;
  asio::steady_timer timer;
  std::uint64_t generation = 0;  // which request the armed timer belongs to
  bool timed_out = false;
};

EngineClient::EngineClient(asio::any_io_executor executor, std::string socket_path,
                           std::chrono::milliseconds timeout)
    : executor_(std::move(executor)), socket_path_(std::move(socket_path)), timeout_(timeout) {}

EngineClient::~EngineClient() {
  close();
}

void EngineClient::close() {
  if (!connection_) return;
  boost::system::error_code ignored;
  connection_->timer.cancel();
  connection_->socket.close(ignored);
  connection_.reset();
}

void EngineClient::shutdown() {
  shut_down_ = true;
  close();
}

asio::awaitable<HttpResult> EngineClient::get(std::string target) {
  return get(std::move(target), timeout_);
}

asio::awaitable<HttpResult> EngineClient::get(std::string target,
                                              std::chrono::milliseconds timeout) {
  if (shut_down_) co_return HttpResult{"shut down", 0, {}};
  ++requests_;
  bool reused = false;
  auto result = co_await attempt(target, timeout, reused);
  // An idle kept-alive connection the engine closed fails at once: one retry
  // on a fresh one. A timeout is not retried (the engine is hung, not gone).
  if (!result.error.empty() && reused && !shut_down_ &&
      result.error.find("timed out") == std::string::npos) {
    close();
    bool again = false;
    result = co_await attempt(target, timeout, again);
  }
  co_return result;
}

asio::awaitable<HttpResult> EngineClient::attempt(const std::string& target,
                                                  std::chrono::milliseconds timeout, bool& reused) {
  HttpResult result;
  reused = connection_ != nullptr;
  if (!connection_) connection_ = std::make_shared<Connection>(executor_);
  const auto connection = connection_;  // kept alive while this request runs
  const auto generation = ++connection->generation;
  connection->timed_out = false;
  connection->timer.expires_after(timeout);
  connection->timer.async_wait(
      [weak = std::weak_ptr(connection), generation](boost::system::error_code ec) {
        if (ec) return;
        const auto alive = weak.lock();
        if (!alive || alive->generation != generation) return;
        alive->timed_out = true;
        boost::system::error_code ignored;
        alive->socket.close(ignored);  // every pending operation ends with an error
      });
  const auto fail = [&](std::string_view step, const boost::system::error_code& ec) {
    result.error = connection->timed_out ? "timed out after " + std::to_string(timeout.count()) +
                                               " ms (" + std::string(step) + ")"
                                         : std::string(step) + ": " + ec.message();
    if (connection_ == connection) close();
  };
  boost::system::error_code ec;
  if (!reused) {
    co_await connection->socket.async_connect(local_stream::endpoint(socket_path_),
                                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      fail("connect to " + socket_path_, ec);
      co_return result;
    }
  }
  http::request<http::empty_body> request{http::verb::get, target, 11};
  request.set(http::field::host, "docker");  // any name: the socket is the address
  request.set(http::field::user_agent, "bucky3");
  request.keep_alive(true);
  co_await http::async_write(connection->socket, request,
                             asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    fail("send", ec);
    co_return result;
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(kBodyLimit);
  co_await http::async_read(connection->socket, connection->buffer, parser,
                            asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    fail("read", ec);
    co_return result;
  }
  connection->generation++;  // disarms the timer's handler if it already fired
  connection->timer.cancel();
  result.status = static_cast<int>(parser.get().result_int());
  result.body = std::move(parser.get().body());
  if (!parser.keep_alive() && connection_ == connection) close();
  co_return result;
}

}  // namespace bucky3::docker
