// tests/test_statsd_receiver.cpp — the StatsD Receiver on real sockets: UDP over
// IPv4 and IPv6, recvmmsg batching, TCP lines, the Unix socket, compressed and bomb
// datagrams, kernel drops, limits and closing.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <QtTest>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "collectors/statsd/options.h"
#include "collectors/statsd/receiver.h"
#include "tests/support/compression.h"

using namespace bucky3::statsd;
using namespace bucky3::test;
namespace asio = boost::asio;

namespace {

// Runs the loop until `done` holds. The limit only keeps a broken build from
// hanging CI; nothing is asserted about how long it took.
bool run_until(asio::io_context& io, const std::function<bool()>& done) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    io.run_one_for(std::chrono::milliseconds(20));
    if (io.stopped()) io.restart();
  }
  return true;
}

// Runs every handler that is ready now, without waiting for more.
void run_ready(asio::io_context& io) {
  io.poll();
  if (io.stopped()) io.restart();
}

// Collects every payload the receiver hands over.
struct Sink {
  std::vector<std::string> payloads;
  Receiver::Handler handler() {
    return [this](std::string_view payload) { payloads.emplace_back(payload); };
  }
  // All lines, split at '\n', empty ones dropped.
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    for (const auto& payload : payloads) {
      std::size_t start = 0;
      while (start <= payload.size()) {
        auto end = payload.find('\n', start);
        if (end == std::string::npos) end = payload.size();
        if (end > start) out.push_back(payload.substr(start, end - start));
        start = end + 1;
      }
    }
    return out;
  }
};

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// A UDP client connected to the receiver, IPv4 or IPv6.
class UdpSender {
 public:
  UdpSender(bool ipv6, std::uint16_t port)
      : fd_(::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0)) {
    if (ipv6) {
      sockaddr_in6 address{};
      address.sin6_family = AF_INET6;
      address.sin6_port = htons(port);
      address.sin6_addr = in6addr_loopback;
      ::connect(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address);
    } else {
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons(port);
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      ::connect(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address);
    }
  }
  bool send(const QByteArray& datagram) {
    return ::send(fd_.get(), datagram.constData(), datagram.size(), 0) == datagram.size();
  }

 private:
  Fd fd_;
};

