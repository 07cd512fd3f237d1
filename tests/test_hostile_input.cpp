// tests/test_hostile_input.cpp — hostile input to a real agent, each with one
// clear outcome and nothing else lost: random and malformed datagrams, datagrams
// of the maximum size, an endless TCP line, compression bombs, a cardinality
// explosion of 1 million series, 10,000 connections to the exporter, broken
// configs. The parts in isolation are in test_statsd_receiver, test_line_parser,
// test_prometheus_http (hostile) and test_config.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include "shm/health.h"
#include "tests/support/agent.h"
#include "tests/support/compression.h"
#include "tests/support/health.h"

using namespace bucky3::test;
using namespace std::chrono_literals;
using bucky3::shm::Counter;

namespace {

// VmHWM (peak resident memory) of a process, in bytes.
std::uint64_t peak_rss_bytes(pid_t pid) {
  std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) << 10;
  return 0;
}

// Sum of the "count" of stats_counters per name in debug_output's JSON Lines.
std::map<std::string, double> counts(const std::string& out) {
  std::map<std::string, double> result;
  for (const auto& line : QByteArray::fromStdString(out).split('\n')) {
    const auto doc = QJsonDocument::fromJson(line);
    if (!doc.isObject() || doc.object()["bucket"].toString() != "stats_counters") continue;
    const auto name = doc.object()["metadata"].toObject()["name"].toString().toStdString();
    result[name] += doc.object()["values"].toObject()["count"].toDouble();
  }
  return result;
}

class UdpClient {
 public:
  explicit UdpClient(int port) : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
    addr_.sin_family = AF_INET;
    addr_.sin_port = htons(std::uint16_t(port));
    addr_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  ~UdpClient() { ::close(fd_); }
  bool send(std::string_view payload) {
    return ::sendto(fd_, payload.data(), payload.size(), 0,
                    reinterpret_cast<const sockaddr*>(&addr_),
                    sizeof addr_) == ssize_t(payload.size());
  }

 private:
  int fd_;
  sockaddr_in addr_{};
};

int tcp_connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(std::uint16_t(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(std::size_t(n));
  }
  return true;
}

// statsd_server (UDP and TCP) into debug_output JSON and the Prometheus exporter.
struct Agent : AgentProcess {
  std::string statsd_extra, prom_extra;

  void start() {
    // A bounded ASan quarantine, so peak memory in that build means something.
    start_with(config_head(instance, "0.5") + statsd_module(udp, tcp, statsd_extra) +
                   debug_json_module() + prometheus_module(http, "prom", prom_extra),
               {"ASAN_OPTIONS=quarantine_size_mb=16:detect_leaks=1:abort_on_error=1"});
  }
  bool ready() { return logged({"listening on UDP", "serving http"}, 15s); }
  std::uint64_t counter(const std::string& module, Counter c) const {
    return health_counter(instance, module, c);
  }
  std::vector<std::string> recent_reasons(const std::string& module) const {
    std::vector<std::string> out;
    const auto block = bucky3::shm::HealthBlock::open(instance, bucky3::shm::Access::read_only);
    for (const auto& e : block.snapshot(*block.find(module)).errors) out.push_back(e.reason);
    return out;
  }
  // A marker counter sent `n` times arrives with count n.
  bool marker_arrives(const std::string& name, int n = 1) {
    UdpClient client(udp);
    for (int i = 0; i < n; ++i) client.send(name + ":1|c\n");
    return poll_until(
        [&] {
          const auto c = counts(process.out());
          const auto it = c.find(name);
          return it != c.end() && it->second == n;
        },
        10s);
  }
  std::string scrape() const {
    return http_get("http://127.0.0.1:" + std::to_string(http) + "/metrics");
  }
  bool stop_cleanly() { return AgentProcess::stop_cleanly(15s); }
};

// Bombs of `bytes` when decompressed: zstd with the size in its frame header, zlib or gzip.
std::string zstd_bomb(std::size_t bytes) {
  return zstd_frame(std::string(bytes, '\0'), 19);
}

std::string zlib_bomb(std::size_t bytes, bool gzip) {
  return deflate_stream(std::string(bytes, 'a'), 1, gzip ? 31 : 15);
}

}  // namespace

