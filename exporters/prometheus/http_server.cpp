// The exporter's HTTP endpoint; see http_server.h. Beast parses requests; responses
// are written by hand as a header string plus the page's shared chunks, so a scrape
// never copies the page.
#include "exporters/prometheus/http_server.h"

#include <sys/resource.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <list>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "common/endpoint.h"
#include "common/log.h"

namespace bucky3::prometheus {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::string_view kMetricsType = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view kTextType = "text/plain; charset=utf-8";
// A refused client's unread bytes are drained this long before closing, so the
// kernel does not answer them with a reset that destroys our error response.
constexpr auto kDrainTime = std::chrono::seconds(1);
constexpr std::size_t kDrainBytes = 1 << 20;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return beast::iequals(a, b);
}

// RFC 9110 Accept-Encoding: gzip unless refused with q=0 (also through `*`).
bool accepts_gzip(std::string_view header) {
  double gzip_q = -1;
  double any_q = -1;
  while (!header.empty()) {
    const auto comma = header.find(',');
    auto item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    double q = 1;
    const auto semicolon = item.find(';');
    if (semicolon != std::string_view::npos) {
      auto params = trim(item.substr(semicolon + 1));
      if (params.size() > 2 && (params[0] == 'q' || params[0] == 'Q') && params[1] == '=') {
        // Go-style qvalues ("0", "0.5", "1.000"); anything unparsable counts as 1.
        params.remove_prefix(2);
        double value = 1;
        const auto result = std::from_chars(params.data(), params.data() + params.size(), value);
        if (result.ec == std::errc()) q = value;
      }
      item = item.substr(0, semicolon);
    }
    item = trim(item);
    if (iequals(item, "gzip") || iequals(item, "x-gzip")) gzip_q = q;
    if (item == "*") any_q = q;
  }
  return gzip_q > 0 || (gzip_q < 0 && any_q > 0);
}

tcp::endpoint resolve_local_host(asio::io_context& io, const std::string& local_host) {
  const auto endpoint = parse_endpoint(local_host);
  if (!endpoint || !endpoint->port) {
    throw std::runtime_error("local_host \"" + local_host + "\": expected host:port");
  }
  const std::string& host = endpoint->host;
  const std::uint16_t port_number = *endpoint->port;
  error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (!ec) return {address, port_number};
  tcp::resolver resolver(io);
  const auto results = resolver.resolve(host, std::to_string(port_number), ec);
  if (ec || results.empty()) {
    throw std::runtime_error("local_host \"" + local_host + "\": " + ec.message());
  }
  return results.begin()->endpoint();
}

// RFC 9110 IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), formatted once a second.
std::string_view http_date() {
  thread_local std::time_t cached_second = -1;
  thread_local char text[64];
  const std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm utc{};
    gmtime_r(&now, &utc);
    // By hand: strftime's %a and %b follow the locale, HTTP wants English.
    static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[utc.tm_wday],
                  utc.tm_mday, months[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour, utc.tm_min,
                  utc.tm_sec);
    cached_second = now;
  }
  return text;
}

std::string html_escape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(asio::io_context& io, HttpOptions options, PageProvider provider)
      : io(io),
        options(std::move(options)),
        provider(std::move(provider)),
        acceptor(io),
        accept_retry(io) {}

  void accept();
  void stop();
  void touch(Connection& connection);

  asio::io_context& io;
  HttpOptions options;
  PageProvider provider;
  tcp::acceptor acceptor;
  asio::steady_timer accept_retry;
  // Least recently active first: at max_connections the front is closed.
  std::list<std::shared_ptr<Connection>> connections;
  HttpStats stats;
  std::string metrics_target;  // "/metrics", or "/" for an empty http_path
  std::shared_ptr<const std::string> landing_page;
  std::shared_ptr<const std::string> healthy_text;
  std::shared_ptr<const std::string> ready_text;
  log::RateLimiter accept_errors_log;
  bool stopped = false;
};

class HttpServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<HttpServer::Impl> server, tcp::socket socket)
      : server_(std::move(server)),
        socket_(std::move(socket)),
        timer_(server_->io),
        buffer_(server_->options.max_header_bytes + 1) {}

  std::list<std::shared_ptr<Connection>>::iterator position;

  void wait_for_request();
  void close();

 private:
  void arm(std::chrono::steady_clock::duration timeout);
  void read_header();
  void on_header(error_code ec);
  void handle_request();
  void respond(http::status status, std::string_view content_type, ScrapePage body,
               std::string_view extra_headers, bool keep_alive, bool head_only);
  void refuse(http::status status);
  void drain_and_close();

  std::shared_ptr<HttpServer::Impl> server_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  // The response in flight; its chunks stay shared with the page cache.
  std::string head_;
  ScrapePage body_;
  std::vector<asio::const_buffer> buffers_;
  std::uint64_t timer_generation_ = 0;
  std::size_t drained_ = 0;
  bool draining_ = false;
  bool closed_ = false;
};

