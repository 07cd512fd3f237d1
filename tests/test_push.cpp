// tests/test_push.cpp — the push machinery (exporters/push) with real sockets on
// 127.0.0.1: ring hold-back, per-host queues, buffer_limit, backoff, TCP faults,
// names re-resolved (a hosts file rewritten moves a name to 127.0.0.2 or ::1),
// and the pure helpers (URLs, Retry-After, HTTP answer classification).
#include <zlib.h>

#include <QtTest/QtTest>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <thread>

#include "exporters/push/http_client.h"
#include "exporters/push/push.h"
#include "exporters/push/transports.h"
#include "tests/support/agent.h"

using namespace bucky3;
using namespace bucky3::push;
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

// Runs the loop until `condition` holds (true) or `timeout` passes (false).
bool run_until(asio::io_context& io, const std::function<bool()>& condition,
               milliseconds timeout = milliseconds(10000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.restart();
    io.run_for(milliseconds(10));
  }
  return true;
}

// A TCP listener that reads (or does not) and keeps what each connection sent.
struct Listener {
  Listener(asio::io_context& io, bool reading, std::uint16_t port = 0,
           const char* address = "127.0.0.1")
      : acceptor(io, asio::ip::tcp::endpoint(asio::ip::make_address(address), port)),
        reading(reading) {
    accept();
  }
  std::uint16_t port() const { return acceptor.local_endpoint().port(); }
  void accept() {
    acceptor.async_accept([this](boost::system::error_code ec, asio::ip::tcp::socket socket) {
      if (ec) return;
      ++accepted;
      auto s = std::make_shared<asio::ip::tcp::socket>(std::move(socket));
      sockets.push_back(s);
      if (reading) read(s);
      accept();
    });
  }
  void read(std::shared_ptr<asio::ip::tcp::socket> s) {
    auto buffer = std::make_shared<std::array<char, 4096>>();
    s->async_read_some(asio::buffer(*buffer),
                       [this, s, buffer](boost::system::error_code ec, std::size_t n) {
                         if (ec) {
                           ++closed;
                           return;
                         }
                         received.append(buffer->data(), n);
                         read(s);
                       });
  }
  void close_all() {
    for (auto& s : sockets) {
      boost::system::error_code ignored;
      s->close(ignored);
    }
    sockets.clear();
  }
  asio::ip::tcp::acceptor acceptor;
  bool reading;
  std::string received;
  int accepted = 0;
  int closed = 0;  // connections the client closed (or that broke)
  std::vector<std::shared_ptr<asio::ip::tcp::socket>> sockets;
};

// An HTTP/1.1 server that answers every request 204 on a kept connection and
// keeps the bodies (Content-Length only: what HttpClient sends).
struct HttpPeer {
  HttpPeer(asio::io_context& io, const char* address, std::uint16_t port = 0)
      : acceptor(io, asio::ip::tcp::endpoint(asio::ip::make_address(address), port)) {
    accept();
  }
  std::uint16_t port() const { return acceptor.local_endpoint().port(); }
  struct Connection {
    explicit Connection(asio::ip::tcp::socket s) : socket(std::move(s)) {}
    asio::ip::tcp::socket socket;
    asio::streambuf in;
  };
  void accept() {
    acceptor.async_accept([this](boost::system::error_code ec, asio::ip::tcp::socket socket) {
      if (ec) return;
      ++accepted;
      serve(std::make_shared<Connection>(std::move(socket)));
      accept();
    });
  }
  void serve(std::shared_ptr<Connection> c) {
    asio::async_read_until(
        c->socket, c->in, "\r\n\r\n",
        [this, c](boost::system::error_code ec, std::size_t head_size) {
          if (ec) {
            ++closed;
            return;
          }
          std::string head(
              asio::buffers_begin(c->in.data()),
              asio::buffers_begin(c->in.data()) + static_cast<std::ptrdiff_t>(head_size));
          c->in.consume(head_size);
          std::size_t length = 0;
          for (auto& ch : head)
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          if (const auto at = head.find("content-length:"); at != std::string::npos)
            length = std::stoul(head.substr(at + 15));
          const auto missing = length > c->in.size() ? length - c->in.size() : 0;
          asio::async_read(
              c->socket, c->in, asio::transfer_exactly(missing),
              [this, c, length](boost::system::error_code ec, std::size_t) {
                if (ec) return;
                bodies.emplace_back(
                    asio::buffers_begin(c->in.data()),
                    asio::buffers_begin(c->in.data()) + static_cast<std::ptrdiff_t>(length));
                c->in.consume(length);
                static const std::string answer =
                    "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n";
                asio::async_write(c->socket, asio::buffer(answer),
                                  [this, c](boost::system::error_code ec, std::size_t) {
                                    if (!ec) serve(c);
                                  });
              });
        });
  }
  asio::ip::tcp::acceptor acceptor;
  std::vector<std::string> bodies;
  int accepted = 0;
  int closed = 0;
};

