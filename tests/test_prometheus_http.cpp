// tests/test_prometheus_http.cpp — HttpServer over real sockets: routes, HEAD, gzip,
// keep-alive, limits; built a second time with BUCKY3_HOSTILE_TESTS for hostile clients.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <QFile>
#include <QtTest>
#include <atomic>
#include <boost/asio.hpp>
#include <future>
#include <thread>

#include "exporters/prometheus/http_server.h"
#include "exporters/prometheus/series_store.h"
#include "tests/support/compression.h"

using namespace bucky3;
using namespace bucky3::prometheus;
using namespace bucky3::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif
#else
constexpr bool kAsan = false;
#endif

// The server under test runs its io_context on its own thread; everything that
// touches the server goes through call().
class Fixture {
 public:
  explicit Fixture(HttpOptions options, int series = 3) : guard_(io_.get_executor()) {
    const auto now = SeriesStore::Clock::now();
    for (int i = 0; i < series; ++i) {
      Metric m;
      m.bucket = "stats_gauges";
      m.metadata = {{"host", "h"}, {"name", "g" + std::to_string(i)}};
      m.values = {{"", double(i) + 0.5}};
      store_.apply(m, now);
    }
    server_ = std::make_unique<HttpServer>(
        io_, std::move(options), [this](bool gzip) { return store_.page(gzip, "tail 1\n"); });
    thread_ = std::thread([this] { io_.run(); });
  }
  template <class F>
  auto call(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    asio::post(io_, [&task] { task(); });
    return result.get();
  }
  ~Fixture() {
    call([this] { server_->stop(); });
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  std::uint16_t port() {
    return call([this] { return server_->port(); });
  }
  HttpStats stats() {
    return call([this] { return server_->stats(); });
  }
  std::string text() {
    return call([this] { return *store_.text() + "tail 1\n"; });
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  SeriesStore store_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

struct Response {
  int status = 0;                      // 0: connection closed or timed out before a status line
  std::map<QString, QString> headers;  // lower-case names
  std::string body;
  QString header(const char* name) const {
    const auto it = headers.find(QString(name));
    return it == headers.end() ? QString() : it->second;
  }
};

// A blocking client socket; every read gives up after 20 s so a broken server fails
// the test instead of hanging it.
class Client {
 public:
  explicit Client(std::uint16_t port, bool ipv6 = false) {
    fd_ = ::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval timeout{20, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    if (ipv6) {
      sockaddr_in6 address{};
      address.sin6_family = AF_INET6;
      address.sin6_port = htons(port);
      address.sin6_addr = in6addr_loopback;
      connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    } else {
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons(port);
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    }
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client(Client&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)), connected_(other.connected_) {}

  bool connected() const { return connected_; }
  bool send(std::string_view data) {
    while (!data.empty()) {
      const auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(std::size_t(n));
    }
    return true;
  }
  // True when the server closed the connection (EOF or reset) before `limit` bytes.
  bool closed_by_server() {
    char byte;
    const auto n = ::recv(fd_, &byte, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }
  Response read_response(bool head_request = false) {
    Response response;
    std::size_t header_end;
    while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return response;
    }
    const auto head = QString::fromStdString(buffer_.substr(0, header_end));
    buffer_.erase(0, header_end + 4);
    const auto lines = head.split("\r\n");
    response.status = lines[0].section(' ', 1, 1).toInt();
    for (int i = 1; i < lines.size(); ++i) {
      const auto colon = lines[i].indexOf(':');
      response.headers[lines[i].left(colon).trimmed().toLower()] =
          lines[i].mid(colon + 1).trimmed();
    }
    const auto length = head_request ? 0 : response.header("content-length").toULongLong();
    while (buffer_.size() < length) {
      if (!fill()) {
        response.status = 0;
        return response;
      }
    }
    response.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return response;
  }
  Response get(std::string_view target, std::string_view extra_headers = {},
               std::string_view method = "GET") {
    std::string request = std::string(method) + " " + std::string(target) +
                          " HTTP/1.1\r\nHost: localhost\r\n" + std::string(extra_headers) + "\r\n";
    if (!send(request)) return {};
    return read_response(method == "HEAD");
  }
  std::size_t buffered() const { return buffer_.size(); }

 private:
  bool fill() {
    char chunk[65536];
    const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, std::size_t(n));
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

HttpOptions local(HttpOptions options = {}) {
  options.local_host = "127.0.0.1:0";
  return options;
}

[[maybe_unused]] std::uint64_t rss_bytes() {
  QFile file("/proc/self/status");
  if (!file.open(QIODevice::ReadOnly)) return 0;
  for (const auto& line : file.readAll().split('\n')) {
    if (line.startsWith("VmRSS:")) return line.mid(6).trimmed().split(' ')[0].toULongLong() * 1024;
  }
  return 0;
}

}  // namespace

#ifndef BUCKY3_HOSTILE_TESTS

class TestPrometheusHttp : public QObject {
  Q_OBJECT
 private slots:
  void routes_data() {
    QTest::addColumn<QByteArray>("method");
    QTest::addColumn<QByteArray>("target");
    QTest::addColumn<int>("status");
    QTest::addColumn<QByteArray>("content_type");
    QTest::addColumn<QByteArray>("body_contains");
    const QByteArray metrics_type = "text/plain; version=0.0.4; charset=utf-8";
    QTest::newRow("metrics") << QByteArray("GET") << QByteArray("/metrics") << 200 << metrics_type
                             << QByteArray("stats_gauges{host=\"h\",name=\"g1\"} 1.5\n");
    QTest::newRow("metrics with query") << QByteArray("GET") << QByteArray("/metrics?x=1") << 200
                                        << metrics_type << QByteArray("tail 1\n");
    QTest::newRow("healthy") << QByteArray("GET") << QByteArray("/-/healthy") << 200
                             << QByteArray("text/plain; charset=utf-8") << QByteArray("Healthy");
    QTest::newRow("ready") << QByteArray("GET") << QByteArray("/-/ready") << 200
                           << QByteArray("text/plain; charset=utf-8") << QByteArray("Ready");
    QTest::newRow("landing") << QByteArray("GET") << QByteArray("/") << 200
                             << QByteArray("text/html; charset=utf-8")
                             << QByteArray("<a href=\"/metrics\">");
    QTest::newRow("unknown") << QByteArray("GET") << QByteArray("/metricsx") << 404
                             << QByteArray("text/plain; charset=utf-8") << QByteArray("Not Found");
    QTest::newRow("post") << QByteArray("POST") << QByteArray("/metrics") << 405
                          << QByteArray("text/plain; charset=utf-8") << QByteArray("Not Allowed");
    QTest::newRow("delete") << QByteArray("DELETE") << QByteArray("/") << 405
                            << QByteArray("text/plain; charset=utf-8") << QByteArray("Not Allowed");
  }
  void routes() {
    QFETCH(QByteArray, method);
    QFETCH(QByteArray, target);
    QFETCH(int, status);
    QFETCH(QByteArray, content_type);
    QFETCH(QByteArray, body_contains);
    Fixture server(local());
    Client client(server.port());
    const auto response = client.get(target.toStdString(), {}, method.toStdString());
    QCOMPARE(response.status, status);
    QCOMPARE(response.header("content-type"), QString(content_type));
    QVERIFY2(response.body.find(body_contains.toStdString()) != std::string::npos,
             response.body.c_str());
    if (status == 405) QCOMPARE(response.header("allow"), QString("GET, HEAD"));
    QVERIFY2(QRegularExpression("^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \\d\\d "
                                "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                                "\\d{4} \\d\\d:\\d\\d:\\d\\d GMT$")
                 .match(response.header("date"))
                 .hasMatch(),
             qPrintable(response.header("date")));
    if (status == 200 && target == "/metrics") QCOMPARE(response.body, server.text());
  }

  void head_sends_headers_only() {
    Fixture server(local());
    Client client(server.port());
    const auto get = client.get("/metrics");
    const auto head = client.get("/metrics", {}, "HEAD");
    QCOMPARE(head.status, 200);
    QCOMPARE(head.header("content-length"), QString::number(get.body.size()));
    // Had the body been sent, the next response would not start with a status line.
    const auto after = client.get("/-/healthy");
    QCOMPARE(after.status, 200);
    QCOMPARE(client.buffered(), std::size_t{0});
  }

  void gzip_negotiation_data() {
    QTest::addColumn<QByteArray>("accept_encoding");
    QTest::addColumn<bool>("gzip");
    QTest::newRow("none") << QByteArray() << false;
    QTest::newRow("gzip") << QByteArray("gzip") << true;
    QTest::newRow("prometheus") << QByteArray("gzip") << true;
    QTest::newRow("curl") << QByteArray("deflate, gzip, br, zstd") << true;
    QTest::newRow("upper case") << QByteArray("GZIP") << true;
    QTest::newRow("q=0") << QByteArray("gzip;q=0") << false;
    QTest::newRow("q=0.5") << QByteArray("gzip; q=0.5") << true;
    QTest::newRow("star") << QByteArray("*") << true;
    QTest::newRow("star but not gzip") << QByteArray("gzip;q=0, *") << false;
    QTest::newRow("identity") << QByteArray("identity") << false;
  }
  void gzip_negotiation() {
    QFETCH(QByteArray, accept_encoding);
    QFETCH(bool, gzip);
    Fixture server(local(), 5000);
    Client client(server.port());
    const std::string header = accept_encoding.isNull()
                                   ? ""
                                   : "Accept-Encoding: " + accept_encoding.toStdString() + "\r\n";
    for (int round = 0; round < 2; ++round) {  // the second one reuses the cached prefix
      const auto response = client.get("/metrics", header);
      QCOMPARE(response.status, 200);
      QCOMPARE(response.header("content-encoding"), gzip ? QString("gzip") : QString());
      QCOMPARE(gzip ? gunzip(response.body) : response.body, server.text());
    }
  }

  void keep_alive_and_pipelining() {
    Fixture server(local());
    Client client(server.port());
    for (int i = 0; i < 3; ++i) QCOMPARE(client.get("/metrics").status, 200);
    QVERIFY(client.send(
        "GET /-/ready HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n"));
    QCOMPARE(client.read_response().status, 200);
    QCOMPARE(client.read_response().status, 404);
    const auto stats = server.stats();
    QCOMPARE(stats.accepted, std::uint64_t{1});
    QCOMPARE(stats.scrapes, std::uint64_t{3});
    QCOMPARE(stats.requests, std::uint64_t{5});
    QVERIFY(stats.sent_bytes > 3 * server.text().size());
  }

  void connection_close_is_honoured_data() {
    QTest::addColumn<QByteArray>("request");
    QTest::newRow("http/1.0") << QByteArray("GET /metrics HTTP/1.0\r\n\r\n");
    QTest::newRow("connection: close")
        << QByteArray("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  }
  void connection_close_is_honoured() {
    QFETCH(QByteArray, request);
    Fixture server(local());
    Client client(server.port());
    QVERIFY(client.send(request.toStdString()));
    const auto response = client.read_response();
    QCOMPARE(response.status, 200);
    QCOMPARE(response.header("connection"), QString("close"));
    QVERIFY(client.closed_by_server());
  }

  void empty_http_path_serves_metrics_at_root() {
    HttpOptions options = local();
    options.http_path = "";
    Fixture server(options);
    Client client(server.port());
    const auto response = client.get("/");
    QCOMPARE(response.status, 200);
    QCOMPARE(response.body, server.text());
    QCOMPARE(client.get("/metrics").status, 404);
  }

  void ipv6_loopback() {
    HttpOptions options;
    options.local_host = "[::1]:0";
    std::unique_ptr<Fixture> server;
    try {
      server = std::make_unique<Fixture>(options);
    } catch (const std::exception& error) {
      QSKIP(error.what());  // no IPv6 on this host
    }
    Client client(server->port(), true);
    QVERIFY(client.connected());
    QCOMPARE(client.get("/metrics").body, server->text());
  }

  void bad_local_host_throws_data() {
    QTest::addColumn<QString>("local_host");
    QTest::newRow("no port") << "127.0.0.1";
    QTest::newRow("bad port") << "127.0.0.1:99999";
    QTest::newRow("unclosed bracket") << "[::1:9103";
    QTest::newRow("unknown host") << "no-such-host.invalid:9103";
  }
  void bad_local_host_throws() {
    QFETCH(QString, local_host);
    asio::io_context io;
    HttpOptions options;
    options.local_host = local_host.toStdString();
    QVERIFY_THROWS_EXCEPTION(std::runtime_error,
                             HttpServer(io, options, [](bool) { return ScrapePage{}; }));
  }

  void oversized_header_gets_431() {
    Fixture server(local());
    Client client(server.port());
    const auto response = client.get("/metrics", "X-Big: " + std::string(9000, 'a') + "\r\n");
    QCOMPARE(response.status, 431);
    QVERIFY(client.closed_by_server());
    Client next(server.port());
    QCOMPARE(next.get("/metrics", "X-Fits: " + std::string(7000, 'a') + "\r\n").status, 200);
  }

  void bodies_are_refused_data() {
    QTest::addColumn<QByteArray>("request");
    QTest::newRow("post with length")
        << QByteArray("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    QTest::newRow("get with length")
        << QByteArray("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    QTest::newRow("chunked") << QByteArray(
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  }
  void bodies_are_refused() {
    QFETCH(QByteArray, request);
    Fixture server(local());
    Client client(server.port());
    QVERIFY(client.send(request.toStdString()));
    QCOMPARE(client.read_response().status, 413);
    QVERIFY(client.closed_by_server());
  }

  void garbage_gets_400() {
    Fixture server(local());
    Client client(server.port());
    QVERIFY(client.send("\x01\x02 nonsense\r\n\r\n"));
    QCOMPARE(client.read_response().status, 400);
    QCOMPARE(server.stats().rejected, std::uint64_t{1});
  }

  void idlest_connection_is_closed_at_the_cap() {
    HttpOptions options = local();
    options.max_connections = 4;
    Fixture server(options);
    std::vector<Client> idle;
    for (int i = 0; i < 4; ++i) idle.emplace_back(server.port());
    // The second one becomes the most recently active: the others go first.
    QCOMPARE(idle[1].get("/-/ready").status, 200);
    Client scraper(server.port());
    QCOMPARE(scraper.get("/metrics").status, 200);
    QVERIFY(idle[0].closed_by_server());
    QCOMPARE(idle[1].get("/-/ready").status, 200);
    const auto stats = server.stats();
    QCOMPARE(stats.closed_for_cap, std::uint64_t{1});
    QCOMPARE(stats.open_connections, std::size_t{4});
  }

  void slow_header_is_cut_off() {
    HttpOptions options = local();
    options.header_timeout = 1s;
    Fixture server(options);
    Client slow(server.port());
    QVERIFY(slow.send("GET /metrics HTTP/1.1\r\nHost: x\r\n"));
    QVERIFY(slow.closed_by_server());  // within the 20 s receive timeout
    QCOMPARE(server.stats().timed_out, std::uint64_t{1});
  }

  void idle_connection_is_cut_off() {
    HttpOptions options = local();
    options.idle_timeout = 1s;
    Fixture server(options);
    Client client(server.port());
    QCOMPARE(client.get("/metrics").status, 200);
    QVERIFY(client.closed_by_server());
    QCOMPARE(server.stats().timed_out, std::uint64_t{1});
  }

  void open_files_limit_is_raised() {
    rlimit limit{};
    QCOMPARE(getrlimit(RLIMIT_NOFILE, &limit), 0);
    QCOMPARE(raise_open_files_limit(), std::uint64_t(limit.rlim_max));
    QCOMPARE(getrlimit(RLIMIT_NOFILE, &limit), 0);
    QCOMPARE(limit.rlim_cur, limit.rlim_max);
  }
};

QTEST_GUILESS_MAIN(TestPrometheusHttp)

#else  // BUCKY3_HOSTILE_TESTS

// Hostile clients: whatever they do, a well-behaved scrape keeps being answered and
// the process' RSS stays bounded.
class TestPrometheusHostile : public QObject {
  Q_OBJECT
  static constexpr int kSeries = 20000;  // ~1.3 MB of text

  static void scrape_works(Fixture& server, const std::string& expected) {
    Client client(server.port());
    const auto response = client.get("/metrics", "Accept-Encoding: gzip\r\n");
    QCOMPARE(response.status, 200);
    QVERIFY(gunzip(response.body) == expected);
  }
  static std::uint64_t rss_bound() { return kAsan ? 640ull << 20 : 32ull << 20; }
  static void check_rss(std::uint64_t before) {
    const auto after = rss_bytes();
    const auto growth = after > before ? after - before : 0;
    qInfo("VmRSS %llu KiB -> %llu KiB (bound: +%llu KiB)", (unsigned long long)(before >> 10),
          (unsigned long long)(after >> 10), (unsigned long long)(rss_bound() >> 10));
    QVERIFY(growth < rss_bound());
  }

 private slots:
  void thousand_idle_connections() {
    Fixture server(local(), kSeries);
    const auto expected = server.text();
    const auto rss_before = rss_bytes();
    std::vector<Client> idle;
    for (int i = 0; i < 1000; ++i) {
      idle.emplace_back(server.port());
      QVERIFY(idle.back().connected());
    }
    for (int i = 0; i < 5; ++i) scrape_works(server, expected);
    QVERIFY(server.stats().open_connections <= 256);
    check_rss(rss_before);
  }

  void slowloris_headers() {
    HttpOptions options = local();
    options.header_timeout = 2s;
    Fixture server(options, kSeries);
    const auto expected = server.text();
    std::vector<Client> slow;
    for (int i = 0; i < 200; ++i) {
      slow.emplace_back(server.port());
      slow.back().send("GET /metrics HTTP/1.1\r\n");
    }
    // Each trickles one header line per round; every round a real scrape gets through.
    for (int round = 0; round < 8; ++round) {
      for (auto& client : slow) client.send("X-Slow: 1\r\n");
      scrape_works(server, expected);
      std::this_thread::sleep_for(500ms);
    }
    int cut_off = 0;
    for (auto& client : slow) cut_off += client.closed_by_server() ? 1 : 0;
    QCOMPARE(cut_off, 200);
    QVERIFY(server.stats().timed_out >= 200);
  }

  void megabyte_header() {
    Fixture server(local(), kSeries);
    const auto expected = server.text();
    const auto rss_before = rss_bytes();
    for (int i = 0; i < 20; ++i) {
      Client client(server.port());
      std::string request =
          "GET /metrics HTTP/1.1\r\nX-Huge: " + std::string(1 << 20, 'x') + "\r\n\r\n";
      client.send(request);  // the server may reset us half way: that is fine
      const auto response = client.read_response();
      QVERIFY(response.status == 431 || response.status == 0);
    }
    scrape_works(server, expected);
    QVERIFY(server.stats().rejected >= 1);
    check_rss(rss_before);
  }

  void request_flood() {
    Fixture server(local(), kSeries);
    const auto expected = server.text();
    const auto rss_before = rss_bytes();
    std::atomic<bool> done{false};  // relaxed is enough: a plain stop flag, no data behind it
    std::vector<std::thread> flooders;
    for (int t = 0; t < 4; ++t) {
      flooders.emplace_back([&, port = server.port()] {
        std::string burst;
        for (int i = 0; i < 100; ++i) burst += "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
        while (!done.load(std::memory_order_relaxed)) {
          // Pipelines requests and never reads: the server must not buffer the answers.
          Client client(port);
          for (int i = 0; i < 5 && !done.load(std::memory_order_relaxed); ++i) {
            if (!client.send(burst)) break;
          }
        }
      });
    }
    for (int i = 0; i < 20; ++i) scrape_works(server, expected);
    done.store(true, std::memory_order_relaxed);
    for (auto& thread : flooders) thread.join();
    QVERIFY(server.stats().scrapes >= 20);
    check_rss(rss_before);
  }
};

QTEST_GUILESS_MAIN(TestPrometheusHostile)

#endif

#include "test_prometheus_http.moc"