class TestHostileInput : public QObject {
  Q_OBJECT
 private slots:
  void random_and_malformed_datagrams() {
    Agent agent;
    agent.start();
    QVERIFY2(agent.ready(), agent.process.err().c_str());
    const pid_t statsd = module_pid(agent.process.pid(), "statsd");
    std::mt19937 rng(17);
    const char* malformed[] = {
        "",        "\n\n\n",          ":",       "|",        "a:",        "a:1",
        "a:1|",    "a:1|zz",          "a:x|c",   "a:1|c|@",  "a:1|c|@2",  "a:1|c|#",
        "9a:1|c",  "a b:1|c",         "a:1|c|T", "a:nan|g",  "a:1e999|c", "_e{5,4}:title|text",
        "_sc|x|9", "a:1|c|#\xff\xfe", "a,=:1|c", "a:1:2:|d", "\0\0\0\0",  "a:1|c|c:",
        "a:--1|g", "a:1|s|s|s"};
    UdpClient client(agent.udp);
    int sent_ok = 0;
    for (int round = 0; round < 200; ++round) {
      std::string junk(rng() % 1400, '\0');
      for (auto& c : junk) c = char(rng());
      client.send(junk);
      std::string printable(rng() % 1400, '\0');
      for (auto& c : printable) c = " :|#@,=.\nabc019-+e"[rng() % 19];
      client.send(printable);
      std::string lines;
      for (int i = 0; i < 5; ++i)
        lines += std::string(malformed[rng() % std::size(malformed)]) + "\n";
      // Valid lines in the same datagram as invalid ones are kept.
      lines += "ok:1|c\n";
      ++sent_ok;
      client.send(lines);
      if (round % 20 == 0) std::this_thread::sleep_for(10ms);  // stay under the socket buffer
    }
    QVERIFY2(poll_until([&] { return counts(agent.process.out())["ok"] == sent_ok; }, 10s),
             agent.process.err().c_str());
    QVERIFY(agent.counter("statsd", Counter::lines_invalid) > 0);
    QVERIFY(!agent.recent_reasons("statsd").empty());
    QCOMPARE(module_pid(agent.process.pid(), "statsd"), statsd);
    QVERIFY(agent.marker_arrives("after_random", 3));
    QVERIFY(agent.stop_cleanly());
  }

  void maximum_size_datagrams() {
    Agent agent;
    agent.start();
    QVERIFY(agent.ready());
    // 65,507 bytes: the largest UDP payload over IPv4. Every line in it counts.
    constexpr std::size_t kMaxUdp = 65507;
    std::string datagram;
    int lines = 0;
    while (true) {
      const auto line = "big" + std::to_string(lines % 1000) + ":1|c\n";
      if (datagram.size() + line.size() > kMaxUdp) break;
      datagram += line;
      ++lines;
    }
    datagram.append(kMaxUdp - datagram.size(), '\n');
    QCOMPARE(datagram.size(), kMaxUdp);
    UdpClient client(agent.udp);
    for (int i = 0; i < 10; ++i) {
      QVERIFY(client.send(datagram));
      std::this_thread::sleep_for(20ms);
    }
    // One byte more is refused by the kernel, not by us.
    QVERIFY(!client.send(datagram + "x"));
    QVERIFY2(poll_until(
                 [&] {
                   const auto c = counts(agent.process.out());
                   double total = 0;
                   for (const auto& [name, count] : c)
                     if (name.rfind("big", 0) == 0) total += count;
                   return total == 10.0 * lines;
                 },
                 10s),
             agent.process.err().c_str());
    QVERIFY(agent.marker_arrives("after_big"));
    QVERIFY(agent.stop_cleanly());
  }

  void endless_tcp_line_is_cut_and_others_kept() {
    Agent agent;
    agent.start();
    QVERIFY(agent.ready());
    const pid_t statsd = module_pid(agent.process.pid(), "statsd");
    const int endless = tcp_connect(agent.tcp);
    QVERIFY(endless >= 0);
    const std::string chunk(1 << 16, 'x');
    // 64 MiB without a newline, while another client sends proper lines.
    const int good = tcp_connect(agent.tcp);
    QVERIFY(good >= 0);
    for (int i = 0; i < 1024; ++i) {
      if (!send_all(endless, chunk)) break;  // the server may hang up on it: fine
      if (i % 64 == 0) QVERIFY(send_all(good, "tcp_ok:1|c\n"));
    }
    send_all(endless, "\nafter_endless:1|c\n");
    ::close(endless);
    ::close(good);
    QVERIFY2(poll_until([&] { return counts(agent.process.out())["tcp_ok"] == 16; }, 10s),
             agent.process.err().c_str());
    QVERIFY(poll_until([&] { return agent.counter("statsd", Counter::drops_other) > 0; }, 5s));
    const auto reasons = agent.recent_reasons("statsd");
    QVERIFY(std::find(reasons.begin(), reasons.end(), "TCP line over tcp_max_line_length") !=
            reasons.end());
    // The line was never held whole: 64 MiB in, a few MiB of peak RSS.
    const auto peak = peak_rss_bytes(statsd);
    qInfo("statsd peak RSS after a 64 MiB line: %.1f MiB", double(peak) / (1 << 20));
    QVERIFY(peak < (kAsan ? 256ull : 48ull) << 20);
    QCOMPARE(module_pid(agent.process.pid(), "statsd"), statsd);
    QVERIFY(agent.marker_arrives("after_tcp"));
    QVERIFY(agent.stop_cleanly());
  }

