// StatsD sockets on an Asio loop: recvmmsg batches for datagrams, readiness-driven
// non-blocking reads for TCP, so no socket can hold the loop; see receiver.h.
#include "collectors/statsd/receiver.h"

#include <linux/sock_diag.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/local/datagram_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <unordered_set>
#include <vector>

#include "collectors/statsd/decompress.h"
#include "common/endpoint.h"
#include "common/log.h"

namespace bucky3::statsd {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

template <class Protocol>
typename Protocol::endpoint resolve(asio::io_context& io, const std::string& spec) {
  const auto endpoint = parse_endpoint(spec);
  if (!endpoint || !endpoint->port) {
    throw std::runtime_error("statsd: address \"" + spec + "\" is not host:port");
  }
  error_code ec;
  typename Protocol::resolver resolver(io);
  const auto results = resolver.resolve(endpoint->host, std::to_string(*endpoint->port), ec);
  if (ec || results.empty()) {
    throw std::runtime_error("statsd: cannot resolve \"" + spec + "\": " + ec.message());
  }
  return results.begin()->endpoint();
}

[[noreturn]] void fail(std::string_view what, const std::string& address, const error_code& ec) {
  throw std::runtime_error("statsd: cannot " + std::string(what) + " " + address + ": " +
                           ec.message());
}

// The buffers of one recvmmsg call, reused for every call on one socket.
class DatagramBatch {
 public:
  DatagramBatch(std::size_t count, std::size_t buffer_size)
      : buffer_size_(buffer_size),
        // Not value-initialised: pages are touched only as datagrams fill them.
        buffers_(new char[count * buffer_size]),
        iovecs_(count),
        headers_(count),
        controls_(count * kControlWords) {
    for (std::size_t i = 0; i < count; ++i) {
      iovecs_[i] = {buffers_.get() + i * buffer_size, buffer_size};
      headers_[i].msg_hdr.msg_iov = &iovecs_[i];
      headers_[i].msg_hdr.msg_iovlen = 1;
    }
  }

  std::size_t size() const { return headers_.size(); }

  // Non-blocking: returns the datagrams read (0 < n <= size()), or -1 and errno.
  int receive(int fd) {
    for (std::size_t i = 0; i < headers_.size(); ++i) {
      // The kernel shrinks msg_controllen to what it wrote: reset it every call.
      headers_[i].msg_hdr.msg_control = &controls_[i * kControlWords];
      headers_[i].msg_hdr.msg_controllen = kControlWords * sizeof(std::uint64_t);
      headers_[i].msg_hdr.msg_flags = 0;
    }
    return ::recvmmsg(fd, headers_.data(), static_cast<unsigned>(headers_.size()), MSG_DONTWAIT,
                      nullptr);
  }

  std::string_view datagram(std::size_t i) const {
    return {buffers_.get() + i * buffer_size_, headers_[i].msg_len};
  }
  bool truncated(std::size_t i) const { return (headers_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0; }

  // The socket's drop counter as of datagram i, when SO_RXQ_OVFL attached one
  // (the kernel attaches it only once something was dropped).
  std::optional<std::uint32_t> drop_counter(std::size_t i) {
    auto* header = &headers_[i].msg_hdr;
    for (cmsghdr* c = CMSG_FIRSTHDR(header); c != nullptr; c = CMSG_NXTHDR(header, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL &&
          c->cmsg_len >= CMSG_LEN(sizeof(std::uint32_t))) {
        std::uint32_t counter = 0;
        std::memcpy(&counter, CMSG_DATA(c), sizeof counter);
        return counter;
      }
    }
    return std::nullopt;
  }

 private:
  // Room for one SO_RXQ_OVFL cmsg (CMSG_SPACE(4) is 24 on 64-bit), 8-aligned.
  static constexpr std::size_t kControlWords = 4;
  std::size_t buffer_size_;
  std::unique_ptr<char[]> buffers_;
  std::vector<iovec> iovecs_;
  std::vector<mmsghdr> headers_;
  std::vector<std::uint64_t> controls_;
};

// 64 KiB holds any UDP payload (65,507 bytes over IPv4), so nothing is truncated;
// 64 of them per recvmmsg is 4 MiB of address space, touched only as used.
constexpr std::size_t kUdpBatch = 64;
constexpr std::size_t kUdpBufferSize = 65536;
// Unix datagrams can be larger than UDP's (up to the sender's SO_SNDBUF).
constexpr std::size_t kUnixBatch = 8;
// TCP bytes read per wakeup of one connection before the loop gets a turn.
constexpr std::size_t kTcpReadSize = 65536;
constexpr int kTcpReadsPerWakeup = 4;

}  // namespace

struct Receiver::Impl : std::enable_shared_from_this<Impl> {
  struct TcpConnection {
    explicit TcpConnection(asio::ip::tcp::socket s) : socket(std::move(s)) {}
    asio::ip::tcp::socket socket;
    std::string pending;    // a line not yet ended by '\n'
    bool skipping = false;  // inside an overlong line: drop bytes up to the next '\n'
  };
  using Connection = std::shared_ptr<TcpConnection>;

