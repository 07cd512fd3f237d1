// The socket transports of the push machinery: UDP datagrams, a TCP stream
// (Graphite plaintext), and the replay transport that writes payloads to a
// stream instead of the network. HTTP is in http_client.h.
#pragma once
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <ostream>
#include <string>

#include "exporters/push/push.h"
#include "exporters/push/resolver.h"

namespace bucky3::push {

// One datagram per payload, sent at once (send() completes before returning,
// except right after a name's lookup). IPv4 or IPv6 after the host's first
// address, which follows the name's re-lookups.
std::unique_ptr<Transport> make_udp_transport(boost::asio::io_context& io, HostPort target,
                                              std::string label, ResolveOptions resolve = {});

struct TcpOptions {
  std::chrono::milliseconds connect_timeout{10000};
  // A peer that accepts and never reads fills the socket buffers; past this a
  // write gives up, closes the connection and the payload is retried.
  std::chrono::milliseconds write_timeout{10000};
  ResolveOptions resolve;
};

// One payload = one write on a kept connection. A read stays pending on the
// connection, so a peer's close is seen before the next write, and a write
// that completes after the peer closed counts as failed: a payload is done
// only once written on a live connection.
std::unique_ptr<Transport> make_tcp_transport(boost::asio::io_context& io, HostPort target,
                                              std::string label, TcpOptions options = {});

// Appends every payload's bytes to `out`, one after the other (bucky3-ring
// replay --output), and completes at once.
std::unique_ptr<Transport> make_replay_transport(std::ostream& out);

}  // namespace bucky3::push