void HttpServer::Connection::arm(std::chrono::steady_clock::duration timeout) {
  // A newer arm() makes older waits stale, whatever order their handlers run in.
  const auto generation = ++timer_generation_;
  timer_.expires_after(timeout);
  timer_.async_wait([self = shared_from_this(), generation](error_code ec) {
    if (ec || self->closed_ || generation != self->timer_generation_) return;
    ++self->server_->stats.timed_out;
    self->close();
  });
}

void HttpServer::Connection::close() {
  if (closed_) return;
  closed_ = true;
  error_code ignored;
  socket_.close(ignored);
  timer_.cancel();
  server_->connections.erase(position);
}

void HttpServer::Connection::wait_for_request() {
  arm(server_->options.idle_timeout);
  if (buffer_.size() > 0) {  // a pipelined request is already here
    read_header();
    return;
  }
  socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](error_code ec) {
    if (self->closed_) return;
    if (ec) return self->close();
    self->read_header();
  });
}

void HttpServer::Connection::read_header() {
  // The header clock starts at the first byte: a slowloris client gets header_timeout
  // in all, however slowly it trickles.
  arm(server_->options.header_timeout);
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(server_->options.max_header_bytes));
  http::async_read_header(socket_, buffer_, *parser_,
                          [self = shared_from_this()](error_code ec, std::size_t) {
                            if (!self->closed_) self->on_header(ec);
                          });
}

void HttpServer::Connection::on_header(error_code ec) {
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
    return refuse(http::status::request_header_fields_too_large);
  }
  // Beast's own parse errors (bad method, target, version, header...) get a 400.
  if (ec && ec.category() == http::make_error_code(http::error::header_limit).category() &&
      ec != http::error::end_of_stream && ec != http::error::partial_message) {
    return refuse(http::status::bad_request);
  }
  if (ec) return close();
  server_->touch(*this);
  handle_request();
}

void HttpServer::Connection::handle_request() {
  const auto& request = parser_->get();
  if ((parser_->content_length() && *parser_->content_length() > 0) || parser_->chunked()) {
    return refuse(http::status::payload_too_large);
  }
  const bool keep_alive = request.keep_alive();
  const auto method = request.method();
  const bool head_only = method == http::verb::head;
  std::string_view target = request.target();
  if (const auto query = target.find('?'); query != std::string_view::npos) {
    target = target.substr(0, query);
  }
  auto& server = *server_;
  if (method != http::verb::get && method != http::verb::head) {
    static const auto text = std::make_shared<const std::string>("Method Not Allowed\n");
    return respond(http::status::method_not_allowed, kTextType, ScrapePage{{text}},
                   "Allow: GET, HEAD\r\n", keep_alive, false);
  }
  if (target == server.metrics_target) {
    const bool gzip = accepts_gzip(request[http::field::accept_encoding]);
    ScrapePage page;
    try {
      page = server.provider(gzip);
    } catch (const std::exception& error) {
      log::error("scrape failed: ", error.what());
      static const auto text = std::make_shared<const std::string>("Internal Server Error\n");
      return respond(http::status::internal_server_error, kTextType, ScrapePage{{text}}, {}, false,
                     head_only);
    }
    ++server.stats.scrapes;
    const std::string_view extra = page.gzip ? "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n"
                                             : "Vary: Accept-Encoding\r\n";
    return respond(http::status::ok, kMetricsType, std::move(page), extra, keep_alive, head_only);
  }
  if (target == "/-/healthy") {
    return respond(http::status::ok, kTextType, ScrapePage{{server.healthy_text}}, {}, keep_alive,
                   head_only);
  }
  if (target == "/-/ready") {
    return respond(http::status::ok, kTextType, ScrapePage{{server.ready_text}}, {}, keep_alive,
                   head_only);
  }
  if (target == "/") {
    return respond(http::status::ok, "text/html; charset=utf-8", ScrapePage{{server.landing_page}},
                   {}, keep_alive, head_only);
  }
  static const auto not_found = std::make_shared<const std::string>("Not Found\n");
  respond(http::status::not_found, kTextType, ScrapePage{{not_found}}, {}, keep_alive, head_only);
}

void HttpServer::Connection::respond(http::status status, std::string_view content_type,
                                     ScrapePage body, std::string_view extra_headers,
                                     bool keep_alive, bool head_only) {
  ++server_->stats.requests;
  body_ = std::move(body);
  head_.clear();
  head_ += "HTTP/1.1 ";
  head_ += std::to_string(static_cast<unsigned>(status));
  head_.push_back(' ');
  head_ += http::obsolete_reason(status);
  head_ += "\r\nServer: bucky3\r\nDate: ";
  head_ += http_date();
  head_ += "\r\nContent-Type: ";
  head_ += content_type;
  head_ += "\r\nContent-Length: ";
  head_ += std::to_string(body_.size());
  head_ += keep_alive ? "\r\nConnection: keep-alive\r\n" : "\r\nConnection: close\r\n";
  head_ += extra_headers;
  head_ += "\r\n";
  buffers_.clear();
  buffers_.push_back(asio::buffer(head_));
  if (!head_only) {
    for (const auto& chunk : body_.chunks) buffers_.push_back(asio::buffer(*chunk));
  }
  // A client that stops reading is cut off after idle_timeout, not held forever.
  arm(server_->options.idle_timeout);
  asio::async_write(socket_, buffers_,
                    [self = shared_from_this(), keep_alive](error_code ec, std::size_t written) {
                      self->server_->stats.sent_bytes += written;
                      self->body_ = {};  // release the page as soon as it is sent
                      if (self->closed_) return;
                      if (ec) return self->close();
                      if (!keep_alive) return self->drain_and_close();
                      self->wait_for_request();
                    });
}