  Impl(asio::io_context& io_context, ReceiverOptions opts, Handler on_payload)
      : io(io_context),
        options(std::move(opts)),
        handler(std::move(on_payload)),
        accept_retry(io_context) {}

  asio::io_context& io;
  const ReceiverOptions options;
  Handler handler;
  DropHandler on_drop;
  ReceiverStats stats;
  bool closed = false;

  std::optional<asio::ip::udp::socket> udp;
  std::optional<DatagramBatch> udp_batch;
  std::size_t granted_buffer = 0;
  // The last value of the socket's 32-bit drop counter seen; stats.kernel_drops
  // adds its increments, so a wrap of the counter loses nothing.
  std::uint32_t last_drop_counter = 0;

  std::optional<asio::local::datagram_protocol::socket> unix_socket;
  std::optional<DatagramBatch> unix_batch;
  bool unix_socket_bound = false;  // the file at the path is ours to unlink

  std::optional<asio::ip::tcp::acceptor> acceptor;
  asio::steady_timer accept_retry;
  std::unordered_set<Connection> connections;
  // One read buffer for every connection: the loop is single-threaded and a
  // connection's bytes are consumed before the next read.
  std::vector<char> tcp_buffer = std::vector<char>(kTcpReadSize);

  std::string decompressed;  // reused for every compressed datagram
  log::RateLimiter drop_log;