  void compression_bombs_are_dropped_and_counted() {
    Agent agent;
    agent.start();
    QVERIFY(agent.ready());
    const pid_t statsd = module_pid(agent.process.pid(), "statsd");
    const std::string bombs[] = {zstd_bomb(200 << 20), zlib_bomb(60 << 20, false),
                                 zlib_bomb(60 << 20, true)};
    UdpClient client(agent.udp);
    for (const auto& bomb : bombs) {
      QVERIFY(bomb.size() < 65000);
      QVERIFY(client.send(bomb));
      QVERIFY(client.send("between_bombs:1|c\n"));
    }
    QVERIFY(poll_until([&] { return agent.counter("statsd", Counter::drops_other) >= 3; }, 10s));
    QVERIFY(poll_until([&] { return counts(agent.process.out())["between_bombs"] == 3; }, 10s));
    const auto reasons = agent.recent_reasons("statsd");
    QCOMPARE(std::count(reasons.begin(), reasons.end(), "decompressed size over max_datagram_size"),
             3);
    const auto peak = peak_rss_bytes(statsd);
    qInfo("statsd peak RSS after 320 MB of bombs: %.1f MiB", double(peak) / (1 << 20));
    QVERIFY(peak < (kAsan ? 256ull : 48ull) << 20);
    QVERIFY(agent.stop_cleanly());
  }

  void cardinality_explosion_is_capped() {
    // 1 million distinct series in a few seconds: statsd keeps max_series
    // (100,000, the default) per interval, the exporter max_series (here
    // 50,000) in all; the rest is dropped, counted and logged; memory stays
    // bounded.
    Agent agent;
    agent.statsd_extra = "    flush_interval: 2\n";
    agent.prom_extra = "    max_series: 50000\n";
    agent.start();
    QVERIFY(agent.ready());
    const pid_t statsd = module_pid(agent.process.pid(), "statsd");
    const pid_t prom = module_pid(agent.process.pid(), "prom");
    const int fd = tcp_connect(agent.tcp);
    QVERIFY(fd >= 0);
    std::string block;
    for (int i = 0; i < 1000000; ++i) {
      block += "card" + std::to_string(i) + ":1|c\n";
      if (block.size() > (1 << 16)) {
        QVERIFY(send_all(fd, block));
        block.clear();
      }
    }
    QVERIFY(send_all(fd, block));
    ::close(fd);
    QVERIFY2(poll_until([&] { return agent.counter("statsd", Counter::lines_in) >= 1000000; }, 60s),
             agent.process.err().c_str());
    QVERIFY(
        poll_until([&] { return agent.counter("statsd", Counter::drops_series_cap) > 0; }, 10s));
    const auto unlabelled = [](const std::string& page, const std::string& family) {
      const auto at = page.find("\n" + family + " ");
      return at == std::string::npos ? -1.0 : std::stod(page.substr(at + family.size() + 2));
    };
    QVERIFY2(
        poll_until(
            [&] { return unlabelled(agent.scrape(), "bucky3_exporter_series_dropped_total") > 0; },
            30s),
        agent.process.err().c_str());
    const double series = unlabelled(agent.scrape(), "bucky3_exporter_series");
    QVERIFY2(series > 0 && series <= 50000,
             qPrintable(QString("exporter holds %1 series").arg(series)));
    QVERIFY(agent.process.err().find("max_series (100000) reached") != std::string::npos);
    const auto statsd_peak = peak_rss_bytes(statsd), prom_peak = peak_rss_bytes(prom);
    qInfo(
        "1M series: statsd dropped %llu lines at its cap, exporter holds %.0f series; peak RSS "
        "statsd %.0f MiB, exporter %.0f MiB",
        (unsigned long long)agent.counter("statsd", Counter::drops_series_cap), series,
        double(statsd_peak) / (1 << 20), double(prom_peak) / (1 << 20));
    QVERIFY(statsd_peak < (kAsan ? 1024ull : 256ull) << 20);
    QVERIFY(prom_peak < (kAsan ? 1536ull : 512ull) << 20);
    QVERIFY(agent.marker_arrives("after_explosion"));
    QVERIFY(agent.stop_cleanly());
  }

