// HTTP(S) push client on Boost.Beast; see http_client.h.
#include "exporters/push/http_client.h"

#include <openssl/ssl.h>
#include <zlib.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <ctime>
#include <stdexcept>

#include "common/endpoint.h"
#include "common/log.h"

namespace bucky3::push {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using boost::system::error_code;
using std::chrono::milliseconds;

std::optional<Url> parse_url(std::string_view text) {
  auto url = parse_http_url(text);
  if (!url) return std::nullopt;
  return Url{url->tls, HostPort{std::move(url->host), url->port}, std::move(url->target)};
}

std::optional<milliseconds> parse_retry_after(std::string_view value,
                                              std::chrono::system_clock::time_point now) {
  constexpr auto cap = std::chrono::minutes(10);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 6) return cap;
    std::int64_t seconds = 0;
    for (const char c : value) seconds = seconds * 10 + (c - '0');
    return std::min<milliseconds>(std::chrono::seconds(seconds), cap);
  }
  // IMF-fixdate: "Wed, 21 Oct 2015 07:28:00 GMT".
  std::tm tm{};
  const std::string text(value);
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  const auto when = std::chrono::system_clock::from_time_t(::timegm(&tm));
  if (when <= now) return milliseconds(0);
  return std::min<milliseconds>(std::chrono::duration_cast<milliseconds>(when - now), cap);
}

