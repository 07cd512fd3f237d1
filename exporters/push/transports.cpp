// UDP, TCP and replay transports; see transports.h.
#include "exporters/push/transports.h"

#include <algorithm>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <optional>

#include "common/log.h"

namespace bucky3::push {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

class UdpTransport final : public Transport {
 public:
  UdpTransport(asio::io_context& io, HostPort target, std::string label, ResolveOptions resolve)
      : resolver_(io, target, std::move(resolve)),
        v4_(io),
        v6_(io),
        label_(std::move(label) + " " + format_host_port(target)) {}

  void send(const PayloadPtr& payload, Done done) override {
    resolver_.get([this, payload, done = std::move(done)](error_code ec,
                                                          const Resolver::Addresses& addresses) {
      if (ec) return done(Outcome::retry_after("cannot resolve: " + ec.message()));
      const asio::ip::udp::endpoint endpoint(addresses.front(), resolver_.target().port);
      auto& socket = endpoint.address().is_v6() ? v6_ : v4_;
      if (!socket.is_open()) {
        socket.open(endpoint.protocol(), ec);
        if (ec) return done(Outcome::retry_after("cannot open a UDP socket: " + ec.message()));
      }
      socket.send_to(asio::buffer(payload->bytes), endpoint, 0, ec);
      if (ec) return done(Outcome::retry_after("send: " + ec.message()));
      done(Outcome::ok());
    });
  }
  void close() override {
    error_code ignored;
    v4_.close(ignored);
    v6_.close(ignored);
    resolver_.cancel();
  }
  std::string describe() const override { return label_; }

 private:
  Resolver resolver_;
  asio::ip::udp::socket v4_, v6_;
  std::string label_;
};

class TcpTransport final : public Transport {
 public:
  TcpTransport(asio::io_context& io, HostPort target, std::string label, TcpOptions options)
      : resolver_(io, target, options.resolve),
        socket_(io),
        timer_(io),
        options_(options),
        label_(std::move(label) + " " + format_host_port(target)) {}
  ~TcpTransport() override { close(); }

  void send(const PayloadPtr& payload, Done done) override {
    payload_ = payload;
    done_ = std::move(done);
    // A connection older than the name's last lookup is kept only while the
    // name still points at it.
    if (socket_.is_open() && !peer_closed_ && !resolver_.stale()) return write();
    resolver_.get(
        [this, generation = generation_](error_code ec, const Resolver::Addresses& addresses) {
          if (generation != generation_ || !done_) return;
          if (ec) return finish(Outcome::retry_after("cannot resolve: " + ec.message()));
          if (socket_.is_open() && !peer_closed_) {
            error_code ignored;
            const auto peer = socket_.remote_endpoint(ignored).address();
            if (std::find(addresses.begin(), addresses.end(), peer) != addresses.end())
              return write();
            log::info(label_, " no longer resolves to ", peer.to_string(), ": a new connection");
          }
          connect(addresses);
        });
  }

  void close() override {
    ++generation_;
    error_code ignored;
    timer_.cancel();
    socket_.close(ignored);
    resolver_.cancel();
    peer_closed_ = false;
    if (done_) finish(Outcome::retry_after("connection closed"));
  }

  std::string describe() const override { return label_; }

 private:
  void finish(Outcome outcome) {
    auto done = std::move(done_);
    done_ = nullptr;
    payload_.reset();
    done(std::move(outcome));
  }

  void fail(const std::string& what) {
    // Close first (a new generation), then report: the payload is retried on a new connection.
    ++generation_;
    error_code ignored;
    timer_.cancel();
    socket_.close(ignored);
    peer_closed_ = false;
    finish(Outcome::retry_after(what));
  }

  void connect(const Resolver::Addresses& addresses) {
    ++generation_;
    error_code ignored;
    socket_.close(ignored);
    peer_closed_ = false;
    std::vector<asio::ip::tcp::endpoint> endpoints;
    for (const auto& address : addresses) endpoints.emplace_back(address, resolver_.target().port);
    const auto generation = generation_;
    arm_timer(options_.connect_timeout, "connect timed out");
    asio::async_connect(socket_, endpoints,
                        [this, generation](const error_code& ec, const asio::ip::tcp::endpoint&) {
                          if (generation != generation_) return;
                          timer_.cancel();
                          if (ec) return fail("connect: " + ec.message());
                          error_code ignored;
                          socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
                          start_read();
                          write();
                        });
  }

  void arm_timer(std::chrono::milliseconds after, std::string what) {
    const auto generation = generation_;
    timer_.expires_after(after);
    timer_.async_wait([this, generation, what = std::move(what)](const error_code& ec) {
      if (ec || generation != generation_) return;
      fail(what);
    });
  }

  // The peer (carbon) never sends: a read completing means it closed (or sent
  // something we discard). It stays pending for the connection's lifetime.
  void start_read() {
    socket_.async_read_some(asio::buffer(read_buffer_),
                            [this, generation = generation_](const error_code& ec, std::size_t) {
                              if (generation != generation_) return;
                              if (!ec) return start_read();
                              peer_closed_ = true;
                              if (!writing_) {
                                ++generation_;
                                error_code ignored;
                                socket_.close(ignored);
                              }
                            });
  }

  void write() {
    writing_ = true;
    const auto generation = generation_;
    arm_timer(options_.write_timeout, "write timed out after " +
                                          std::to_string(options_.write_timeout.count()) +
                                          " ms (the peer does not read)");
    asio::async_write(socket_, asio::buffer(payload_->bytes),
                      [this, generation](const error_code& ec, std::size_t) {
                        if (generation != generation_) return;
                        writing_ = false;
                        timer_.cancel();
                        if (ec) return fail("write: " + ec.message());
                        // Written into the kernel, but the peer had already gone: not delivered.
                        if (peer_closed_) return fail("the peer closed the connection");
                        finish(Outcome::ok());
                      });
  }

  Resolver resolver_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;
  TcpOptions options_;
  std::string label_;
  std::uint64_t generation_ = 0;  // bumped at each close: older callbacks do nothing
  bool peer_closed_ = false;
  bool writing_ = false;
  PayloadPtr payload_;
  Done done_;
  std::array<char, 512> read_buffer_{};
};

class ReplayTransport final : public Transport {
 public:
  explicit ReplayTransport(std::ostream& out) : out_(out) {}
  void send(const PayloadPtr& payload, Done done) override {
    out_.write(payload->bytes.data(), static_cast<std::streamsize>(payload->bytes.size()));
    out_.flush();
    done(out_ ? Outcome::ok() : Outcome::retry_after("cannot write the replay output"));
  }
  void close() override {}
  std::string describe() const override { return "replay output"; }

 private:
  std::ostream& out_;
};

}  // namespace

std::unique_ptr<Transport> make_udp_transport(asio::io_context& io, HostPort target,
                                              std::string label, ResolveOptions resolve) {
  return std::make_unique<UdpTransport>(io, std::move(target), std::move(label),
                                        std::move(resolve));
}

std::unique_ptr<Transport> make_tcp_transport(asio::io_context& io, HostPort target,
                                              std::string label, TcpOptions options) {
  return std::make_unique<TcpTransport>(io, std::move(target), std::move(label), options);
}

std::unique_ptr<Transport> make_replay_transport(std::ostream& out) {
  return std::make_unique<ReplayTransport>(out);
}

}  // namespace bucky3::push
