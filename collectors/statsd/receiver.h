// collectors/statsd/receiver.h — the StatsD server's sockets: UDP, optional TCP and
// Unix datagram, read on the module's single-threaded Asio loop; decompressed
// payloads go to a callback. Parsing and aggregation are the caller's.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace boost::asio {
class io_context;
}

namespace bucky3::statsd {

// No defaults here: the config schema (daemon/config/options.cpp) is their one
// source, and statsd::default_receiver_options() (options.h) fills every field
// from it. A value-initialized ReceiverOptions opens no socket.
struct ReceiverOptions {
  // "127.0.0.1:8125", "[::1]:8125" or "host:8125" (resolved once, first address);
  // port 0 binds a free port (see udp_port()); empty: no UDP socket.
  std::string udp_host;
  std::optional<std::string> tcp_host;     // newline-delimited lines, plain text only
  std::optional<std::string> unix_socket;  // path of a Unix datagram socket
  unsigned unix_socket_mode = 0;
  std::size_t socket_buffer = 0;      // UDP receive buffer asked of the kernel
  std::size_t max_datagram_size = 0;  // after decompression
  std::size_t tcp_max_connections = 0;
  std::size_t tcp_max_line_length = 0;
};

// Cumulative since construction; the caller diffs them per flush if it wants rates.
struct ReceiverStats {
  std::uint64_t datagrams = 0;           // UDP and Unix datagrams read, dropped ones included
  std::uint64_t bytes = 0;               // as read from the sockets, before decompression; TCP too
  std::uint64_t kernel_drops = 0;        // the kernel's drop counter of the UDP socket
  std::uint64_t decompress_errors = 0;   // corrupt or truncated compressed datagrams
  std::uint64_t oversize_drops = 0;      // datagrams over max_datagram_size (decompressed)
  std::uint64_t tcp_connections = 0;     // accepted
  std::uint64_t tcp_open = 0;            // open now
  std::uint64_t tcp_rejected = 0;        // closed at once: tcp_max_connections were open
  std::uint64_t tcp_overlong_lines = 0;  // skipped: longer than tcp_max_line_length
};

class Receiver {
 public:
  // Plain text holding one or more whole lines ("\n" or "\r\n" separated, maybe
  // with a trailing newline). Valid only during the call.
  using Handler = std::function<void(std::string_view payload)>;
  // Why a datagram or line was dropped ("decompressed size over max_datagram_size"),
  // for the health block's recent errors. Called after the counter is bumped.
  using DropHandler = std::function<void(std::string_view reason)>;

  // Binds every configured socket at once and starts reading when `io` runs.
  // Throws std::runtime_error naming the address when a socket cannot be set up.
  Receiver(boost::asio::io_context& io, ReceiverOptions options, Handler handler);
  ~Receiver();  // close()
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  void set_drop_handler(DropHandler on_drop);

  std::uint16_t udp_port() const;                 // 0 without UDP
  std::optional<std::uint16_t> tcp_port() const;  // bound ports, useful with port 0
  // The UDP receive buffer the kernel granted (SO_RCVBUFFORCE when privileged, else
  // SO_RCVBUF capped by net.core.rmem_max), in socket_buffer's terms: half what
  // getsockopt(SO_RCVBUF) reports, as the kernel doubles it for bookkeeping.
  std::size_t granted_socket_buffer() const;
  // Reads the UDP socket's drop counter (SO_MEMINFO) into stats().kernel_drops;
  // call at each flush. Drops also arrive with datagrams (SO_RXQ_OVFL).
  void refresh_kernel_drops();
  // Reads and delivers, without waiting, the datagrams queued on the UDP and Unix
  // sockets: call before the last flush at shutdown, so what the kernel already
  // holds is not lost. Bounded by what the queues can hold. Returns datagrams read.
  std::uint64_t drain();
  const ReceiverStats& stats() const;
  // Stops reading, closes the sockets and TCP connections, unlinks the Unix
  // socket. Idempotent; handlers are not called afterwards.
  void close();

 private:
  struct Impl;
  // Shared with the pending Asio handlers, which may outlive this object.
  std::shared_ptr<Impl> impl_;
};

}  // namespace bucky3::statsd