void HttpServer::Connection::refuse(http::status status) {
  ++server_->stats.rejected;
  const auto text =
      std::make_shared<const std::string>(std::string(http::obsolete_reason(status)) + "\n");
  respond(status, kTextType, ScrapePage{{text}}, {}, false, false);
}

void HttpServer::Connection::drain_and_close() {
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  if (!draining_) arm(kDrainTime);
  draining_ = true;
  buffer_.clear();
  if (drained_ >= kDrainBytes) return close();
  const auto space = std::min<std::size_t>(buffer_.max_size(), 4096);
  socket_.async_read_some(buffer_.prepare(space),
                          [self = shared_from_this()](error_code ec, std::size_t n) {
                            if (self->closed_) return;
                            if (ec) return self->close();
                            self->drained_ += n;
                            self->drain_and_close();
                          });
}

void HttpServer::Impl::touch(Connection& connection) {
  connections.splice(connections.end(), connections, connection.position);
}

void HttpServer::Impl::accept() {
  acceptor.async_accept([self = shared_from_this()](error_code ec, tcp::socket socket) {
    if (self->stopped) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      std::uint64_t suppressed = 0;
      if (self->accept_errors_log.allow(suppressed)) {
        log::warning("accept failed: ", ec.message(), " (", suppressed, " more not logged)");
      }
      // Out of descriptors or memory: free the idlest and retry a little later
      // instead of spinning. Other errors (a client gone before accept) just retry.
      const bool out_of_resources =
          ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
          ec == asio::error::no_memory || ec == boost::system::errc::too_many_files_open_in_system;
      if (!out_of_resources) return self->accept();
      if (!self->connections.empty()) {
        ++self->stats.closed_for_cap;
        self->connections.front()->close();
      }
      self->accept_retry.expires_after(std::chrono::milliseconds(50));
      self->accept_retry.async_wait([self](error_code wait_error) {
        if (!wait_error && !self->stopped) self->accept();
      });
      return;
    }
    ++self->stats.accepted;
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    while (!self->connections.empty() &&
           self->connections.size() >= std::max<std::size_t>(self->options.max_connections, 1)) {
      ++self->stats.closed_for_cap;
      self->connections.front()->close();
    }
    auto connection = std::make_shared<Connection>(self, std::move(socket));
    self->connections.push_back(connection);
    connection->position = std::prev(self->connections.end());
    connection->wait_for_request();
    self->accept();
  });
}

void HttpServer::Impl::stop() {
  if (stopped) return;
  stopped = true;
  error_code ignored;
  acceptor.close(ignored);
  accept_retry.cancel();
  while (!connections.empty()) connections.front()->close();
}

HttpServer::HttpServer(asio::io_context& io, HttpOptions options, PageProvider provider) {
  raise_open_files_limit();
  impl_ = std::make_shared<Impl>(io, std::move(options), std::move(provider));
  auto& impl = *impl_;
  std::string_view path = impl.options.http_path;
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  impl.metrics_target = "/" + std::string(path);
  impl.landing_page = std::make_shared<const std::string>(
      "<html><head><title>Bucky3 exporter</title></head><body><h1>Bucky3 exporter</h1>"
      "<p><a href=\"" +
      html_escape(impl.metrics_target) + "\">Metrics</a></p></body></html>\n");
  impl.healthy_text = std::make_shared<const std::string>("Bucky3 exporter is Healthy.\n");
  impl.ready_text = std::make_shared<const std::string>("Bucky3 exporter is Ready.\n");

  const auto endpoint = resolve_local_host(io, impl.options.local_host);
  try {
    impl.acceptor.open(endpoint.protocol());
    impl.acceptor.set_option(tcp::acceptor::reuse_address(true));
    impl.acceptor.bind(endpoint);
    impl.acceptor.listen(asio::socket_base::max_listen_connections);
  } catch (const boost::system::system_error& error) {
    throw std::runtime_error("cannot listen on " + impl.options.local_host + ": " +
                             error.code().message());
  }
  impl.accept();
}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::stop() {
  if (impl_) impl_->stop();
}

std::uint16_t HttpServer::port() const {
  error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

HttpStats HttpServer::stats() const {
  auto stats = impl_->stats;
  stats.open_connections = impl_->connections.size();
  return stats;
}

std::uint64_t raise_open_files_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur;
}

}  // namespace bucky3::prometheus