  void open_udp() {
    const auto endpoint = resolve<asio::ip::udp>(io, options.udp_host);
    error_code ec;
    udp.emplace(io);
    udp_batch.emplace(kUdpBatch, kUdpBufferSize);
    udp->open(endpoint.protocol(), ec);
    if (ec) fail("open UDP socket for", options.udp_host, ec);
    const int fd = udp->native_handle();
    const int asked = static_cast<int>(std::min<std::size_t>(options.socket_buffer, INT_MAX / 2));
    // SO_RCVBUFFORCE passes net.core.rmem_max (4 MiB here) but needs CAP_NET_ADMIN.
    const bool forced = ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &asked, sizeof asked) == 0;
    if (!forced) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &asked, sizeof asked);
    int granted = 0;
    socklen_t length = sizeof granted;
    ::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &length);
    granted_buffer = static_cast<std::size_t>(granted) / 2;
    const int on = 1;
    if (::setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on) != 0) {
      log::warning("UDP ", options.udp_host, ": SO_RXQ_OVFL unavailable: ", std::strerror(errno));
    }
    udp->bind(endpoint, ec);
    if (ec) fail("bind UDP", options.udp_host, ec);
    udp->non_blocking(true, ec);
    log::info("listening on UDP ", udp->local_endpoint(ec), ", receive buffer ", granted_buffer,
              " bytes granted for socket_buffer ", options.socket_buffer,
              forced ? " (SO_RCVBUFFORCE)" : " (SO_RCVBUF, capped by net.core.rmem_max)");
  }

  void open_unix() {
    const std::string& path = *options.unix_socket;
    struct stat status {};
    // A socket file left by a previous run would make bind() fail; anything else
    // at that path is not ours to remove.
    if (::lstat(path.c_str(), &status) == 0) {
      if (!S_ISSOCK(status.st_mode)) {
        throw std::runtime_error("statsd: " + path + " exists and is not a socket");
      }
      ::unlink(path.c_str());
    }
    error_code ec;
    unix_socket.emplace(io);
    unix_batch.emplace(kUnixBatch, std::clamp<std::size_t>(options.max_datagram_size + 1,
                                                           kUdpBufferSize, std::size_t{16} << 20));
    unix_socket->open(asio::local::datagram_protocol(), ec);
    if (ec) fail("open unix socket", path, ec);
    unix_socket->bind(asio::local::datagram_protocol::endpoint(path), ec);
    if (ec) {
      fail("bind unix socket", path, ec);
    }
    unix_socket_bound = true;
    if (::chmod(path.c_str(), options.unix_socket_mode) != 0) {
      fail("chmod unix socket", path, error_code(errno, boost::system::system_category()));
    }
    unix_socket->non_blocking(true, ec);
    log::info("listening on unix socket ", path);
  }

  void open_tcp() {
    const auto endpoint = resolve<asio::ip::tcp>(io, *options.tcp_host);
    error_code ec;
    acceptor.emplace(io);
    acceptor->open(endpoint.protocol(), ec);
    if (ec) fail("open TCP socket for", *options.tcp_host, ec);
    acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    acceptor->bind(endpoint, ec);
    if (ec) fail("bind TCP", *options.tcp_host, ec);
    acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      fail("listen on TCP", *options.tcp_host, ec);
    }
    log::info("listening on TCP ", acceptor->local_endpoint(ec));
  }

  void start() {
    // Reading first, not waiting: with Asio's edge-triggered epoll a datagram
    // that arrived before the first wait would not wake us.
    if (udp) asio::post(io, [self = shared_from_this()] { self->read_udp(); });
    if (unix_socket) asio::post(io, [self = shared_from_this()] { self->read_unix(); });
    if (acceptor) accept();
  }

  // ---- datagrams -----------------------------------------------------------

  void note_drop_counter(std::uint32_t counter) {
    // The counter only grows (modulo 2^32); an older value (a datagram queued
    // before the last SO_MEMINFO read) is not a decrease.
    const auto increase = static_cast<std::int32_t>(counter - last_drop_counter);
    if (increase <= 0) return;
    stats.kernel_drops += static_cast<std::uint32_t>(increase);
    last_drop_counter = counter;
  }

  void drop(std::string_view transport, std::string_view reason, std::size_t size) {
    if (on_drop) on_drop(reason);
    std::uint64_t suppressed = 0;
    if (drop_log.allow(suppressed)) {
      log::warning("dropped a ", size, "-byte ", transport, " datagram: ", reason,
                   suppressed ? " (" + std::to_string(suppressed) + " more not logged)" : "");
    }
  }

  void deliver_datagram(std::string_view transport, std::string_view datagram, bool truncated) {
    ++stats.datagrams;
    stats.bytes += datagram.size();
    if (truncated) {
      ++stats.oversize_drops;
      drop(transport, "datagram larger than the receive buffer", datagram.size());
      return;
    }
    const auto compression = detect_compression(datagram);
    if (compression == Compression::none) {
      if (datagram.size() > options.max_datagram_size) {
        ++stats.oversize_drops;
        drop(transport, kOverMaxDatagramSize, datagram.size());
      } else if (!datagram.empty()) {
        handler(datagram);
      }
      return;
    }
    if (const auto error =
            decompress(datagram, compression, options.max_datagram_size, decompressed)) {
      ++(error->reason == kOverMaxDatagramSize ? stats.oversize_drops : stats.decompress_errors);
      drop(transport, error->reason, datagram.size());
      return;
    }
    if (!decompressed.empty()) handler(decompressed);
  }

  // Reads one recvmmsg batch and delivers it; the datagrams read, or -1 and errno.
  template <class Socket>
  int read_batch(Socket& socket, DatagramBatch& batch, std::string_view transport) {
    const int count = batch.receive(socket.native_handle());
    const bool udp_socket = &batch == &*udp_batch;
    for (int i = 0; i < count && !closed; ++i) {
      if (udp_socket) {
        if (const auto counter = batch.drop_counter(i)) note_drop_counter(*counter);
      }
      deliver_datagram(transport, batch.datagram(i), batch.truncated(i));
    }
    return count;
  }

  // One recvmmsg per turn: a full batch means more may be queued, so we queue
  // ourselves behind the loop's other handlers (a flush step, a TCP read) instead
  // of draining a socket that a fast sender keeps full. A short batch means the
  // kernel queue was empty, so waiting for readiness cannot miss a datagram.
  template <class Socket>
  void read_datagrams(Socket& socket, DatagramBatch& batch, std::string_view transport,
                      void (Impl::*again)()) {
    if (closed) return;
    const int count = read_batch(socket, batch, transport);
    if (count < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
      log::warning(transport, " receive failed: ", std::strerror(errno));
    }
    if (closed) return;
    if (static_cast<std::size_t>(count) == batch.size() || (count < 0 && errno == EINTR)) {
      asio::post(io, [self = shared_from_this(), again] { ((*self).*again)(); });
    } else {
      socket.async_wait(asio::socket_base::wait_read,
                        [self = shared_from_this(), again](const error_code& ec) {
                          if (!ec) ((*self).*again)();
                        });
    }
  }

  // Reads what the datagram sockets hold now, for a last flush. Bounded by what
  // a full queue can hold (no queued datagram costs the kernel under 256 bytes),
  // so a sender that never stops cannot keep us here.
  std::uint64_t drain() {
    const auto before = stats.datagrams;
    const auto drain_socket = [this](auto& socket, DatagramBatch& batch, std::string_view name) {
      int receive_buffer = 0;
      socklen_t length = sizeof receive_buffer;
      ::getsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVBUF, &receive_buffer, &length);
      const auto max_batches = static_cast<std::size_t>(receive_buffer) / 256 / batch.size() + 1;
      for (std::size_t i = 0; i < max_batches && !closed; ++i) {
        if (static_cast<std::size_t>(read_batch(socket, batch, name)) != batch.size()) break;
      }
    };
    if (udp && !closed) drain_socket(*udp, *udp_batch, "UDP");
    if (unix_socket && !closed) drain_socket(*unix_socket, *unix_batch, "unix");
    return stats.datagrams - before;
  }

  void read_udp() { read_datagrams(*udp, *udp_batch, "UDP", &Impl::read_udp); }
  void read_unix() { read_datagrams(*unix_socket, *unix_batch, "unix", &Impl::read_unix); }

  void refresh_kernel_drops() {
    if (!udp || !udp->is_open()) return;
    std::uint32_t meminfo[SK_MEMINFO_VARS] = {};
    socklen_t length = sizeof meminfo;
    if (::getsockopt(udp->native_handle(), SOL_SOCKET, SO_MEMINFO, meminfo, &length) == 0 &&
        length > SK_MEMINFO_DROPS * sizeof(std::uint32_t)) {
      note_drop_counter(meminfo[SK_MEMINFO_DROPS]);
    }
  }

  // ---- TCP -----------------------------------------------------------------

  void accept() {
    acceptor->async_accept(
        [self = shared_from_this()](const error_code& ec, asio::ip::tcp::socket socket) {
          if (self->closed || ec == asio::error::operation_aborted) return;
          if (ec) {
            // EMFILE and friends repeat at once: retry later instead of spinning.
            std::uint64_t suppressed = 0;
            if (self->drop_log.allow(suppressed)) log::warning("TCP accept failed: ", ec.message());
            self->accept_retry.expires_after(std::chrono::milliseconds(100));
            self->accept_retry.async_wait([self](const error_code& wait_error) {
              if (!wait_error && !self->closed) self->accept();
            });
            return;
          }
          self->on_accept(std::move(socket));
          self->accept();
        });
  }

  void on_accept(asio::ip::tcp::socket socket) {
    error_code ec;
    if (connections.size() >= options.tcp_max_connections) {
      ++stats.tcp_rejected;
      socket.close(ec);
      if (on_drop) on_drop("TCP connection over tcp_max_connections");
      return;
    }
    ++stats.tcp_connections;
    socket.non_blocking(true, ec);
    auto connection = std::make_shared<TcpConnection>(std::move(socket));
    connections.insert(connection);
    stats.tcp_open = connections.size();
    read_tcp(connection);
  }

  void close_connection(const Connection& connection) {
    error_code ec;
    connection->socket.close(ec);
    connections.erase(connection);
    stats.tcp_open = connections.size();
  }

  // Reads until the socket has nothing more (then waits for readiness) or until
  // kTcpReadsPerWakeup reads (then lets the loop run other handlers first).
  void read_tcp(const Connection& connection) {
    for (int reads = 0; reads < kTcpReadsPerWakeup; ++reads) {
      if (closed || !connection->socket.is_open()) return;
      error_code ec;
      const auto n = connection->socket.read_some(asio::buffer(tcp_buffer), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
        connection->socket.async_wait(
            asio::socket_base::wait_read,
            [self = shared_from_this(), connection](const error_code& wait_error) {
              if (!wait_error) self->read_tcp(connection);
            });
        return;
      }
      if (ec) {
        // A last line without its newline still counts.
        if (ec == asio::error::eof && !connection->skipping && !connection->pending.empty()) {
          handler(connection->pending);
        }
        close_connection(connection);
        return;
      }
      stats.bytes += n;
      consume_tcp(*connection, std::string_view(tcp_buffer.data(), n));
    }
    if (closed) return;
    asio::post(io, [self = shared_from_this(), connection] { self->read_tcp(connection); });
  }

  void overlong_line() {
    ++stats.tcp_overlong_lines;
    if (on_drop) on_drop("TCP line over tcp_max_line_length");
  }

  // Hands whole lines to the handler: runs of complete lines straight from the
  // read buffer, a line split across reads from `pending`; skips overlong ones.
  void consume_tcp(TcpConnection& connection, std::string_view chunk) {
    const std::size_t max_line = options.tcp_max_line_length;
    while (!chunk.empty() && !closed) {
      const auto newline = chunk.find('\n');
      if (connection.skipping) {
        if (newline == std::string_view::npos) return;
        connection.skipping = false;
        chunk.remove_prefix(newline + 1);
        continue;
      }
      if (!connection.pending.empty()) {
        const auto take = newline == std::string_view::npos ? chunk.size() : newline;
        if (connection.pending.size() + take > max_line) {
          overlong_line();
          connection.pending.clear();
          connection.skipping = newline == std::string_view::npos;
          chunk.remove_prefix(connection.skipping ? chunk.size() : newline + 1);
          continue;
        }
        connection.pending.append(chunk.substr(0, take));
        if (newline == std::string_view::npos) return;
        handler(connection.pending);
        connection.pending.clear();
        chunk.remove_prefix(newline + 1);
        continue;
      }
      // [run_start, position): complete lines, each within the limit.
      std::size_t run_start = 0;
      std::size_t position = 0;
      for (auto end = newline; end != std::string_view::npos; end = chunk.find('\n', position)) {
        if (end - position > max_line) {
          if (position > run_start) handler(chunk.substr(run_start, position - run_start));
          if (closed) return;
          overlong_line();
          run_start = end + 1;
        }
        position = end + 1;
      }
      if (position > run_start) handler(chunk.substr(run_start, position - run_start));
      const auto rest = chunk.substr(position);
      if (rest.size() > max_line) {
        overlong_line();
        connection.skipping = true;
      } else {
        connection.pending.assign(rest);
      }
      return;
    }
  }

  void close() {
    if (closed) return;
    closed = true;
    error_code ec;
    if (udp) udp->close(ec);
    if (unix_socket) unix_socket->close(ec);
    if (unix_socket_bound) ::unlink(options.unix_socket->c_str());
    if (acceptor) acceptor->close(ec);
    accept_retry.cancel();
    for (const auto& connection : connections) connection->socket.close(ec);
    connections.clear();
    stats.tcp_open = 0;
  }
};