// A UDP socket and the datagrams it has received so far.
struct UdpPeer {
  UdpPeer(asio::io_context& io, const char* address, std::uint16_t port = 0)
      : socket(io, asio::ip::udp::endpoint(asio::ip::make_address(address), port)) {
    socket.non_blocking(true);
  }
  std::uint16_t port() const { return socket.local_endpoint().port(); }
  const std::vector<std::string>& datagrams() {
    std::array<char, 2048> buffer{};
    boost::system::error_code ec;
    for (;;) {
      const auto n = socket.receive(asio::buffer(buffer), 0, ec);
      if (ec) break;
      received.emplace_back(buffer.data(), n);
    }
    return received;
  }
  asio::ip::udp::socket socket;
  std::vector<std::string> received;
};

struct Counts {
  std::map<shm::Counter, std::uint64_t> by_counter;
  int resumes = 0;
  PushHooks hooks() {
    return {[this] { ++resumes; }, [this](shm::Counter c, std::uint64_t n) { by_counter[c] += n; },
            [](std::string_view, std::string_view) {}};
  }
  std::uint64_t operator[](shm::Counter c) { return by_counter[c]; }
};

std::function<std::vector<PayloadPtr>()> one(std::string bytes, std::size_t metrics = 1) {
  return [bytes = std::move(bytes), metrics] {
    return std::vector<PayloadPtr>{make_payload(bytes, metrics)};
  };
}

// Offers one payload from ring "s" until it may leave the ring (delivered).
bool deliver(asio::io_context& io, Pusher& pusher, const std::string& bytes) {
  const auto encode = one(bytes);
  return run_until(io, [&] { return pusher.offer("s", encode); });
}

// The resolver's test seam: names looked up in `hosts`, again after 200 ms.
ResolveOptions resolve_through(const std::string& hosts) {
  ResolveOptions options;
  options.refresh = milliseconds(200);
  options.hosts_file = hosts;
  return options;
}

PushOptions fast_options(std::size_t buffer_limit = 10000) {
  PushOptions options;
  options.buffer_limit = buffer_limit;
  options.backoff_first = milliseconds(20);
  options.backoff_max = milliseconds(200);
  return options;
}

}  // namespace

class TestPush : public QObject {
  Q_OBJECT
 private slots:
  void backoff_doubles_with_jitter_up_to_the_max() {
    Backoff backoff(milliseconds(100), milliseconds(10000), 0.2, 42);
    double expected = 100;
    for (int i = 0; i < 12; ++i) {
      const auto delay = static_cast<double>(backoff.next().count());
      QVERIFY2(delay >= expected * 0.8 - 1 && delay <= expected * 1.2 + 1,
               std::to_string(delay).c_str());
      expected = std::min(expected * 2, 10000.0);
    }
    backoff.reset();
    QVERIFY(backoff.next() <= milliseconds(121));
  }