// A blocking TCP client: connect() completes from the listen backlog, so the test
// can write before the loop accepts.
class TcpClient {
 public:
  explicit TcpClient(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  bool connected() const { return connected_; }
  bool send(const QByteArray& bytes) {
    return ::send(fd_.get(), bytes.constData(), bytes.size(), MSG_NOSIGNAL) == bytes.size();
  }
  void finish() { ::shutdown(fd_.get(), SHUT_WR); }
  // True once the server closed its end (read returns 0 or an error).
  bool closed_by_peer() {
    char byte;
    const auto n = ::recv(fd_.get(), &byte, 1, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

 private:
  Fd fd_;
  bool connected_ = false;
};

bool send_unix(const std::string& path, const QByteArray& datagram) {
  Fd fd(::socket(AF_UNIX, SOCK_DGRAM, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  return ::sendto(fd.get(), datagram.constData(), datagram.size(), 0,
                  reinterpret_cast<sockaddr*>(&address), sizeof address) == datagram.size();
}

QByteArray compress(const QString& format, const QByteArray& text) {
  if (format == "zlib") return deflate_stream(text, 1, 15);
  if (format == "gzip") return deflate_stream(text, 1, 31);
  if (format == "zstd") return zstd_stream(text, 1);
  return text;
}

long max_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

ReceiverOptions udp_only(const std::string& host = "127.0.0.1:0") {
  ReceiverOptions options = default_receiver_options();
  options.udp_host = host;
  return options;
}

ReceiverOptions tcp_only() {
  ReceiverOptions options = default_receiver_options();
  options.udp_host.clear();
  options.tcp_host = "127.0.0.1:0";
  return options;
}

}  // namespace

class TestStatsdReceiver : public QObject {
  Q_OBJECT
 private slots:
  void udp_delivers_data() {
    QTest::addColumn<bool>("ipv6");
    QTest::newRow("IPv4") << false;
    QTest::newRow("IPv6") << true;
  }
  void udp_delivers() {
    QFETCH(bool, ipv6);
    asio::io_context io;
    Sink sink;
    Receiver receiver(io, udp_only(ipv6 ? "[::1]:0" : "127.0.0.1:0"), sink.handler());
    QVERIFY(receiver.udp_port() != 0);
    UdpSender sender(ipv6, receiver.udp_port());
    QVERIFY(sender.send("foo:1|c\nbar:2|g"));
    QVERIFY(sender.send("baz:3|ms"));
    QVERIFY(run_until(io, [&] { return sink.payloads.size() == 2; }));
    QCOMPARE(sink.payloads[0], std::string("foo:1|c\nbar:2|g"));
    QCOMPARE(sink.payloads[1], std::string("baz:3|ms"));
    QCOMPARE(receiver.stats().datagrams, std::uint64_t{2});
    QCOMPARE(receiver.stats().bytes, std::uint64_t{15 + 8});
  }

  // Queued datagrams come in recvmmsg batches: one loop turn delivers several,
  // and never more than one batch (64), so other handlers get their turn.
  void udp_reads_in_bounded_batches() {
    asio::io_context io;
    Sink sink;
    Receiver receiver(io, udp_only(), sink.handler());
    UdpSender sender(false, receiver.udp_port());
    constexpr int kSent = 300;
    for (int i = 0; i < kSent; ++i) QVERIFY(sender.send("n:" + QByteArray::number(i) + "|c"));
    std::size_t largest_turn = 0;
    QVERIFY(run_until(io, [&] {
      const auto before = sink.payloads.size();
      io.run_one_for(std::chrono::milliseconds(20));
      largest_turn = std::max(largest_turn, sink.payloads.size() - before);
      return sink.payloads.size() == kSent;
    }));
    QVERIFY2(largest_turn > 1, "no turn delivered more than one datagram");
    QVERIFY(largest_turn <= 64);
    for (int i = 0; i < kSent; ++i) QCOMPARE(sink.payloads[i], "n:" + std::to_string(i) + "|c");
  }

  // A handler posted while a flood is queued runs before the flood is drained:
  // the reader never holds the loop (the module's flush steps run in between).
  void udp_flood_does_not_hold_the_loop() {
    asio::io_context io;
    Sink sink;
    Receiver receiver(io, udp_only(), sink.handler());
    UdpSender sender(false, receiver.udp_port());
    constexpr std::size_t kSent = 1000;
    for (std::size_t i = 0; i < kSent; ++i) QVERIFY(sender.send("flood:1|c"));
    std::optional<std::size_t> seen_by_other_handler;
    asio::post(io, [&] { seen_by_other_handler = sink.payloads.size(); });
    QVERIFY(run_until(io, [&] { return sink.payloads.size() == kSent; }));
    QVERIFY(seen_by_other_handler.has_value());
    QVERIFY2(*seen_by_other_handler < kSent,
             qPrintable(QString("other handler ran after %1").arg(*seen_by_other_handler)));
  }

  void udp_decompresses_data() {
    QTest::addColumn<QString>("format");
    QTest::newRow("plain") << "plain";
    QTest::newRow("zlib") << "zlib";
    QTest::newRow("gzip") << "gzip";
    QTest::newRow("zstd") << "zstd";
  }
  void udp_decompresses() {
    QFETCH(QString, format);
    asio::io_context io;
    Sink sink;
    Receiver receiver(io, udp_only(), sink.handler());
    UdpSender sender(false, receiver.udp_port());
    QByteArray text;
    for (int i = 0; i < 500; ++i) text += "app.hits,host=web" + QByteArray::number(i) + ":1|c\n";
    const auto datagram = compress(format, text);
    QVERIFY(datagram.size() < 65000);
    QVERIFY(sender.send(datagram));
    QVERIFY(run_until(io, [&] { return !sink.payloads.empty(); }));
    QCOMPARE(QByteArray::fromStdString(sink.payloads[0]), text);
    QCOMPARE(receiver.stats().bytes, std::uint64_t(datagram.size()));
    QCOMPARE(receiver.stats().decompress_errors, std::uint64_t{0});
  }

  // 100 MB of zeros in a few KB: dropped at max_datagram_size, counted, reported,
  // peak RSS bounded; the next datagram is still delivered.
  void udp_bomb_dropped_data() {
    QTest::addColumn<QByteArray>("bomb");
    const QByteArray mib(1 << 20, '\0');
    QTest::newRow("zstd 100 MB") << zstd_stream(mib, 100);
    QTest::newRow("zlib 60 MB") << deflate_stream(mib, 60, 15);
    QTest::newRow("gzip 60 MB") << deflate_stream(mib, 60, 31);
  }
  void udp_bomb_dropped() {
    QFETCH(QByteArray, bomb);
    QVERIFY(bomb.size() < 65000);
    asio::io_context io;
    Sink sink;
    Receiver receiver(io, udp_only(), sink.handler());
    std::vector<std::string> reasons;
    receiver.set_drop_handler([&](std::string_view reason) { reasons.emplace_back(reason); });
    UdpSender sender(false, receiver.udp_port());
    const long before_kib = max_rss_kib();
    QVERIFY(sender.send(bomb));
    QVERIFY(sender.send("after:1|c"));
    QVERIFY(run_until(io, [&] { return !sink.payloads.empty(); }));
    QCOMPARE(sink.payloads.size(), std::size_t{1});
    QCOMPARE(sink.payloads[0], std::string("after:1|c"));
    QCOMPARE(receiver.stats().oversize_drops, std::uint64_t{1});
    QCOMPARE(receiver.stats().datagrams, std::uint64_t{2});
    QCOMPARE(reasons.size(), std::size_t{1});
    QCOMPARE(reasons[0], std::string("decompressed size over max_datagram_size"));
    // 1 MiB of output, a decoder window, the recvmmsg buffers touched; ASan's
    // shadow memory is why the bound is loose.
    const long grown_kib = max_rss_kib() - before_kib;
    QVERIFY2(grown_kib < 64 * 1024, qPrintable(QString("peak RSS grew %1 KiB").arg(grown_kib)));
  }

  void udp_corrupt_and_oversize_counted() {
    asio::io_context io;
    Sink sink;
    auto options = udp_only();
    options.max_datagram_size = 100;
    Receiver receiver(io, options, sink.handler());
    std::vector<std::string> reasons;
    receiver.set_drop_handler([&](std::string_view reason) { reasons.emplace_back(reason); });
    UdpSender sender(false, receiver.udp_port());
    auto corrupt = compress("zlib", QByteArray(50, 'x'));
    corrupt.chop(3);
    QVERIFY(sender.send(corrupt));
    QVERIFY(sender.send(QByteArray(101, 'p')));                    // plain, over the cap
    QVERIFY(sender.send(compress("gzip", QByteArray(101, 'g'))));  // inflates over the cap
    QVERIFY(sender.send(QByteArray(100, 'a')));                    // exactly at the cap
    QVERIFY(run_until(io, [&] { return !sink.payloads.empty(); }));
    QCOMPARE(sink.payloads.size(), std::size_t{1});
    QCOMPARE(sink.payloads[0].size(), std::size_t{100});
    QCOMPARE(receiver.stats().decompress_errors, std::uint64_t{1});
    QCOMPARE(receiver.stats().oversize_drops, std::uint64_t{2});
    QCOMPARE(reasons.size(), std::size_t{3});
    QCOMPARE(reasons[0], std::string("truncated compressed data"));
  }

  // Fill a tiny receive buffer without reading: SO_MEMINFO shows the drops. Two
  // rounds, so datagrams stamped with an older drop count arrive after a newer
  // SO_MEMINFO read; every datagram is either delivered or counted dropped.
  void kernel_drops_from_meminfo() {
    asio::io_context io;
    Sink sink;
    auto options = udp_only();
    options.socket_buffer = 4096;
    Receiver receiver(io, options, sink.handler());
    UdpSender sender(false, receiver.udp_port());
    constexpr int kRound = 500;
    const QByteArray datagram(1000, 'd');
    std::uint64_t drops = 0;
    for (int round = 1; round <= 2; ++round) {
      for (int i = 0; i < kRound; ++i) QVERIFY(sender.send(datagram));
      if (round == 1) QCOMPARE(receiver.stats().kernel_drops, std::uint64_t{0});
      receiver.refresh_kernel_drops();
      QVERIFY(receiver.stats().kernel_drops > drops);
      drops = receiver.stats().kernel_drops;
      QVERIFY(drops < std::uint64_t(round * kRound));
      run_ready(io);
    }
    const auto& stats = receiver.stats();
    QVERIFY(run_until(io, [&] {
      receiver.refresh_kernel_drops();
      return stats.datagrams + stats.kernel_drops >= std::uint64_t(2 * kRound);
    }));
    QCOMPARE(stats.datagrams + stats.kernel_drops, std::uint64_t(2 * kRound));
    receiver.refresh_kernel_drops();
    QCOMPARE(stats.datagrams + stats.kernel_drops, std::uint64_t(2 * kRound));  // counted once
  }

  // Without any refresh, the SO_RXQ_OVFL count carried by the first datagram
  // after the drops reports them; a later SO_MEMINFO read adds nothing twice.
  void kernel_drops_from_rxq_ovfl() {
    asio::io_context io;
    Sink sink;
    auto options = udp_only();
    options.socket_buffer = 4096;
    Receiver receiver(io, options, sink.handler());
    UdpSender sender(false, receiver.udp_port());
    const QByteArray datagram(1000, 'd');
    for (int i = 0; i < 500; ++i) QVERIFY(sender.send(datagram));
    run_ready(io);
    const auto delivered = sink.payloads.size();
    QVERIFY(delivered > 0);
    QVERIFY(sender.send("late:1|c"));
    QVERIFY(run_until(io, [&] { return sink.payloads.size() == delivered + 1; }));
    const auto drops = receiver.stats().kernel_drops;
    QCOMPARE(drops, std::uint64_t(500 - delivered));
    receiver.refresh_kernel_drops();
    QCOMPARE(receiver.stats().kernel_drops, drops);
  }

  void socket_buffer_granted() {
    asio::io_context io;
    Sink sink;
    auto options = udp_only();
    options.socket_buffer = 8 << 20;
    Receiver receiver(io, options, sink.handler());
    if (::geteuid() == 0) {
      QCOMPARE(receiver.granted_socket_buffer(), std::size_t{8 << 20});  // SO_RCVBUFFORCE
    } else {
      std::ifstream rmem_max("/proc/sys/net/core/rmem_max");
      std::size_t limit = 0;
      rmem_max >> limit;
      QCOMPARE(receiver.granted_socket_buffer(), std::min(limit, std::size_t{8 << 20}));
    }
  }

  // Lines cut anywhere across writes come out whole; a last line without its
  // newline counts at end of stream.
  void tcp_lines_split_across_writes() {
    asio::io_context io;
    Sink sink;
    Receiver receiver(io, tcp_only(), sink.handler());
    QVERIFY(receiver.tcp_port());
    TcpClient client(*receiver.tcp_port());
    QVERIFY(client.connected());
    const QList<QByteArray> writes{"foo:1|", "c\nbar:2|c\nba", "z:3", "|c\r\n", "\nqux:4|c"};
    std::size_t read_so_far = 0;
    for (const auto& bytes : writes) {
      QVERIFY(client.send(bytes));
      read_so_far += bytes.size();
      QVERIFY(run_until(io, [&] { return receiver.stats().bytes == read_so_far; }));
    }
    client.finish();
    QVERIFY(run_until(io, [&] { return receiver.stats().tcp_open == 0; }));
    for (const auto& payload : sink.payloads) {
      QVERIFY2(!payload.empty(), "empty payload");
    }
    const std::vector<std::string> expected{"foo:1|c", "bar:2|c", "baz:3|c\r", "qux:4|c"};
    QCOMPARE(sink.lines(), expected);
    QCOMPARE(receiver.stats().tcp_connections, std::uint64_t{1});
  }

  void tcp_several_clients() {
    asio::io_context io;
    Sink sink;
    Receiver receiver(io, tcp_only(), sink.handler());
    std::vector<std::unique_ptr<TcpClient>> clients;
    for (int c = 0; c < 5; ++c)
      clients.push_back(std::make_unique<TcpClient>(*receiver.tcp_port()));
    // Each client writes half a line, then the loop runs, then the rest: the
    // halves must not mix across connections.
    for (int c = 0; c < 5; ++c) QVERIFY(clients[c]->send("client" + QByteArray::number(c) + ".x"));
    QVERIFY(run_until(io, [&] { return receiver.stats().bytes == 5 * 9; }));
    for (int c = 0; c < 5; ++c) QVERIFY(clients[c]->send(":" + QByteArray::number(c) + "|c\n"));
    QVERIFY(run_until(io, [&] { return sink.lines().size() == 5; }));
    auto lines = sink.lines();
    std::sort(lines.begin(), lines.end());
    for (int c = 0; c < 5; ++c) {
      QCOMPARE(lines[c], "client" + std::to_string(c) + ".x:" + std::to_string(c) + "|c");
    }
    QCOMPARE(receiver.stats().tcp_open, std::uint64_t{5});
    QCOMPARE(receiver.stats().tcp_connections, std::uint64_t{5});
  }

  void tcp_overlong_lines_skipped_data() {
    QTest::addColumn<QList<QByteArray>>("writes");
    QTest::addColumn<QStringList>("lines");
    QTest::addColumn<int>("overlong");
    const QByteArray long_line(150, 'L');
    QTest::newRow("inside one read") << QList<QByteArray>{"a:1|c\n" + long_line + "\nb:2|c\n"}
                                     << QStringList{"a:1|c", "b:2|c"} << 1;
    QTest::newRow("at the end of a read, newline later")
        << QList<QByteArray>{"a:1|c\n" + long_line, "more" + long_line, "tail\nb:2|c\n"}
        << QStringList{"a:1|c", "b:2|c"} << 1;
    QTest::newRow("grows past the limit across reads")
        << QList<QByteArray>{QByteArray(60, 'x'), QByteArray(60, 'y'), "\nb:2|c\n"}
        << QStringList{"b:2|c"} << 1;
    QTest::newRow("pending line ends past the limit")
        << QList<QByteArray>{QByteArray(60, 'x'), QByteArray(60, 'y') + "\nb:2|c\n"}
        << QStringList{"b:2|c"} << 1;
    QTest::newRow("exactly the limit is fine")
        << QList<QByteArray>{QByteArray(100, 'e') + "\n"} << QStringList{QString(100, 'e')} << 0;
    QTest::newRow("two overlong, one read")
        << QList<QByteArray>{long_line + "\n" + long_line + "\nc:3|c\n"} << QStringList{"c:3|c"}
        << 2;
  }
  void tcp_overlong_lines_skipped() {
    QFETCH(QList<QByteArray>, writes);
    QFETCH(QStringList, lines);
    QFETCH(int, overlong);
    asio::io_context io;
    Sink sink;
    auto options = tcp_only();
    options.tcp_max_line_length = 100;
    Receiver receiver(io, options, sink.handler());
    TcpClient client(*receiver.tcp_port());
    std::size_t sent = 0;
    for (const auto& bytes : writes) {
      QVERIFY(client.send(bytes));
      sent += bytes.size();
      QVERIFY(run_until(io, [&] { return receiver.stats().bytes == sent; }));
    }
    QStringList got;
    for (const auto& line : sink.lines()) got << QString::fromStdString(line);
    QCOMPARE(got, lines);
    QCOMPARE(receiver.stats().tcp_overlong_lines, std::uint64_t(overlong));
  }

  void tcp_connection_cap() {
    asio::io_context io;
    Sink sink;
    auto options = tcp_only();
    options.tcp_max_connections = 2;
    Receiver receiver(io, options, sink.handler());
    TcpClient first(*receiver.tcp_port());
    TcpClient second(*receiver.tcp_port());
    QVERIFY(run_until(io, [&] { return receiver.stats().tcp_open == 2; }));
    TcpClient third(*receiver.tcp_port());
    QVERIFY(run_until(io, [&] { return receiver.stats().tcp_rejected == 1; }));
    QVERIFY(run_until(io, [&] { return third.closed_by_peer(); }));
    QVERIFY(first.send("one:1|c\n"));
    QVERIFY(second.send("two:2|c\n"));
    QVERIFY(run_until(io, [&] { return sink.lines().size() == 2; }));
    // A slot freed by a closing client is available again.
    first.finish();
    QVERIFY(run_until(io, [&] { return receiver.stats().tcp_open == 1; }));
    TcpClient fourth(*receiver.tcp_port());
    QVERIFY(fourth.send("four:4|c\n"));
    QVERIFY(run_until(io, [&] { return sink.lines().size() == 3; }));
    QCOMPARE(receiver.stats().tcp_connections, std::uint64_t{3});
    QCOMPARE(receiver.stats().tcp_rejected, std::uint64_t{1});
  }

  void unix_socket_with_mode() {
    QTemporaryDir dir;
    const auto path = dir.filePath("statsd.sock").toStdString();
    // A stale socket file from an earlier run is replaced.
    {
      Fd stale(::socket(AF_UNIX, SOCK_DGRAM, 0));
      sockaddr_un address{};
      address.sun_family = AF_UNIX;
      std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
      QCOMPARE(::bind(stale.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    }
    asio::io_context io;
    Sink sink;
    ReceiverOptions options = default_receiver_options();
    options.udp_host.clear();
    options.unix_socket = path;
    options.unix_socket_mode = 0620;
    {
      Receiver receiver(io, options, sink.handler());
      struct stat status {};
      QCOMPARE(::stat(path.c_str(), &status), 0);
      QVERIFY(S_ISSOCK(status.st_mode));
      QCOMPARE(status.st_mode & 07777, 0620u);
      QVERIFY(send_unix(path, "unix:1|c"));
      QVERIFY(send_unix(path, compress("zstd", "zipped:2|c\n")));
      QVERIFY(run_until(io, [&] { return sink.payloads.size() == 2; }));
      QCOMPARE(sink.payloads[0], std::string("unix:1|c"));
      QCOMPARE(sink.payloads[1], std::string("zipped:2|c\n"));
      // Larger than any UDP datagram, still within max_datagram_size.
      QByteArray big;
      while (big.size() < 150000) big += "big.metric:1|c\n";
      QVERIFY(send_unix(path, big));
      QVERIFY(run_until(io, [&] { return sink.payloads.size() == 3; }));
      QCOMPARE(sink.payloads[2].size(), std::size_t(big.size()));
      QCOMPARE(receiver.stats().datagrams, std::uint64_t{3});
    }
    QVERIFY2(::access(path.c_str(), F_OK) != 0, "socket file left behind");
  }

  void unix_path_not_a_socket_refused() {
    QTemporaryDir dir;
    const auto path = dir.filePath("regular").toStdString();
    std::ofstream(path) << "keep me";
    asio::io_context io;
    Sink sink;
    ReceiverOptions options = default_receiver_options();
    options.udp_host.clear();
    options.unix_socket = path;
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, Receiver(io, options, sink.handler()));
    QVERIFY(::access(path.c_str(), F_OK) == 0);
  }

  // A receiver that fails half-way (TCP port taken) leaves no socket file.
  void failed_construction_removes_unix_socket() {
    QTemporaryDir dir;
    const auto path = dir.filePath("statsd.sock").toStdString();
    asio::io_context io;
    Sink sink;
    Receiver first(io, tcp_only(), sink.handler());
    ReceiverOptions options = default_receiver_options();
    options.udp_host.clear();
    options.unix_socket = path;
    options.tcp_host = "127.0.0.1:" + std::to_string(*first.tcp_port());
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, Receiver(io, options, sink.handler()));
    QVERIFY2(::access(path.c_str(), F_OK) != 0, "socket file left behind");
  }

  void bind_failure_names_address_data() {
    QTest::addColumn<bool>("tcp");
    QTest::newRow("UDP") << false;
    QTest::newRow("TCP") << true;
  }
  void bind_failure_names_address() {
    QFETCH(bool, tcp);
    asio::io_context io;
    Sink sink;
    Receiver first(io, tcp ? tcp_only() : udp_only(), sink.handler());
    const auto port = tcp ? *first.tcp_port() : first.udp_port();
    const auto address = "127.0.0.1:" + std::to_string(port);
    auto options = tcp ? tcp_only() : udp_only(address);
    if (tcp) options.tcp_host = address;
    try {
      Receiver second(io, options, sink.handler());
      QFAIL("bound a port already in use");
    } catch (const std::runtime_error& error) {
      QVERIFY2(std::string(error.what()).find(address) != std::string::npos, error.what());
    }
  }

  void bad_address_refused_data() {
    QTest::addColumn<QString>("host");
    QTest::newRow("no port") << "127.0.0.1";
    QTest::newRow("bad port") << "127.0.0.1:http-not-a-port";
    QTest::newRow("unknown host") << "no-such-host.invalid:8125";
  }
  void bad_address_refused() {
    QFETCH(QString, host);
    asio::io_context io;
    Sink sink;
    try {
      Receiver receiver(io, udp_only(host.toStdString()), sink.handler());
      QFAIL("accepted a bad address");
    } catch (const std::runtime_error& error) {
      QVERIFY2(QString(error.what()).contains(host), error.what());
    }
  }

  // drain() takes everything queued, without the loop running: nothing the
  // kernel holds at shutdown is lost.
  void drain_reads_everything_queued() {
    QTemporaryDir dir;
    asio::io_context io;
    Sink sink;
    auto options = udp_only();
    options.unix_socket = dir.filePath("statsd.sock").toStdString();
    Receiver receiver(io, options, sink.handler());
    UdpSender sender(false, receiver.udp_port());
    for (int i = 0; i < 500; ++i) QVERIFY(sender.send("udp:" + QByteArray::number(i) + "|c"));
    // net.unix.max_dgram_qlen is 10 here: a blocking sender would wait for more room.
    for (int i = 0; i < 8; ++i) QVERIFY(send_unix(*options.unix_socket, "unix:1|c"));
    QCOMPARE(receiver.drain(), std::uint64_t{508});
    QCOMPARE(sink.payloads.size(), std::size_t{508});
    QCOMPARE(sink.payloads[499], std::string("udp:499|c"));
    QCOMPARE(receiver.drain(), std::uint64_t{0});
  }

  // A handler may close the receiver mid-batch; nothing is delivered after.
  void close_from_handler_stops_delivery() {
    asio::io_context io;
    std::vector<std::string> payloads;
    std::unique_ptr<Receiver> receiver;
    receiver = std::make_unique<Receiver>(io, udp_only(), [&](std::string_view payload) {
      payloads.emplace_back(payload);
      receiver->close();
    });
    UdpSender sender(false, receiver->udp_port());
    for (int i = 0; i < 10; ++i) QVERIFY(sender.send("x:1|c"));
    QVERIFY(run_until(io, [&] { return !payloads.empty(); }));
    io.run_for(std::chrono::milliseconds(50));
    QCOMPARE(payloads.size(), std::size_t{1});
  }

  // Destroying the receiver with reads and waits pending, then running the
  // loop, touches nothing freed (ASan checks this in the sanitizer build).
  void destroyed_with_handlers_pending() {
    asio::io_context io;
    Sink sink;
    ReceiverOptions options = default_receiver_options();
    options.udp_host = "127.0.0.1:0";
    options.tcp_host = "127.0.0.1:0";
    auto receiver = std::make_unique<Receiver>(io, options, sink.handler());
    UdpSender sender(false, receiver->udp_port());
    TcpClient client(*receiver->tcp_port());
    for (int i = 0; i < 200; ++i) QVERIFY(sender.send("x:1|c"));
    QVERIFY(client.send("partial"));
    io.run_one();
    receiver.reset();
    const auto delivered = sink.payloads.size();
    io.run_for(std::chrono::milliseconds(50));
    QCOMPARE(sink.payloads.size(), delivered);
  }
};

QTEST_GUILESS_MAIN(TestStatsdReceiver)
#include "test_statsd_receiver.moc"