Receiver::Receiver(asio::io_context& io, ReceiverOptions options, Handler handler)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(handler))) {
  try {
    if (!impl_->options.udp_host.empty()) impl_->open_udp();
    if (impl_->options.unix_socket) impl_->open_unix();
    if (impl_->options.tcp_host) impl_->open_tcp();
  } catch (...) {
    impl_->close();  // no socket file left behind by a half-built receiver
    throw;
  }
  impl_->start();
}

Receiver::~Receiver() {
  impl_->close();
}

void Receiver::set_drop_handler(DropHandler on_drop) {
  impl_->on_drop = std::move(on_drop);
}

std::uint16_t Receiver::udp_port() const {
  error_code ec;
  return impl_->udp ? impl_->udp->local_endpoint(ec).port() : 0;
}

std::optional<std::uint16_t> Receiver::tcp_port() const {
  if (!impl_->acceptor) return std::nullopt;
  error_code ec;
  return impl_->acceptor->local_endpoint(ec).port();
}

std::size_t Receiver::granted_socket_buffer() const {
  return impl_->granted_buffer;
}

void Receiver::refresh_kernel_drops() {
  impl_->refresh_kernel_drops();
}

std::uint64_t Receiver::drain() {
  return impl_->drain();
}

const ReceiverStats& Receiver::stats() const {
  return impl_->stats;
}

void Receiver::close() {
  impl_->close();
}

}  // namespace bucky3::statsd