  void splits_host_and_port_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("host");
    QTest::addColumn<int>("port");
    QTest::newRow("name") << "carbon"
                          << "carbon" << 2003;
    QTest::newRow("name:port") << "carbon:2004"
                               << "carbon" << 2004;
    QTest::newRow("v4") << "10.0.0.1:1"
                        << "10.0.0.1" << 1;
    QTest::newRow("v6") << "[::1]:8089"
                        << "::1" << 8089;
    QTest::newRow("v6 no port") << "[fe80::1]"
                                << "fe80::1" << 2003;
    QTest::newRow("bare v6") << "::1"
                             << "" << 0;
    QTest::newRow("port 0") << "h:0"
                            << "" << 0;
    QTest::newRow("port too big") << "h:65536"
                                  << "" << 0;
    QTest::newRow("empty port") << "h:"
                                << "" << 0;
  }
  void splits_host_and_port() {
    QFETCH(QString, text);
    QFETCH(QString, host);
    QFETCH(int, port);
    const auto hp = split_host_port(text.toStdString(), 2003);
    if (host.isEmpty()) {
      QVERIFY(!hp);
      return;
    }
    QVERIFY(hp);
    QCOMPARE(QString::fromStdString(hp->host), host);
    QCOMPARE(int(hp->port), port);
  }

  void parses_urls() {
    auto url = parse_url("https://vm.example:8428/api/v1/write?extra_label=a");
    QVERIFY(url);
    QVERIFY(url->tls);
    QCOMPARE(url->origin.host, std::string("vm.example"));
    QCOMPARE(url->origin.port, std::uint16_t(8428));
    QCOMPARE(url->target, std::string("/api/v1/write?extra_label=a"));
    url = parse_url("http://[::1]");
    QVERIFY(url);
    QCOMPARE(url->origin.port, std::uint16_t(80));
    QCOMPARE(url->target, std::string("/"));
    QVERIFY(!parse_url("ftp://x/"));
    QVERIFY(!parse_url("http://user:pw@x/"));
  }

  void parses_retry_after() {
    const auto now =
        std::chrono::system_clock::from_time_t(1445412480);  // Wed, 21 Oct 2015 07:28:00 GMT
    QCOMPARE(parse_retry_after("7", now), std::optional<milliseconds>(7000));
    QCOMPARE(parse_retry_after(" 0 ", now), std::optional<milliseconds>(0));
    QCOMPARE(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
             std::optional<milliseconds>(30000));
    QCOMPARE(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
             std::optional<milliseconds>(0));
    QCOMPARE(parse_retry_after("99999999", now), std::optional<milliseconds>(600000));
    QVERIFY(!parse_retry_after("soon", now));
    QVERIFY(!parse_retry_after("", now));
  }

  void classifies_http_answers_data() {
    QTest::addColumn<int>("status");
    QTest::addColumn<int>("kind");
    QTest::addColumn<bool>("slow");
    QTest::newRow("204") << 204 << int(Outcome::Kind::delivered) << false;
    QTest::newRow("200") << 200 << int(Outcome::Kind::delivered) << false;
    QTest::newRow("400") << 400 << int(Outcome::Kind::dropped) << false;
    QTest::newRow("404") << 404 << int(Outcome::Kind::dropped) << false;
    QTest::newRow("401") << 401 << int(Outcome::Kind::retry) << true;
    QTest::newRow("403") << 403 << int(Outcome::Kind::retry) << true;
    QTest::newRow("408") << 408 << int(Outcome::Kind::retry) << false;
    QTest::newRow("413") << 413 << int(Outcome::Kind::split) << false;
    QTest::newRow("429") << 429 << int(Outcome::Kind::retry) << false;
    QTest::newRow("500") << 500 << int(Outcome::Kind::retry) << false;
    QTest::newRow("503") << 503 << int(Outcome::Kind::retry) << false;
  }
  void classifies_http_answers() {
    QFETCH(int, status);
    QFETCH(int, kind);
    QFETCH(bool, slow);
    HttpResponse response;
    response.status = static_cast<unsigned>(status);
    response.body = "{\"error\":\"x\"}\n";
    const Splitter halves = [](const Payload& p) {
      const auto half = p.bytes.size() / 2;
      return std::vector<PayloadPtr>{make_payload(p.bytes.substr(0, half), 1),
                                     make_payload(p.bytes.substr(half), 1)};
    };
    const auto outcome = classify_response(response, *make_payload("a\nb\n", 2), halves);
    QCOMPARE(int(outcome.kind), kind);
    QCOMPARE(outcome.slow, slow);
    if (kind == int(Outcome::Kind::dropped))
      QVERIFY(outcome.reason.find("{\"error\":\"x\"}") != std::string::npos);
  }

  void retry_after_is_honoured() {
    HttpResponse response;
    response.status = 429;
    response.retry_after = milliseconds(3000);
    QCOMPARE(classify_response(response, Payload{}, {}).wait, milliseconds(3000));
    response.status = 413;  // cannot split: dropped
    QCOMPARE(int(classify_response(response, Payload{}, {}).kind), int(Outcome::Kind::dropped));
  }

  void gzip_round_trips() {
    const std::string text(100000, 'x');
    const auto packed = gzip_compress(text);
    QVERIFY(packed.size() < 1000);
    QCOMPARE(static_cast<unsigned char>(packed[0]), 0x1fu);
    std::string out(text.size() + 10, '\0');
    z_stream zs{};
    inflateInit2(&zs, 15 + 16);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.data()));
    zs.avail_in = static_cast<uInt>(packed.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    QCOMPARE(inflate(&zs, Z_FINISH), Z_STREAM_END);
    out.resize(zs.total_out);
    inflateEnd(&zs);
    QCOMPARE(out, text);
  }

  // The batch stays in the ring (offer() false) until the host has it; the
  // runtime is resumed, presents it again, and then it leaves (true).
  void a_batch_leaves_only_once_delivered() {
    asio::io_context io;
    Listener listener(io, true);
    Counts counts;
    Pusher pusher(io, fast_options(), counts.hooks());
    pusher.add_host(make_tcp_transport(io, {"127.0.0.1", listener.port()}, "carbon"));
    int encodes = 0;
    const auto encode = [&] {
      ++encodes;
      return std::vector<PayloadPtr>{make_payload("a.b 1 1\n", 1)};
    };
    QVERIFY(!pusher.offer("statsd", encode));
    QVERIFY(run_until(io, [&] { return counts.resumes == 1; }));
    QVERIFY(pusher.offer("statsd", encode));
    QCOMPARE(encodes, 1);
    QVERIFY(run_until(io, [&] { return listener.received == "a.b 1 1\n"; }));
    QCOMPARE(counts[shm::Counter::metrics_out], 1u);
    QCOMPARE(counts[shm::Counter::bytes_out], 8u);
  }

  // Nobody listens: retried with backoff, nothing leaves the ring; once the
  // listener starts, the batch arrives and leaves.
  void an_absent_peer_holds_the_ring_until_it_starts() {
    asio::io_context io;
    std::uint16_t port = 0;
    {
      Listener probe(io, true);
      port = probe.port();
    }
    Counts counts;
    Pusher pusher(io, fast_options(), counts.hooks());
    pusher.add_host(make_tcp_transport(io, {"127.0.0.1", port}, "carbon"));
    QVERIFY(!pusher.offer("statsd", one("x 1 1\n")));
    QVERIFY(run_until(io, [&] { return counts[shm::Counter::retries] >= 3; }));
    QCOMPARE(counts.resumes, 0);
    QVERIFY(!pusher.offer("statsd", one("never encoded\n")));
    QVERIFY(!pusher.host_stats(0).up);
    Listener listener(io, true, port);
    QVERIFY(run_until(io, [&] { return counts.resumes == 1; }));
    QVERIFY(pusher.offer("statsd", one("never encoded\n")));
    QVERIFY(run_until(io, [&] { return listener.received == "x 1 1\n"; }));
    QVERIFY(pusher.host_stats(0).up);
  }

  // The pending read sees the peer close; the next payload goes on a new
  // connection instead of into a dead one.
  void a_closed_peer_is_noticed_before_the_next_write() {
    asio::io_context io;
    Listener listener(io, true);
    Counts counts;
    Pusher pusher(io, fast_options(), counts.hooks());
    pusher.add_host(make_tcp_transport(io, {"127.0.0.1", listener.port()}, "carbon"));
    pusher.offer("s", one("first 1 1\n"));
    QVERIFY(run_until(io, [&] { return counts.resumes == 1; }));
    QVERIFY(pusher.offer("s", one("")));
    QVERIFY(run_until(io, [&] { return listener.received.size() == 10; }));
    listener.close_all();
    io.restart();
    io.run_for(milliseconds(100));  // the client's pending read completes with EOF
    pusher.offer("s", one("second 2 2\n"));
    QVERIFY(run_until(io, [&] { return counts.resumes == 2; }));
    QVERIFY(run_until(io, [&] { return listener.received == "first 1 1\nsecond 2 2\n"; }));
    QCOMPARE(listener.accepted, 2);
  }

  // A peer that accepts and never reads: the write times out, the payload is
  // retried, the ring still holds the batch.
  void a_peer_that_never_reads_times_out() {
    asio::io_context io;
    Listener listener(io, false);
    Counts counts;
    Pusher pusher(io, fast_options(), counts.hooks());
    TcpOptions options;
    options.write_timeout = milliseconds(300);
    pusher.add_host(make_tcp_transport(io, {"127.0.0.1", listener.port()}, "carbon", options));
    const std::string big(64 << 20, 'x');  // more than both socket buffers hold
    QVERIFY(!pusher.offer("s", one(big)));
    QVERIFY(run_until(io, [&] { return counts[shm::Counter::retries] >= 2; }));
    QCOMPARE(counts.resumes, 0);
    QVERIFY(listener.accepted >= 2);  // each retry on a new connection
  }

  // Two hosts, one dead: the live one gets every batch and batches leave the
  // ring; the dead one keeps at most buffer_limit metrics, dropping the oldest half.
  void a_dead_host_does_not_stall_the_live_one() {
    asio::io_context io;
    Listener live(io, true);
    std::uint16_t dead_port = 0;
    {
      Listener probe(io, true);
      dead_port = probe.port();
    }
    Counts counts;
    Pusher pusher(io, fast_options(100), counts.hooks());
    pusher.add_host(make_tcp_transport(io, {"127.0.0.1", live.port()}, "live"));
    pusher.add_host(make_tcp_transport(io, {"127.0.0.1", dead_port}, "dead"));
    int taken = 0;
    for (int i = 0; i < 50; ++i) {
      const auto line = "m " + std::to_string(i) + " 1\n";
      QVERIFY(run_until(
          io, [&] { return pusher.offer("s", one(line, 10)) ? (++taken, true) : false; }));
    }
    QCOMPARE(taken, 50);
    QVERIFY(run_until(io, [&] { return live.received.size() >= 50 * 6; }));
    QVERIFY(!pusher.host_stats(1).up);
    QVERIFY(pusher.host_stats(1).queued_metrics <= 100);
    QVERIFY(counts[shm::Counter::drops_buffer] >= 300);
  }

  // Every host down: nothing leaves, whatever the number of hosts.
  void all_hosts_down_holds_the_ring() {
    asio::io_context io;
    std::uint16_t port = 0;
    {
      Listener probe(io, true);
      port = probe.port();
    }
    Counts counts;
    Pusher pusher(io, fast_options(10), counts.hooks());
    pusher.add_host(make_tcp_transport(io, {"127.0.0.1", port}, "a"));
    pusher.add_host(make_tcp_transport(io, {"127.0.0.1", port}, "b"));
    QVERIFY(!pusher.offer("s", one("x 1 1\n", 50)));
    QVERIFY(run_until(io, [&] { return counts[shm::Counter::retries] >= 6; }));
    QVERIFY(!pusher.offer("s", one("x 1 1\n", 50)));
    QCOMPARE(counts[shm::Counter::drops_buffer], 0u);
  }

  void udp_sends_at_once_and_ipv6_works() {
    asio::io_context io;
    for (const char* host : {"127.0.0.1", "::1"}) {
      asio::ip::udp::socket receiver(io, asio::ip::udp::endpoint(asio::ip::make_address(host), 0));
      Counts counts;
      Pusher pusher(io, fast_options(), counts.hooks());
      pusher.add_host(make_udp_transport(io, {host, receiver.local_endpoint().port()}, "influxdb"));
      QVERIFY(pusher.offer("s", [] {
        return std::vector<PayloadPtr>{make_payload("m value=1\n", 1),
                                       make_payload("m value=2\n", 1)};
      }));
      std::array<char, 100> buffer{};
      QCOMPARE(receiver.receive(asio::buffer(buffer)), std::size_t(10));
      QCOMPARE(std::string(buffer.data(), 10), std::string("m value=1\n"));
      QCOMPARE(receiver.receive(asio::buffer(buffer)), std::size_t(10));
      QCOMPARE(counts[shm::Counter::batches_out], 2u);
    }
  }

  void tcp_over_ipv6() {
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, asio::ip::tcp::endpoint(asio::ip::make_address("::1"), 0));
    std::string received;
    asio::ip::tcp::socket peer(io);
    std::array<char, 100> buffer{};
    acceptor.async_accept(peer, [&](boost::system::error_code ec) {
      if (!ec) {
        peer.async_read_some(asio::buffer(buffer), [&](boost::system::error_code, std::size_t n) {
          received.assign(buffer.data(), n);
        });
      }
    });
    Counts counts;
    Pusher pusher(io, fast_options(), counts.hooks());
    pusher.add_host(make_tcp_transport(io, {"::1", acceptor.local_endpoint().port()}, "carbon"));
    pusher.offer("s", one("v6 1 1\n"));
    QVERIFY(run_until(io, [&] { return received == "v6 1 1\n"; }));
  }

  void names_are_resolved() {
    asio::io_context io;
    Listener listener(io, true);
    Counts counts;
    Pusher pusher(io, fast_options(), counts.hooks());
    pusher.add_host(make_tcp_transport(io, {"localhost", listener.port()}, "carbon"));
    pusher.offer("s", one("named 1 1\n"));
    QVERIFY(run_until(io, [&] { return listener.received == "named 1 1\n"; }));
  }

  void reads_hosts_files_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("name");
    QTest::addColumn<QStringList>("addresses");
    QTest::newRow("one") << "127.0.0.2 carbon.test\n"
                         << "carbon.test" << QStringList{"127.0.0.2"};
    QTest::newRow("aliases, case") << "10.0.0.1\tgw  Carbon.Test carbon\n"
                                   << "carbon.test" << QStringList{"10.0.0.1"};
    QTest::newRow("v4 and v6, in order")
        << "::1 carbon.test\n127.0.0.1 carbon.test\n::1 carbon.test\n"
        << "carbon.test" << QStringList{"::1", "127.0.0.1"};
    QTest::newRow("comments") << "# 10.0.0.9 carbon.test\n10.0.0.1 other # carbon.test\n"
                              << "carbon.test" << QStringList{};
    QTest::newRow("not an address") << "localhost carbon.test\n"
                                    << "carbon.test" << QStringList{};
    QTest::newRow("prefix is not the name") << "10.0.0.1 carbon.test.example\n"
                                            << "carbon.test" << QStringList{};
  }
  void reads_hosts_files() {
    QFETCH(QString, text);
    QFETCH(QString, name);
    QFETCH(QStringList, addresses);
    QStringList got;
    for (const auto& address : addresses_in_hosts_text(text.toStdString(), name.toStdString()))
      got << QString::fromStdString(address.to_string());
    QCOMPARE(got, addresses);
  }

  // A name moved to another address: after the next lookup (200 ms here, 180 s
  // by default) the TCP connection to the old address is replaced by one to the new.
  void tcp_follows_a_name_to_its_new_address() {
    asio::io_context io;
    Listener old_address(io, true);
    Listener new_address(io, true, old_address.port(), "127.0.0.2");
    bucky3::test::TempDir dir;
    const auto hosts = dir.write("hosts", "127.0.0.1 carbon.test\n");
    TcpOptions options;
    options.resolve = resolve_through(hosts);
    Counts counts;
    Pusher pusher(io, fast_options(), counts.hooks());
    pusher.add_host(make_tcp_transport(io, {"carbon.test", old_address.port()}, "carbon", options));
    QVERIFY(deliver(io, pusher, "before 1 1\n"));
    QVERIFY(run_until(io, [&] { return old_address.received == "before 1 1\n"; }));
    dir.write("hosts", "127.0.0.2 carbon.test\n");
    int sent = 0;
    QVERIFY(run_until(io, [&] {
      deliver(io, pusher, "m " + std::to_string(sent++) + " 1\n");
      return !new_address.received.empty();
    }));
    const auto old_total = old_address.received;
    QVERIFY(deliver(io, pusher, "after 1 1\n"));
    QVERIFY(run_until(io, [&] { return new_address.received.ends_with("after 1 1\n"); }));
    QCOMPARE(old_address.received, old_total);
    QCOMPARE(old_address.accepted, 1);
    QCOMPARE(new_address.accepted, 1);
    QVERIFY(run_until(io, [&] { return old_address.closed == 1; }));  // the old one closed
    // Every payload went to one address or the other, whole and in order.
    std::string all = old_address.received + new_address.received, expected = "before 1 1\n";
    for (int i = 0; i < sent; ++i) expected += "m " + std::to_string(i) + " 1\n";
    QCOMPARE(all, expected + "after 1 1\n");
  }

  // UDP follows the name too, from an IPv4 to an IPv6 address.
  void udp_follows_a_name_from_v4_to_v6() {
    asio::io_context io;
    UdpPeer v4(io, "127.0.0.1");
    UdpPeer v6(io, "::1", v4.port());
    bucky3::test::TempDir dir;
    const auto hosts = dir.write("hosts", "127.0.0.1 influx.test\n");
    Counts counts;
    Pusher pusher(io, fast_options(), counts.hooks());
    pusher.add_host(
        make_udp_transport(io, {"influx.test", v4.port()}, "influxdb", resolve_through(hosts)));
    QVERIFY(deliver(io, pusher, "m value=0\n"));
    QVERIFY(run_until(io, [&] { return v4.datagrams().size() == 1; }));
    dir.write("hosts", "::1 influx.test\n");
    int sent = 1;
    QVERIFY(run_until(io, [&] {
      deliver(io, pusher, "m value=" + std::to_string(sent++) + "\n");
      std::this_thread::sleep_for(milliseconds(5));  // UDP sends at once: not a busy loop
      return !v6.datagrams().empty();
    }));
    const auto v4_total = v4.datagrams().size();
    QVERIFY(deliver(io, pusher, "m value=after\n"));
    QVERIFY(run_until(io, [&] { return v6.datagrams().back() == "m value=after\n"; }));
    QCOMPARE(v4.datagrams().size(), v4_total);
    QCOMPARE(v4_total + v6.datagrams().size(), std::size_t(sent) + 1);
  }

  // HTTP keeps its connection alive between requests; after a re-lookup that
  // no longer has the connection's address, the next request goes on a new
  // connection to the new address (IPv6 here).
  void http_follows_a_name_to_its_new_address() {
    asio::io_context io;
    HttpPeer old_address(io, "127.0.0.1");
    HttpPeer new_address(io, "::1", old_address.port());
    bucky3::test::TempDir dir;
    const auto hosts = dir.write("hosts", "127.0.0.1 influx.test\n");
    HttpClientOptions options;
    options.resolve = resolve_through(hosts);
    Url url;
    url.origin = {"influx.test", old_address.port()};
    url.target = "/write";
    auto transport = std::make_unique<HttpTransport>(
        io, url, options,
        [](const Payload& p) {
          HttpRequest request;
          request.target = "/write";
          request.body = p.bytes;
          return request;
        },
        [](const HttpResponse& r, const Payload& p) { return classify_response(r, p, {}); },
        "influxdb");
    auto& client = transport->client();
    Counts counts;
    Pusher pusher(io, fast_options(), counts.hooks());
    pusher.add_host(std::move(transport));
    QVERIFY(deliver(io, pusher, "m value=0\n"));
    QVERIFY(deliver(io, pusher, "m value=1\n"));
    QCOMPARE(old_address.bodies.size(), std::size_t(2));
    QCOMPARE(old_address.accepted, 1);  // kept alive
    dir.write("hosts", "::1 influx.test\n");
    int sent = 2;
    QVERIFY(run_until(io, [&] {
      deliver(io, pusher, "m value=" + std::to_string(sent++) + "\n");
      return !new_address.bodies.empty();
    }));
    const auto old_total = old_address.bodies.size();
    QVERIFY(deliver(io, pusher, "m value=after\n"));
    QCOMPARE(new_address.bodies.back(), std::string("m value=after\n"));
    QCOMPARE(old_address.bodies.size(), old_total);
    QCOMPARE(old_total + new_address.bodies.size(), std::size_t(sent) + 1);
    QCOMPARE(new_address.accepted, 1);
    QCOMPARE(client.connections_opened(), std::uint64_t(2));
    QVERIFY(run_until(io, [&] { return old_address.closed == 1; }));
  }

  void replay_writes_payloads_in_order() {
    asio::io_context io;
    std::ostringstream out;
    Counts counts;
    Pusher pusher(io, fast_options(), counts.hooks());
    pusher.add_host(make_replay_transport(out));
    QVERIFY(pusher.offer("a", one("one\n")));
    QVERIFY(pusher.offer("a", one("two\n")));
    QCOMPARE(out.str(), std::string("one\ntwo\n"));
  }
};

QTEST_GUILESS_MAIN(TestPush)
#include "test_push.moc"