  void ten_thousand_exporter_connections() {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_max < 10100) QSKIP("the hard open-files limit is below 10,100");
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    Agent agent;
    agent.start();
    QVERIFY(agent.ready());
    QVERIFY(agent.marker_arrives("before_connections"));
    const pid_t prom = module_pid(agent.process.pid(), "prom");
    std::vector<int> fds;
    for (int i = 0; i < 10000; ++i) {
      const int fd = tcp_connect(agent.http);
      if (fd < 0) break;
      fds.push_back(fd);
      // Half of them start a request and never finish it.
      if (i % 2) send_all(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n");
    }
    QCOMPARE(fds.size(), std::size_t{10000});
    // A well-behaved scrape is still answered, with the data.
    QVERIFY(poll_until(
        [&] { return agent.scrape().find("name=\"before_connections\"") != std::string::npos; },
        15s));
    for (const int fd : fds) ::close(fd);
    const auto peak = peak_rss_bytes(prom);
    qInfo("exporter peak RSS with 10,000 connections: %.1f MiB", double(peak) / (1 << 20));
    QVERIFY(peak < (kAsan ? 512ull : 64ull) << 20);
    QCOMPARE(module_pid(agent.process.pid(), "prom"), prom);
    QVERIFY(agent.marker_arrives("after_connections"));
    QVERIFY(agent.stop_cleanly());
  }

  void broken_configs_exit_2_and_start_nothing_data() {
    QTest::addColumn<QByteArray>("config");
    QTest::addColumn<QByteArray>("message");
    QTest::newRow("empty") << QByteArray("") << QByteArray("");
    QTest::newRow("binary") << QByteArray(
                                   "\x7f"
                                   "ELF\x02\x01\x01\0\0\0",
                                   10)
                            << QByteArray("");
    QTest::newRow("not a map") << QByteArray("- a\n- b\n") << QByteArray("");
    QTest::newRow("deep nesting") << QByteArray(100000, '[') << QByteArray("");
    QTest::newRow("alias bomb") << QByteArray(
                                       "a: &a [x, x, x, x, x, x, x, x, x]\n"
                                       "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                                       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                                       "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                                       "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                                       "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                                       "modules: *f\n")
                                << QByteArray("");
    QTest::newRow("huge scalar") << ("modules:\n  x" + QByteArray(4 << 20, 'x') +
                                     ":\n    type: debug_output\n")
                                 << QByteArray("");
    QTest::newRow("unknown type") << QByteArray("modules:\n  m:\n    type: nope\n")
                                  << QByteArray("modules.m");
    QTest::newRow("bad port")
        << QByteArray("modules:\n  s:\n    type: statsd_server\n    local_host: 127.0.0.1:99999\n")
        << QByteArray("modules.s.local_host");
    QTest::newRow("unset variable")
        << QByteArray("instance: ${BUCKY3_NO_SUCH_VARIABLE}\nmodules: {}\n")
        << QByteArray("BUCKY3_NO_SUCH_VARIABLE");
    QTest::newRow("duplicate key")
        << QByteArray("modules:\n  a:\n    type: debug_output\n  a:\n    type: debug_output\n")
        << QByteArray("");
    QTest::newRow("control character")
        << QByteArray("modules:\n  a:\n    type: debug\x01output\n") << QByteArray("");
  }
  void broken_configs_exit_2_and_start_nothing() {
    QFETCH(QByteArray, config);
    QFETCH(QByteArray, message);
    TempDir dir;
    const auto path = dir.write("broken.yaml", config.toStdString());
    for (const bool check : {true, false}) {
      std::vector<std::string> argv{bucky3_binary()};
      if (check) argv.push_back("--check");
      argv.push_back(path);
      std::string output;
      QCOMPARE(run_command(argv, &output, 60s), 2);
      QVERIFY2(
          output.find(path) != std::string::npos || output.find("broken.yaml") != std::string::npos,
          output.c_str());
      if (!message.isEmpty())
        QVERIFY2(output.find(message.toStdString()) != std::string::npos, output.c_str());
      QVERIFY2(output.size() < 4096, "the message is one line, not the input");
    }
  }
};

QTEST_GUILESS_MAIN(TestHostileInput)
#include "test_hostile_input.moc"