std::string gzip_compress(std::string_view data, int level) {
  z_stream zs{};
  // 15 + 16: a gzip header and trailer around the deflate stream.
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(data.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate did not finish");
  return out;
}

struct HttpClient::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_, HostPort origin_, bool tls_, HttpClientOptions options_)
      : io(io_),
        origin(std::move(origin_)),
        tls(tls_),
        options(options_),
        resolver(io_, origin, options_.resolve) {
    if (tls) {
      ssl_context.emplace(asio::ssl::context::tls_client);
      ssl_context->set_options(asio::ssl::context::default_workarounds |
                               asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3);
      if (options.ca_file.empty()) {
        ssl_context->set_default_verify_paths();
      } else {
        ssl_context->load_verify_file(options.ca_file);
      }
      ssl_context->set_verify_mode(options.verify_tls ? asio::ssl::verify_peer
                                                      : asio::ssl::verify_none);
    }
  }

  beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

  template <class F>
  void with_stream(F&& f) {
    if (secure) {
      f(*secure);
    } else {
      f(*plain);
    }
  }

  void drop_connection() {
    ++generation;
    connected = false;
    error_code ignored;
    if (plain) plain->socket().close(ignored);
    if (secure) beast::get_lowest_layer(*secure).socket().close(ignored);
    buffer.clear();
  }

  void complete(error_code ec, HttpResponse response) {
    busy = false;
    auto cb = std::move(callback);
    callback = nullptr;
    if (cb) cb(ec, std::move(response));
  }

  void start(bool first_attempt) {
    reused = connected;
    if (connected) {
      // Cancels the idle wait; its handler sees a new generation and does nothing.
      ++generation;
      error_code ignored;
      lowest().socket().cancel(ignored);
      if (!resolver.stale()) return write(first_attempt);
    }
    auto self = shared_from_this();
    const auto generation_now = ++generation;
    resolver.get([self, generation_now, first_attempt](error_code ec,
                                                       const Resolver::Addresses& addresses) {
      if (generation_now != self->generation) return;
      if (ec) {
        self->drop_connection();
        return self->complete(ec, {});
      }
      // After a re-lookup, the kept connection stays only while the name
      // still has its address (a server moved to a new address is followed).
      if (self->connected) {
        error_code peer_error;
        const auto peer = self->lowest().socket().remote_endpoint(peer_error).address();
        if (!peer_error && std::find(addresses.begin(), addresses.end(), peer) != addresses.end())
          return self->write(first_attempt);
        log::info(self->tls ? "https://" : "http://", format_host_port(self->origin),
                  " no longer resolves to ", peer.to_string(), ": a new connection");
        self->reused = false;
      }
      self->connect(addresses, first_attempt);
    });
  }

  void connect(const Resolver::Addresses& addresses, bool first_attempt) {
    drop_connection();
    plain.reset();
    secure.reset();
    if (tls) {
      secure = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(io, *ssl_context);
    } else {
      plain = std::make_unique<beast::tcp_stream>(io);
    }
    std::vector<asio::ip::tcp::endpoint> endpoints;
    for (const auto& address : addresses) endpoints.emplace_back(address, origin.port);
    auto self = shared_from_this();
    const auto generation_now = generation;
    lowest().expires_after(options.timeout);
    lowest().async_connect(endpoints, [self, generation_now, first_attempt](
                                          error_code ec, const asio::ip::tcp::endpoint&) {
      if (generation_now != self->generation) return;
      if (ec) {
        self->drop_connection();
        return self->complete(ec, {});
      }
      ++self->opened;
      error_code ignored;
      self->lowest().socket().set_option(asio::ip::tcp::no_delay(true), ignored);
      if (!self->secure) {
        self->connected = true;
        return self->write(first_attempt);
      }
      // SNI for a name (RFC 6066 permits no address literal there: a server
      // may refuse it), and the certificate must name the host: its DNS names
      // for a name, its IP addresses for an address (host_name_verification
      // checks the leaf with X509_check_host or X509_check_ip_asc; the chain is
      // checked by verify_peer before).
      if (!self->host_is_address &&
          !SSL_set_tlsext_host_name(self->secure->native_handle(), self->origin.host.c_str())) {
        self->drop_connection();
        return self->complete(
            error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category()), {});
      }
      if (self->options.verify_tls) {
        self->secure->set_verify_callback(asio::ssl::host_name_verification(self->origin.host));
      }
      self->lowest().expires_after(self->options.timeout);
      self->secure->async_handshake(asio::ssl::stream_base::client,
                                    [self, generation_now, first_attempt](error_code ec) {
                                      if (generation_now != self->generation) return;
                                      if (ec) {
                                        self->drop_connection();
                                        return self->complete(ec, {});
                                      }
                                      self->connected = true;
                                      self->write(first_attempt);
                                    });
    });
  }

  // A kept connection the server closed while we were about to use it: once
  // more on a new connection (the server cannot have acted on a request it
  // never answered... or it may have: at-least-once, as everywhere).
  bool retry_on_new_connection(bool first_attempt, bool got_answer_bytes) {
    if (!reused || !first_attempt || got_answer_bytes) return false;
    drop_connection();
    start(false);
    return true;
  }

  void write(bool first_attempt) {
    auto self = shared_from_this();
    const auto generation_now = generation;
    lowest().expires_after(options.timeout);
    with_stream([&](auto& stream) {
      http::async_write(stream, request,
                        [self, generation_now, first_attempt](error_code ec, std::size_t) {
                          if (generation_now != self->generation) return;
                          if (ec) {
                            if (self->retry_on_new_connection(first_attempt, false)) return;
                            self->drop_connection();
                            return self->complete(ec, {});
                          }
                          self->read(first_attempt);
                        });
    });
  }

  void read(bool first_attempt) {
    auto self = shared_from_this();
    const auto generation_now = generation;
    parser.emplace();
    parser->body_limit(4 << 20);
    lowest().expires_after(options.timeout);
    with_stream([&](auto& stream) {
      http::async_read(stream, buffer, *parser,
                       [self, generation_now, first_attempt](error_code ec, std::size_t bytes) {
                         if (generation_now != self->generation) return;
                         if (ec) {
                           if (self->retry_on_new_connection(first_attempt, bytes > 0)) return;
                           self->drop_connection();
                           return self->complete(ec, {});
                         }
                         auto message = self->parser->release();
                         HttpResponse response;
                         response.status = message.result_int();
                         response.body = std::move(message.body());
                         if (response.body.size() > 65536) response.body.resize(65536);
                         if (const auto it = message.find(http::field::retry_after);
                             it != message.end()) {
                           response.retry_after =
                               parse_retry_after(it->value(), std::chrono::system_clock::now());
                         }
                         if (message.keep_alive()) {
                           self->idle_wait();
                         } else {
                           self->drop_connection();
                         }
                         self->complete({}, std::move(response));
                       });
    });
  }

  // The server sends nothing between answers: readable means it closed (or
  // broke the protocol). Either way the connection is not used again.
  void idle_wait() {
    auto self = shared_from_this();
    const auto generation_now = ++generation;
    lowest().expires_never();
    lowest().socket().async_wait(asio::socket_base::wait_read,
                                 [self, generation_now](error_code ec) {
                                   if (ec || generation_now != self->generation) return;
                                   self->drop_connection();
                                 });
  }

  asio::io_context& io;
  HostPort origin;
  bool tls;
  HttpClientOptions options;
  Resolver resolver;
  std::optional<asio::ssl::context> ssl_context;
  const bool host_is_address = [this] {
    error_code ec;
    asio::ip::make_address(origin.host, ec);
    return !ec;
  }();
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  http::request<http::string_body> request;
  std::optional<http::response_parser<http::string_body>> parser;
  Callback callback;
  bool connected = false;
  bool reused = false;
  bool busy = false;
  std::uint64_t generation = 0;  // bumped whenever pending handlers must do nothing
  std::uint64_t opened = 0;
};

HttpClient::HttpClient(asio::io_context& io, HostPort origin, bool tls, HttpClientOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(origin), tls, options)) {}

HttpClient::~HttpClient() {
  close();
}

