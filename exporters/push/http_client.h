// HTTP(S) client of the push destinations on Boost.Beast: one keep-alive
// connection per host, gzip request bodies, TLS with the system's CAs,
// Retry-After, and the Transport that sends one payload per request.
#pragma once
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "exporters/push/push.h"
#include "exporters/push/resolver.h"

namespace bucky3::push {

struct Url {
  bool tls = false;
  HostPort origin;     // port defaults to 80 / 443
  std::string target;  // "/api/v1/write?x=y"; "/" when the URL has no path
};
// parse_http_url() (common/endpoint.h) in the terms of the transports.
std::optional<Url> parse_url(std::string_view text);

struct HttpRequest {
  std::string method = "POST";
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Type etc.
  std::string body;
  bool gzip = false;  // compress the body (level 1), Content-Encoding: gzip
};

struct HttpResponse {
  unsigned status = 0;
  std::string body;                                      // at most 64 KiB kept
  std::optional<std::chrono::milliseconds> retry_after;  // from Retry-After (seconds or a date)
};

struct HttpClientOptions {
  std::chrono::milliseconds timeout{10000};  // connect, TLS handshake, and each request
  ResolveOptions resolve;
  bool verify_tls = true;
  std::string ca_file;  // empty: the system's CAs
};

// Parses Retry-After: delta-seconds or an HTTP-date (relative to `now`); capped at 10 min.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now);
// A gzip member of `data`.
std::string gzip_compress(std::string_view data, int level = 1);

// One keep-alive connection to one origin, one request at a time. While idle,
// a wait for readability is pending: a server closing the connection is seen
// at once, and the next request opens a new one. A kept connection outlives a
// re-lookup of the name only while the name still has the connection's address. A request that
// fails on a reused connection before any answer byte is sent once more on a new one.
class HttpClient {
 public:
  using Callback = std::function<void(boost::system::error_code, HttpResponse)>;
  HttpClient(boost::asio::io_context& io, HostPort origin, bool tls,
             HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // `callback` runs on the loop, never inside request(). An error code means no
  // usable answer (connect, TLS, timeout, a broken connection).
  void request(HttpRequest request, Callback callback);
  // Closes the connection; a request outstanding is abandoned (its callback never runs).
  void close();
  std::string origin() const;  // "https://host:443"
  std::uint64_t connections_opened() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// How every push module reads an answer unless it knows better: 2xx
// delivered; 429 and 503 retry honouring Retry-After; 401 and 403 retry at the
// slowest backoff, logged once; 413 split in two by `split` (dropped when it
// gives nothing); 408 and other 5xx retry; any other 4xx dropped, the answer's
// body in the reason.
using Splitter = std::function<std::vector<PayloadPtr>(const Payload&)>;
Outcome classify_response(const HttpResponse& response, const Payload& payload,
                          const Splitter& split);

class HttpTransport final : public Transport {
 public:
  using BuildRequest = std::function<HttpRequest(const Payload&)>;
  using Classify = std::function<Outcome(const HttpResponse&, const Payload&)>;
  // Run before the first payload and again after an Outcome with `setup_again`
  // (e.g. InfluxDB 1.x CREATE DATABASE); its answer is only logged.
  using Setup = std::function<std::optional<HttpRequest>()>;

  HttpTransport(boost::asio::io_context& io, Url url, HttpClientOptions options, BuildRequest build,
                Classify classify, std::string label);
  ~HttpTransport() override;
  void set_setup(Setup setup);

  void send(const PayloadPtr& payload, Done done) override;
  void close() override;
  std::string describe() const override { return label_; }
  HttpClient& client() { return client_; }

 private:
  void send_payload(const PayloadPtr& payload);
  HttpClient client_;
  Url url_;
  BuildRequest build_;
  Classify classify_;
  Setup setup_;
  bool setup_pending_ = false;
  std::string label_;
  Done pending_;  // the send outstanding
};

}  // namespace bucky3::push