void HttpClient::request(HttpRequest request, Callback callback) {
  auto& impl = *impl_;
  if (impl.busy) throw std::logic_error("HttpClient: one request at a time");
  impl.busy = true;
  impl.callback = std::move(callback);
  auto& req = impl.request;
  req = {};
  const auto verb = http::string_to_verb(request.method);
  req.method(verb == http::verb::unknown ? http::verb::post : verb);
  req.target(request.target);
  req.version(11);
  const bool default_port = impl.origin.port == (impl.tls ? 443 : 80);
  const bool v6 = impl.origin.host.find(':') != std::string::npos;
  const std::string host = v6 ? "[" + impl.origin.host + "]" : impl.origin.host;
  req.set(http::field::host, default_port ? host : host + ":" + std::to_string(impl.origin.port));
  req.set(http::field::user_agent, "bucky3");
  req.keep_alive(true);
  for (auto& [name, value] : request.headers) req.set(name, value);
  if (request.gzip) {
    req.set(http::field::content_encoding, "gzip");
    req.body() = gzip_compress(request.body);
  } else {
    req.body() = std::move(request.body);
  }
  req.prepare_payload();
  impl.start(true);
}

void HttpClient::close() {
  impl_->drop_connection();
  impl_->resolver.cancel();
  impl_->callback = nullptr;
  impl_->busy = false;
}

std::string HttpClient::origin() const {
  return std::string(impl_->tls ? "https://" : "http://") + format_host_port(impl_->origin);
}

std::uint64_t HttpClient::connections_opened() const {
  return impl_->opened;
}

Outcome classify_response(const HttpResponse& response, const Payload& payload,
                          const Splitter& split) {
  const auto status = response.status;
  const std::string what = "HTTP " + std::to_string(status);
  const auto with_body = [&](std::string text) {
    if (!response.body.empty()) {
      text += ": ";
      text += response.body.substr(0, 300);
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    }
    return text;
  };
  if (status >= 200 && status < 300) return Outcome::ok();
  if (status == 429 || status == 503) {
    return Outcome::retry_after(with_body(what), response.retry_after.value_or(milliseconds(0)));
  }
  if (status == 401 || status == 403) {
    auto out = Outcome::retry_after(with_body(what + " (check the credentials)"));
    out.slow = true;
    out.log_once = true;
    return out;
  }
  if (status == 413) {
    auto parts = split ? split(payload) : std::vector<PayloadPtr>{};
    if (parts.size() < 2)
      return Outcome::drop(with_body(what + ", and the payload cannot be split further"));
    Outcome out;
    out.kind = Outcome::Kind::split;
    out.parts = std::move(parts);
    return out;
  }
  if (status == 408 || status >= 500) return Outcome::retry_after(with_body(what));
  return Outcome::drop(with_body(what));
}

namespace {
// Beast's "The socket was closed due to a timeout" says less than our own words.
std::string failure_text(const error_code& ec) {
  return ec == beast::error::timeout ? "timed out" : ec.message();
}
}  // namespace

HttpTransport::HttpTransport(asio::io_context& io, Url url, HttpClientOptions options,
                             BuildRequest build, Classify classify, std::string label)
    : client_(io, url.origin, url.tls, options),
      url_(std::move(url)),
      build_(std::move(build)),
      classify_(std::move(classify)),
      label_(std::move(label) + " " + client_.origin()) {}

HttpTransport::~HttpTransport() = default;

void HttpTransport::set_setup(Setup setup) {
  setup_ = std::move(setup);
  setup_pending_ = static_cast<bool>(setup_);
}

void HttpTransport::send(const PayloadPtr& payload, Done done) {
  pending_ = std::move(done);
  if (!setup_pending_) return send_payload(payload);
  auto request = setup_();
  if (!request) {
    setup_pending_ = false;
    return send_payload(payload);
  }
  client_.request(std::move(*request), [this, payload](error_code ec, HttpResponse response) {
    if (ec) {
      if (auto done = std::exchange(pending_, nullptr))
        done(Outcome::retry_after("setup request: " + failure_text(ec)));
      return;
    }
    if (response.status >= 200 && response.status < 300) {
      setup_pending_ = false;
    } else {
      log::warning(label_, ": setup request answered HTTP ", response.status, ": ",
                   response.body.substr(0, 300));
      setup_pending_ = false;  // the payload's own answer decides what happens next
    }
    send_payload(payload);
  });
}

void HttpTransport::send_payload(const PayloadPtr& payload) {
  client_.request(build_(*payload), [this, payload](error_code ec, HttpResponse response) {
    auto done = std::exchange(pending_, nullptr);
    if (!done) return;
    if (ec) return done(Outcome::retry_after(failure_text(ec)));
    auto outcome = classify_(response, *payload);
    if (outcome.setup_again && setup_) setup_pending_ = true;
    done(std::move(outcome));
  });
}

void HttpTransport::close() {
  client_.close();
  if (auto done = std::exchange(pending_, nullptr)) done(Outcome::retry_after("connection closed"));
}

}  // namespace bucky3::push
