// tests/test_e2e_push.cpp — influxdb_client and carbon_client end to end against the
// real servers, started here on free ports: InfluxDB 1.6.7 (UDP and HTTP, read back
// through its query API), carbon-cache (read back with whisper-fetch), VictoriaMetrics
// (both protocols, /api/v1/export), and a stand-in of the InfluxDB 2.x write API.
// https with a CA of our own (and a wrong one refused, and a certificate for another
// name). Faults: backend absent at
// start, killed and restarted, kill -9 of the module during an outage, HTTP
// 500/429/413 answers, a TCP peer that accepts and never reads; memory stays bounded.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>
#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/agent.h"
#include "tests/support/compression.h"
#include "tests/support/health.h"

using namespace bucky3::test;
using namespace std::chrono_literals;

namespace {

std::string curl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"/usr/bin/curl", "-s", "--max-time", "5"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out;
  run_command(argv, &out, 10s);
  return out;
}

bool http_answers(int port, const std::string& path) {
  const auto code = curl(
      {"-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:" + std::to_string(port) + path});
  return !code.empty() && !code.starts_with("000");
}

// InfluxDB 1.6.7 with an HTTP API and a UDP listener writing to database `udp`;
// HTTPS instead of HTTP when `tls` has a certificate and its key.
struct Influxd {
  TempDir dir;
  Process process;
  int http = free_port(false), udp = free_port(true), rpc = free_port(false);
  struct Tls {
    std::string certificate, key, ca;  // PEM files; `ca` is what curl checks the server with
  } tls;
  std::string url(const std::string& path) const {
    return (tls.certificate.empty() ? "http://" : "https://") + std::string("127.0.0.1:") +
           std::to_string(http) + path;
  }
  void start() {
    const auto conf =
        "reporting-disabled = true\nbind-address = \"127.0.0.1:" + std::to_string(rpc) +
        "\"\n[meta]\n  dir = \"" + dir.path() + "/meta\"\n[data]\n  dir = \"" + dir.path() +
        "/data\"\n  wal-dir = \"" + dir.path() +
        "/wal\"\n  query-log-enabled = false\n[http]\n  bind-address = \"127.0.0.1:" +
        std::to_string(http) + "\"\n  log-enabled = false\n" +
        (tls.certificate.empty()
             ? std::string()
             : "  https-enabled = true\n  https-certificate = \"" + tls.certificate +
                   "\"\n  https-private-key = \"" + tls.key + "\"\n") +
        "[[udp]]\n  enabled = true\n" + "  bind-address = \"127.0.0.1:" + std::to_string(udp) +
        "\"\n  database = \"udp\"\n  batch-size = 5000\n  batch-timeout = \"10ms\"\n  read-buffer "
        "= 4194304\n";
    process.start({"/usr/bin/influxd", "-config", dir.write("influxdb.conf", conf)}, dir.path());
    QVERIFY(poll_until(
        [&] {
          const auto code = curl(with_tls({"-o", "/dev/null", "-w", "%{http_code}", url("/ping")}));
          return !code.empty() && !code.starts_with("000");
        },
        30s));
  }
  void kill() {
    process.signal(SIGKILL);
    process.wait(10s);
  }
  std::vector<std::string> with_tls(std::vector<std::string> args) const {
    if (!tls.ca.empty()) args.insert(args.begin(), {"--cacert", tls.ca});
    return args;
  }
  // The JSON answer of an InfluxQL query.
  std::string query(const std::string& db, const std::string& q) {
    return curl(with_tls(
        {"-G", url("/query"), "--data-urlencode", "db=" + db, "--data-urlencode", "q=" + q}));
  }
  // Values of `field` for measurement stats_gauges, by the `name` tag.
  std::map<std::string, double> gauges(const std::string& db) {
    std::map<std::string, double> out;
    const auto json = QJsonDocument::fromJson(QByteArray::fromStdString(
        query(db, "SELECT last(value) FROM stats_gauges GROUP BY \"name\"")));
    for (const auto& result : json["results"].toArray()) {
      for (const auto& series : result.toObject()["series"].toArray()) {
        const auto s = series.toObject();
        out[s["tags"].toObject()["name"].toString().toStdString()] =
            s["values"].toArray()[0].toArray()[1].toDouble();
      }
    }
    return out;
  }
};

// carbon-cache 1.1.7 with a 1 s retention.
struct CarbonCache {
  TempDir dir;
  Process process;
  int line = free_port(false), pickle = free_port(false), query = free_port(false);
  void start() {
    for (const char* sub : {"storage", "log", "pid", "whitelists"})
      ::mkdir((dir.path() + "/" + sub).c_str(), 0700);
    dir.write("storage-schemas.conf", "[default]\npattern = .*\nretentions = 1s:1h\n");
    const auto p = dir.path();
    const auto conf =
        "[cache]\nSTORAGE_DIR = " + p + "/storage/\nLOCAL_DATA_DIR = " + p +
        "/storage/whisper/\nWHITELISTS_DIR = " + p + "/whitelists/\nCONF_DIR = " + p +
        "/\nLOG_DIR = " + p + "/log/\nPID_DIR = " + p +
        "/pid/\nUSER =\nMAX_CACHE_SIZE = inf\nMAX_UPDATES_PER_SECOND = inf\n"
        "MAX_CREATES_PER_MINUTE = inf\nLINE_RECEIVER_INTERFACE = 127.0.0.1\nLINE_RECEIVER_PORT = " +
        std::to_string(line) +
        "\nENABLE_UDP_LISTENER = False\nPICKLE_RECEIVER_INTERFACE = 127.0.0.1\n"
        "PICKLE_RECEIVER_PORT = " +
        std::to_string(pickle) +
        "\nCACHE_QUERY_INTERFACE = 127.0.0.1\nCACHE_QUERY_PORT = " + std::to_string(query) +
        "\nLOG_UPDATES = False\nLOG_CREATES = False\nENABLE_TAGS = False\n";
    process.start(
        {"/usr/bin/carbon-cache", "--config=" + dir.write("carbon.conf", conf), "--debug", "start"},
        dir.path());
    QVERIFY(poll_until(
        [&] {
          return process.out().find("starting on " + std::to_string(line)) != std::string::npos ||
                 process.err().find("starting on " + std::to_string(line)) != std::string::npos;
        },
        30s));
  }
  void kill() {
    process.signal(SIGKILL);
    process.wait(10s);
    ::unlink((dir.path() + "/pid/carbon-cache-a.pid").c_str());
  }
  // The last non-None value of a path, via whisper-fetch --from.
  std::optional<double> last(const std::string& path) {
    std::string file = path;
    std::replace(file.begin(), file.end(), '.', '/');
    file = dir.path() + "/storage/whisper/" + file + ".wsp";
    if (::access(file.c_str(), R_OK) != 0) return std::nullopt;
    std::string out;
    run_command(
        {"/usr/bin/whisper-fetch", "--from=" + std::to_string(::time(nullptr) - 3000), file}, &out);
    std::optional<double> value;
    std::istringstream lines(out);
    std::string ts, v;
    while (lines >> ts >> v) {
      if (v != "None") value = std::stod(v);
    }
    return value;
  }
};

struct VictoriaMetrics {
  TempDir dir;
  Process process;
  int http = free_port(false), influx = free_port(true), graphite = free_port(false);
  void start() {
    process.start({"/usr/bin/victoria-metrics", "-storageDataPath=" + dir.path() + "/data",
                   "-httpListenAddr=127.0.0.1:" + std::to_string(http),
                   "-influxListenAddr=127.0.0.1:" + std::to_string(influx),
                   "-graphiteListenAddr=127.0.0.1:" + std::to_string(graphite),
                   "-search.latencyOffset=0s", "-loggerLevel=ERROR"},
                  dir.path());
    QVERIFY(poll_until([&] { return http_answers(http, "/health"); }, 30s));
  }
  // /api/v1/export lines for a series selector.
  std::string exported(const std::string& match) {
    curl({"http://127.0.0.1:" + std::to_string(http) + "/internal/force_flush"});
    return curl({"-G", "http://127.0.0.1:" + std::to_string(http) + "/api/v1/export",
                 "--data-urlencode", "match[]=" + match});
  }
};

// A bucky3 with a StatsD source and the given destination modules.
struct Agent : AgentProcess {
  void start(const std::string& destinations, const std::string& globals = "") {
    start_with(config_head(instance, "0.5", globals + "metadata: {host: e2e}\n") +
               statsd_module(udp) + destinations);
    QVERIFY(listening(10s));
  }
  void send(const std::string& lines) { send_udp(udp, lines); }
  pid_t module_pid(const std::string& name) {
    return bucky3::test::module_pid(process.pid(), name);
  }
};

std::string gauges(int from, int to, const std::string& prefix = "g") {
  std::string out;
  for (int i = from; i < to; ++i)
    out += prefix + std::to_string(i) + ":" + std::to_string(i) + "|g\n";
  return out;
}

// Sends gauges in datagrams of 50 lines.
void send_gauges(Agent& agent, int from, int to, const std::string& prefix = "g") {
  for (int i = from; i < to; i += 50) agent.send(gauges(i, std::min(to, i + 50), prefix));
}

bool all_gauges(const std::map<std::string, double>& got, int from, int to,
                const std::string& prefix = "g") {
  int missing = 0;
  for (int i = from; i < to; ++i) {
    const auto it = got.find(prefix + std::to_string(i));
    if (it == got.end() || it->second != i) ++missing;
  }
  return missing == 0;
}

std::string influx_module(const std::string& name, const std::string& protocol, int port,
                          const std::string& extra = "") {
  return "  " + name + ":\n    type: influxdb_client\n    protocol: " + protocol +
         "\n    remote_hosts: [127.0.0.1:" + std::to_string(port) + "]\n" + extra;
}

// A server certificate signed by the CA ca.pem/ca.key in `dir`, with subject CN
// `common_name` and the subjectAltName `alt_names` ("IP:127.0.0.1",
// "DNS:localhost"): <name>.pem and <name>.key. EC keys: quick to make.
bool sign_server_certificate(const TempDir& dir, const std::string& name,
                             const std::string& common_name, const std::string& alt_names) {
  const auto file = [&](const std::string& f) { return dir.path() + "/" + f; };
  if (run_command({"/usr/bin/openssl", "req", "-newkey", "ec", "-pkeyopt",
                   "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", file(name + ".key"), "-out",
                   file(name + ".csr"), "-subj", "/CN=" + common_name}) != 0)
    return false;
  const auto extensions = dir.write(name + ".ext", "subjectAltName=" + alt_names +
                                                       "\nbasicConstraints=CA:FALSE\n"
                                                       "extendedKeyUsage=serverAuth\n");
  return run_command({"/usr/bin/openssl", "x509", "-req", "-in", file(name + ".csr"), "-CA",
                      file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial", "-days", "1",
                      "-extfile", extensions, "-out", file(name + ".pem")}) == 0;
}

// A throwaway CA ("ca") and a server certificate for 127.0.0.1 it signed
// ("server"), plus a second CA ("other") that signed nothing: <name>.pem and
// <name>.key in `dir`.
bool make_certificates(const TempDir& dir) {
  const auto file = [&](const std::string& name) { return dir.path() + "/" + name; };
  for (const std::string ca : {"ca", "other"}) {
    if (run_command({"/usr/bin/openssl",
                     "req",
                     "-x509",
                     "-newkey",
                     "ec",
                     "-pkeyopt",
                     "ec_paramgen_curve:prime256v1",
                     "-nodes",
                     "-keyout",
                     file(ca + ".key"),
                     "-out",
                     file(ca + ".pem"),
                     "-days",
                     "1",
                     "-subj",
                     "/CN=bucky3 test " + ca,
                     "-addext",
                     "basicConstraints=critical,CA:TRUE",
                     "-addext",
                     "keyUsage=critical,keyCertSign,cRLSign"}) != 0)
      return false;
  }
  return sign_server_certificate(dir, "server", "127.0.0.1", "IP:127.0.0.1");
}

// tests/support/http_standin.py over HTTPS with <name>.pem of `certs`, answering
// every request 204; what it was sent and the server names (SNI) it was asked for.
struct HttpsStandin {
  TempDir dir;
  int port = free_port(false);
  Process process;
  bool start(const TempDir& certs, const std::string& name) {
    process.start({"/usr/bin/python3", source_dir() + "/tests/support/http_standin.py", "--port",
                   std::to_string(port), "--dir", dir.path(), "--tls",
                   certs.path() + "/" + name + ".pem", certs.path() + "/" + name + ".key"},
                  dir.path());
    return poll_until([&] { return send_tcp(port, ""); }, 10s);
  }
  std::string requests() const { return read_file(dir.path() + "/requests.jsonl"); }
  std::string bodies() const {  // every request body (gunzipped: the writes are), in order
    std::string out;
    for (int n = 0; ::access((dir.path() + "/" + std::to_string(n) + ".body").c_str(), F_OK) == 0;
         ++n) {
      const auto body = read_file(dir.path() + "/" + std::to_string(n) + ".body");
      out += body.starts_with("\x1f\x8b") ? gunzip(body) : body;
    }
    return out;
  }
  std::set<std::string> server_names() const {
    std::set<std::string> out;
    std::istringstream lines(read_file(dir.path() + "/sni.txt"));
    for (std::string line; std::getline(lines, line);) out.insert(line);
    return out;
  }
};

bool has_gauges(const std::string& lines, int from, int to) {
  for (int i = from; i < to; ++i) {
    if (lines.find("name=g" + std::to_string(i) + " value=" + std::to_string(i) + "\n") ==
        std::string::npos)
      return false;
  }
  return true;
}

// A TCP peer that accepts and never reads. Its receive buffer is set small on
// the listening socket (accepted sockets inherit it), so a sender's kernel
// buffers fill and its writes stall. read_from_now_on() turns it into a reader:
// every connection, the stalled ones (the sender may have closed them since:
// what its kernel still held arrives first) and any new one, is read to its
// end, the bytes of each kept apart.
class StalledPeer {
 public:
  StalledPeer(int port, int receive_buffer) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::setsockopt(listener_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    listening_ = ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                 ::listen(listener_, 16) == 0;
    thread_ = std::thread([this] { loop(); });
  }
  ~StalledPeer() { close(); }
  StalledPeer(const StalledPeer&) = delete;
  StalledPeer& operator=(const StalledPeer&) = delete;

  bool listening() const { return listening_; }
  // release: pairs with the acquire in loop(); nothing else is published by it.
  void read_from_now_on() { reading_.store(true, std::memory_order_release); }
  // Stops and closes the listener and every connection (the port is free again).
  void close() {
    // release: pairs with the acquire in loop(), which then returns.
    stop_.store(true, std::memory_order_release);
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mutex_);
    for (auto& c : connections_) {
      if (c.fd >= 0) ::close(c.fd);
      c.fd = -1;
    }
    if (listener_ >= 0) ::close(listener_);
    listener_ = -1;
  }
  std::size_t accepted() {
    std::lock_guard lock(mutex_);
    return connections_.size();
  }
  std::vector<std::string> received() {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& c : connections_) out.push_back(c.bytes);
    return out;
  }

 private:
  struct Connection {
    int fd = -1;  // -1 once read to its end
    std::string bytes;
  };
  void loop() {
    std::vector<char> buffer(1 << 16);
    // acquire: pairs with the release in close().
    while (!stop_.load(std::memory_order_acquire)) {
      // acquire: pairs with the release in read_from_now_on().
      const bool reading = reading_.load(std::memory_order_acquire);
      std::vector<pollfd> fds{{listener_, POLLIN, 0}};
      std::vector<std::size_t> which;
      {
        std::lock_guard lock(mutex_);
        for (std::size_t i = 0; reading && i < connections_.size(); ++i) {
          if (connections_[i].fd < 0) continue;
          fds.push_back({connections_[i].fd, POLLIN, 0});
          which.push_back(i);
        }
      }
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      std::lock_guard lock(mutex_);
      if (fds[0].revents & POLLIN) {
        const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) connections_.push_back({fd, {}});
      }
      for (std::size_t k = 1; k < fds.size(); ++k) {
        if (!fds[k].revents) continue;
        auto& c = connections_[which[k - 1]];
        const auto n = ::read(c.fd, buffer.data(), buffer.size());
        if (n > 0) {
          c.bytes.append(buffer.data(), static_cast<std::size_t>(n));
        } else {
          ::close(c.fd);
          c.fd = -1;
        }
      }
    }
  }

  int listener_ = -1;
  bool listening_ = false;
  std::atomic<bool> reading_{false}, stop_{false};
  std::mutex mutex_;
  std::vector<Connection> connections_;
  std::thread thread_;
};

// RssAnon of a process: its own memory, without the shared-memory rings it maps.
std::uint64_t rss_anon_kib(pid_t pid) {
  std::istringstream status(read_file("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("RssAnon:")) return std::stoull(line.substr(8));
  }
  return 0;
}
}  // namespace

class TestE2ePush : public QObject {
  Q_OBJECT
 private slots:
  // Every gauge arrives over UDP and over HTTP, values and escaped tags as sent.
  void influxdb_udp_and_http() {
    Influxd influxd;
    influxd.start();
    Agent agent;
    agent.start(influx_module("influx_udp", "udp", influxd.udp) +
                influx_module("influx_http", "http", influxd.http, "    database: e2e\n"));
    send_gauges(agent, 0, 500);
    agent.send("esc:1|g|#path:C:\\Users,eq:a=b,sp:a b,comma:x\\,y\n");
    QVERIFY2(poll_until([&] { return all_gauges(influxd.gauges("udp"), 0, 500); }, 30s),
             agent.process.err().c_str());
    QVERIFY(poll_until([&] { return all_gauges(influxd.gauges("e2e"), 0, 500); }, 30s));
    for (const char* db : {"udp", "e2e"}) {
      const auto tags = influxd.query(
          db,
          "SHOW TAG VALUES FROM stats_gauges WITH KEY IN (\"path\", \"eq\", \"sp\", \"comma\")");
      QVERIFY2(tags.find(R"(["path","C:\\Users"])") != std::string::npos, tags.c_str());
      QVERIFY2(tags.find(R"(["eq","a=b"])") != std::string::npos, tags.c_str());
      QVERIFY2(tags.find(R"(["sp","a b"])") != std::string::npos, tags.c_str());
      QVERIFY2(tags.find(R"(["comma","x,y"])") != std::string::npos, tags.c_str());
    }
    // Counters are floats ({count, rate}): one type per field.
    agent.send("hits:3|c\n");
    QVERIFY(poll_until(
        [&] {
          return influxd.query("e2e", "SELECT count FROM stats_counters").find("\"count\"") !=
                 std::string::npos;
        },
        20s));
    const auto types = influxd.query("e2e", "SHOW FIELD KEYS FROM stats_counters");
    QVERIFY2(types.find(R"(["count","float"])") != std::string::npos, types.c_str());
  }

  // influxd absent at the start: the ring holds everything; it arrives once
  // influxd starts (the database is created then). Then influxd is killed mid-stream,
  // the module is killed -9 during the outage, influxd restarts: nothing is lost.
  void influxdb_outages_lose_nothing() {
    Influxd influxd;
    Agent agent;
    agent.start(influx_module("influx_http", "http", influxd.http, "    database: e2e\n"));
    send_gauges(agent, 0, 300);
    QVERIFY(
        poll_until([&] { return agent.process.err().find("retrying") != std::string::npos; }, 20s));
    influxd.start();
    QVERIFY2(poll_until([&] { return all_gauges(influxd.gauges("e2e"), 0, 300); }, 40s),
             agent.process.err().c_str());

    influxd.kill();
    send_gauges(agent, 300, 600);
    QTest::qWait(1500);  // flushed into the ring, held there
    const pid_t module = agent.module_pid("influx_http");
    QVERIFY(module > 0);
    ::kill(module, SIGKILL);
    QVERIFY(poll_until(
        [&] {
          const auto p = agent.module_pid("influx_http");
          return p > 0 && p != module;
        },
        20s));
    send_gauges(agent, 600, 900);
    QTest::qWait(1500);
    const pid_t restarted = agent.module_pid("influx_http");
    // ASan's shadow memory and quarantine widen the bound, as in the never-reading peer test.
    QVERIFY2(rss_anon_kib(restarted) < (kAsan ? 96 : 32) * 1024,
             std::to_string(rss_anon_kib(restarted)).c_str());
    influxd.start();
    QVERIFY2(poll_until([&] { return all_gauges(influxd.gauges("e2e"), 0, 900); }, 60s),
             agent.process.err().c_str());
    QCOMPARE(agent.module_pid("influx_http"), restarted);  // never crashed or restarted by itself
  }

  // The 2.x write API: token, org, bucket, gzip; 500 and 429 retried, 413 split.
  void influxdb_v2_api_against_a_stand_in() {
    TempDir dir;
    const int port = free_port(false);
    const auto out = dir.path() + "/lines";
    Process standin;
    standin.start({"/usr/bin/python3", source_dir() + "/tests/support/influx2_standin.py",
                   std::to_string(port), "s3cret", "acme", "metrics", out, "--script",
                   "500,429,503,204", "--max-lines", "40"},
                  dir.path());
    QVERIFY(poll_until([&] { return http_answers(port, "/"); }, 20s));
    Agent agent;
    agent.start(influx_module("influx_v2", "http", port,
                              "    token: s3cret\n    org: acme\n    influx_bucket: metrics\n"),
                "chunk_size: 100\n");
    send_gauges(agent, 0, 300);
    QVERIFY2(poll_until(
                 [&] {
                   const auto lines = read_file(out);
                   for (int i = 0; i < 300; ++i) {
                     if (lines.find("name=g" + std::to_string(i) + " value=" + std::to_string(i) +
                                    "\n") == std::string::npos) {
                       return false;
                     }
                   }
                   return true;
                 },
                 40s),
             (agent.process.err() + read_file(out + ".log")).c_str());
    const auto log = read_file(out + ".log");
    QVERIFY2(log.starts_with("500 "), log.c_str());
    QVERIFY(log.find("\n429 ") != std::string::npos);
    QVERIFY(log.find("\n413 ") !=
            std::string::npos);  // 100-line bodies split down to 40 lines or fewer
    QVERIFY(log.find(" gzip\n") != std::string::npos);
    standin.signal(SIGTERM);
  }

  // 400: that request is dropped (counted, the answer's body logged), the next
  // batches are delivered. From the 2.x stand-in (scripted), then from a real
  // influxd: a field type conflict (`value` stored as an integer before, a StatsD
  // gauge is a float).
  void influxdb_400_drops_that_batch_only() {
    TempDir dir;
    const int port = free_port(false);
    const auto out = dir.path() + "/lines";
    Process standin;
    standin.start({"/usr/bin/python3", source_dir() + "/tests/support/influx2_standin.py",
                   std::to_string(port), "s3cret", "acme", "metrics", out, "--script", "400"},
                  dir.path());
    QVERIFY(poll_until([&] { return http_answers(port, "/"); }, 20s));
    Influxd influxd;
    influxd.start();
    std::string created;
    const auto write_integer = [&] {
      created =
          curl({"-XPOST", influxd.url("/query"), "--data-urlencode", "q=CREATE DATABASE e2e"});
      return curl({"-o", "/dev/null", "-w", "%{http_code}", "-XPOST",
                   influxd.url("/write?db=e2e&precision=ns"), "--data-binary",
                   "stats_gauges,host=e2e,name=conflict value=1i"}) == "204";
    };
    QVERIFY2(poll_until(write_integer, 10s), created.c_str());
    Agent agent;
    agent.start(influx_module("influx_v2", "http", port,
                              "    token: s3cret\n    org: acme\n    influx_bucket: metrics\n") +
                influx_module("influx_v1", "http", influxd.http, "    database: e2e\n"));
    agent.send(gauges(0, 10) + "conflict:2|g\n");
    const auto drops = [&](const char* module) {
      return health_counter(agent.instance, module, bucky3::shm::Counter::drops_other);
    };
    QVERIFY2(poll_until([&] { return drops("influx_v2") == 11 && drops("influx_v1") == 11; }, 20s),
             agent.process.err().c_str());
    const auto err = agent.process.err();
    QVERIFY2(err.find("HTTP 400: {\"code\":\"internal error\",\"message\":\"scripted\"}") !=
                 std::string::npos,
             err.c_str());
    QVERIFY2(err.find("field type conflict") != std::string::npos, err.c_str());
    // The type conflict stays (every later float `value` of stats_gauges would be
    // refused too): the next batch is counters, another measurement.
    std::string counters;
    for (int i = 0; i < 10; ++i) counters += "c" + std::to_string(i) + ":1|c\n";
    agent.send(counters);
    QVERIFY2(poll_until(
                 [&] {
                   const auto lines = read_file(out);
                   const auto stored = influxd.query(
                       "e2e", "SHOW TAG VALUES FROM stats_counters WITH KEY = \"name\"");
                   for (int i = 0; i < 10; ++i) {
                     const auto c = "c" + std::to_string(i);
                     if (lines.find("name=" + c + " count=") == std::string::npos ||
                         stored.find("[\"name\",\"" + c + "\"]") == std::string::npos)
                       return false;
                   }
                   return true;
                 },
                 20s),
             (agent.process.err() + read_file(out + ".log")).c_str());
    QVERIFY(read_file(out).find("name=g0 ") == std::string::npos);  // the 400 batch: not resent
    QCOMPARE(drops("influx_v2"), std::uint64_t(11));
    QCOMPARE(drops("influx_v1"), std::uint64_t(11));
    standin.signal(SIGTERM);
  }

  // A wrong token: 401, logged once, retried slowly; nothing leaves the ring.
  void influxdb_v2_wrong_token_is_logged_once() {
    TempDir dir;
    const int port = free_port(false);
    Process standin;
    standin.start({"/usr/bin/python3", source_dir() + "/tests/support/influx2_standin.py",
                   std::to_string(port), "right", "acme", "metrics", dir.path() + "/lines"},
                  dir.path());
    QVERIFY(poll_until([&] { return http_answers(port, "/"); }, 20s));
    Agent agent;
    agent.start(influx_module("influx_v2", "http", port,
                              "    token: wrong\n    org: acme\n    influx_bucket: metrics\n"));
    send_gauges(agent, 0, 10);
    QVERIFY(
        poll_until([&] { return agent.process.err().find("HTTP 401") != std::string::npos; }, 20s));
    QTest::qWait(12000);  // past one slow retry (10 s)
    const auto err = agent.process.err();
    std::size_t count = 0;
    for (auto at = err.find("HTTP 401"); at != std::string::npos; at = err.find("HTTP 401", at + 1))
      ++count;
    QCOMPARE(count, std::size_t{1});
    QVERIFY(read_file(dir.path() + "/lines").empty());
    QVERIFY(read_file(dir.path() + "/lines.log").find("401 ") != std::string::npos);
    standin.signal(SIGTERM);
  }

  // carbon-cache: absent at start, then started, then killed and restarted; every
  // value read back with whisper-fetch.
  void carbon_cache_with_outages() {
    CarbonCache carbon;
    Agent agent;
    agent.start("  carbon:\n    type: carbon_client\n    remote_hosts: [127.0.0.1:" +
                std::to_string(carbon.line) + "]\n");
    send_gauges(agent, 0, 50);
    QVERIFY(
        poll_until([&] { return agent.process.err().find("retrying") != std::string::npos; }, 20s));
    carbon.start();
    const auto arrived = [&](int from, int to) {
      for (int i = from; i < to; ++i) {
        if (carbon.last("stats_gauges.e2e.g" + std::to_string(i) + ".value") !=
            std::optional<double>(i))
          return false;
      }
      return true;
    };
    QVERIFY2(poll_until([&] { return arrived(0, 50); }, 60s), agent.process.err().c_str());
    const pid_t module = agent.module_pid("carbon");
    carbon.kill();
    send_gauges(agent, 50, 100);
    QTest::qWait(1500);
    carbon.start();
    QVERIFY2(poll_until([&] { return arrived(50, 100); }, 60s), agent.process.err().c_str());
    // Sent after the restart: arrives too; the module never crashed or restarted.
    send_gauges(agent, 100, 150);
    QVERIFY2(poll_until([&] { return arrived(100, 150); }, 60s), agent.process.err().c_str());
    QCOMPARE(agent.module_pid("carbon"), module);
    const auto health = health_snapshot(agent.instance, "carbon");
    QVERIFY(health && health->restarts == 0);
    QVERIFY(health->counters[std::size_t(bucky3::shm::Counter::retries)] > 0);
    // ASan's shadow memory and quarantine add tens of MiB (40 MiB seen): its own bound.
    QVERIFY2(rss_anon_kib(module) < (kAsan ? 96 : 32) * 1024,
             std::to_string(rss_anon_kib(module)).c_str());
  }

  // VictoriaMetrics takes both protocols: a second, independent real receiver.
  // Every gauge through each of the three paths, told apart by their labels:
  // VictoriaMetrics labels HTTP writes with the `db` of the URL, UDP gets none.
  void victoria_metrics_both_protocols() {
    VictoriaMetrics vm;
    vm.start();
    Agent agent;
    agent.start(
        influx_module("influx_udp", "udp", vm.influx) +
        influx_module("influx_http", "http", vm.http, "    database: viahttp\n") +
        "  carbon:\n    type: carbon_client\n    tags: true\n    name_mapping: [bucket, name]\n"
        "    remote_hosts: [127.0.0.1:" +
        std::to_string(vm.graphite) + "]\n");
    send_gauges(agent, 0, 100);
    agent.send("t:7|g|#env:prod\n");
    // name -> last value of the series /api/v1/export gives for `match`, keyed by
    // the `name` label (InfluxDB lines) or the metric name (Graphite paths).
    const auto values = [&](const std::string& match, bool by_label) {
      std::map<std::string, double> out;
      for (const auto& line : QByteArray::fromStdString(vm.exported(match)).split('\n')) {
        const auto o = QJsonDocument::fromJson(line).object();
        const auto metric = o["metric"].toObject();
        const auto name = by_label ? metric["name"].toString() : metric["__name__"].toString();
        const auto v = o["values"].toArray();
        if (!name.isEmpty() && !v.isEmpty()) out[name.toStdString()] = v.last().toDouble();
      }
      return out;
    };
    const auto graphite_names = [&] {
      std::map<std::string, double> out;
      for (const auto& [path, v] : values(R"({__name__=~"stats_gauges[.]g[0-9]+[.]value"})", false))
        out[path.substr(13, path.size() - 13 - 6)] = v;  // stats_gauges.<name>.value
      return out;
    };
    // InfluxDB lines: <measurement>_<field>{tags}.
    QVERIFY2(
        poll_until(
            [&] {
              return all_gauges(values(R"({__name__="stats_gauges_value",db=""})", true), 0, 100) &&
                     all_gauges(values(R"({__name__="stats_gauges_value",db="viahttp"})", true), 0,
                                100) &&
                     all_gauges(graphite_names(), 0, 100);
            },
            30s),
        agent.process.err().c_str());
    for (const char* db : {"", "viahttp"}) {
      const auto series =
          vm.exported(std::string(R"({__name__="stats_gauges_value",name="t",db=")") + db + "\"}");
      QVERIFY2(series.find("\"env\":\"prod\"") != std::string::npos &&
                   series.find("\"values\":[7") != std::string::npos,
               series.c_str());
    }
    // Graphite with 1.1 tags: path stats_gauges.t, tags host and env.
    QVERIFY(poll_until(
        [&] {
          return vm.exported(R"({__name__="stats_gauges.t.value"})").find("\"values\":[7") !=
                 std::string::npos;
        },
        30s));
    const auto graphite_series = vm.exported(R"({__name__="stats_gauges.t.value"})");
    QVERIFY2(graphite_series.find("\"env\":\"prod\"") != std::string::npos &&
                 graphite_series.find("\"host\":\"e2e\"") != std::string::npos,
             graphite_series.c_str());
  }

  // protocol: https against influxd's own TLS listener. The module whose
  // tls_ca_file holds the CA that signed influxd's certificate delivers (values
  // read back through the query API); the one given another CA refuses the
  // certificate and sends nothing, not even its CREATE DATABASE.
  void influxdb_https_checks_the_certificate() {
    Influxd influxd;
    QVERIFY(make_certificates(influxd.dir));
    influxd.tls = {influxd.dir.path() + "/server.pem", influxd.dir.path() + "/server.key",
                   influxd.dir.path() + "/ca.pem"};
    influxd.start();
    Agent agent;
    agent.start(influx_module("influx_tls", "https", influxd.http,
                              "    database: tls\n    tls_ca_file: " + influxd.tls.ca + "\n") +
                influx_module("influx_other_ca", "https", influxd.http,
                              "    database: other\n    tls_ca_file: " + influxd.dir.path() +
                                  "/other.pem\n"));
    send_gauges(agent, 0, 200);
    QVERIFY2(poll_until([&] { return all_gauges(influxd.gauges("tls"), 0, 200); }, 30s),
             agent.process.err().c_str());
    QVERIFY2(poll_until(
                 [&] {
                   const auto err = agent.process.err();
                   const auto at = err.find("influx_other_ca[");
                   return at != std::string::npos &&
                          err.find("certificate verify failed", at) != std::string::npos;
                 },
                 20s),
             agent.process.err().c_str());
    const auto databases = influxd.query("", "SHOW DATABASES");
    QVERIFY2(databases.find("\"tls\"") != std::string::npos &&
                 databases.find("\"other\"") == std::string::npos,
             databases.c_str());
    const auto refused = health_snapshot(agent.instance, "influx_other_ca");
    QVERIFY(refused && refused->counters[std::size_t(bucky3::shm::Counter::metrics_out)] == 0);
    QVERIFY(refused->counters[std::size_t(bucky3::shm::Counter::retries)] > 0);
    std::istringstream log(agent.process.err());
    for (std::string line; std::getline(log, line);)
      QVERIFY2(!line.starts_with("influx_tls[") || line.find("certificate") == std::string::npos,
               line.c_str());
  }

  // A certificate our CA signed, but for another name (elsewhere.example) than the
  // one dialled (127.0.0.1, localhost): refused, nothing sent, counted and logged.
  // Certificates for the dialled names (an IP SAN, a DNS SAN) are taken. SNI
  // carries the name, never an address.
  void influxdb_https_checks_the_host_name() {
    TempDir certs;
    QVERIFY(make_certificates(certs));
    QVERIFY(
        sign_server_certificate(certs, "elsewhere", "elsewhere.example", "DNS:elsewhere.example"));
    QVERIFY(sign_server_certificate(certs, "localhost", "localhost", "DNS:localhost"));
    HttpsStandin wrong, by_address, by_name;
    QVERIFY(wrong.start(certs, "elsewhere"));
    QVERIFY(by_address.start(certs, "server"));
    QVERIFY(by_name.start(certs, "localhost"));
    const auto module = [&](const std::string& name, const std::string& host, int port) {
      return "  " + name + ":\n    type: influxdb_client\n    protocol: https\n" +
             "    remote_hosts: [\"" + host + ":" + std::to_string(port) + "\"]\n" +
             "    database: tls\n    tls_ca_file: " + certs.path() + "/ca.pem\n";
    };
    Agent agent;
    agent.start(module("wrong_address", "127.0.0.1", wrong.port) +
                module("wrong_name", "localhost", wrong.port) +
                module("by_address", "127.0.0.1", by_address.port) +
                module("by_name", "localhost", by_name.port));
    send_gauges(agent, 0, 100);
    QVERIFY2(poll_until(
                 [&] {
                   return has_gauges(by_address.bodies(), 0, 100) &&
                          has_gauges(by_name.bodies(), 0, 100);
                 },
                 30s),
             agent.process.err().c_str());
    for (const std::string refused : {"wrong_address", "wrong_name"}) {
      QVERIFY2(poll_until(
                   [&] {
                     const auto err = agent.process.err();
                     const auto at = err.find(refused + "[");
                     return !wrong.requests().empty() ||  // fail at once: it was taken
                            (at != std::string::npos &&
                             err.find("certificate verify failed", at) != std::string::npos);
                   },
                   20s),
               agent.process.err().c_str());
      QVERIFY2(wrong.requests().empty(), wrong.requests().c_str());  // not even CREATE DATABASE
      // Counted, and the last errors of its health slot say why.
      std::optional<bucky3::shm::HealthSnapshot> health;
      QVERIFY(poll_until(
          [&] {
            health = health_snapshot(agent.instance, refused);
            return health &&
                   std::any_of(health->errors.begin(), health->errors.end(), [](const auto& e) {
                     return e.text.find("certificate verify failed") != std::string::npos;
                   });
          },
          10s));
      QCOMPARE(health->counters[std::size_t(bucky3::shm::Counter::metrics_out)], std::uint64_t{0});
      QVERIFY(health->counters[std::size_t(bucky3::shm::Counter::retries)] > 0);
      QVERIFY(health->counters[std::size_t(bucky3::shm::Counter::errors)] > 0);
    }
    QVERIFY2(wrong.requests().empty(), wrong.requests().c_str());
    QCOMPARE(by_name.server_names(), std::set<std::string>{"localhost"});
    QCOMPARE(by_address.server_names(), std::set<std::string>{"-"});
    QCOMPARE(wrong.server_names(), (std::set<std::string>{"-", "localhost"}));
    std::istringstream log(agent.process.err());
    for (std::string line; std::getline(log, line);)
      QVERIFY2(!line.starts_with("by_") || line.find("certificate") == std::string::npos,
               line.c_str());
  }

  // carbon_client and influxdb_client (http) to peers that accept and never
  // read. The modules neither crash nor restart, their own memory stays flat,
  // the 10 s write/request timeout fires and is counted; then the carbon peer
  // starts reading and influxd takes the HTTP peer's port: every metric arrives.
  void a_peer_that_accepts_and_never_reads() {
    constexpr int count = 30000;  // ~7 MB of carbon lines: more than a stalled connection holds
    Influxd influxd;
    const int carbon_port = free_port(false);
    StalledPeer carbon_peer(carbon_port, 4096), http_peer(influxd.http, 4096);
    QVERIFY(carbon_peer.listening() && http_peer.listening());
    Agent agent;
    agent.start(
        "  carbon:\n    type: carbon_client\n    ring_size: 32MiB\n"
        "    remote_hosts: [127.0.0.1:" +
        std::to_string(carbon_port) + "]\n" +
        influx_module("influx_http", "http", influxd.http,
                      "    database: stalled\n    ring_size: 32MiB\n"));
    // 180-byte names, so the lines outgrow the socket buffers quickly.
    const std::string padding(180, 'x');
    const auto name = [&](int i) { return "g" + std::to_string(i) + "_" + padding; };
    for (int i = 0; i < count; i += 40) {
      std::string lines;
      for (int j = i; j < std::min(count, i + 40); ++j)
        lines += name(j) + ":" + std::to_string(j) + "|g\n";
      agent.send(lines);
      if (i % 4000 == 0) QTest::qWait(20);  // paced: the test measures the push side, not UDP
    }
    const pid_t carbon_pid = agent.module_pid("carbon"),
                influx_pid = agent.module_pid("influx_http");
    QVERIFY(carbon_pid > 0 && influx_pid > 0);
    std::vector<std::uint64_t> carbon_rss, influx_rss;
    // Both timeouts fire (10 s each) and are counted as retries and errors.
    QVERIFY2(poll_until(
                 [&] {
                   carbon_rss.push_back(rss_anon_kib(carbon_pid));
                   influx_rss.push_back(rss_anon_kib(influx_pid));
                   QTest::qWait(200);
                   return health_counter(agent.instance, "carbon", bucky3::shm::Counter::retries) >
                              0 &&
                          health_counter(agent.instance, "influx_http",
                                         bucky3::shm::Counter::retries) > 0;
                 },
                 40s),
             agent.process.err().c_str());
    const auto carbon_health = health_snapshot(agent.instance, "carbon");
    QVERIFY(carbon_health && !carbon_health->errors.empty());
    QVERIFY2(carbon_health->errors.back().text.find("write timed out after 10000 ms") !=
                 std::string::npos,
             carbon_health->errors.back().text.c_str());
    const auto influx_health = health_snapshot(agent.instance, "influx_http");
    QVERIFY(influx_health && !influx_health->errors.empty());
    // Whichever request times out first: a write ("... timed out after ...") or,
    // on a slower run (ASan), the setup request ("... closed due to a timeout").
    const auto& influx_error = influx_health->errors.back().text;
    QVERIFY2(influx_error.find("timed out") != std::string::npos ||
                 influx_error.find("due to a timeout") != std::string::npos,
             influx_error.c_str());
    QCOMPARE(influx_health->counters[std::size_t(bucky3::shm::Counter::metrics_out)],
             std::uint64_t(0));
    // The retry goes on a new connection (after the backoff).
    QVERIFY(poll_until([&] { return carbon_peer.accepted() >= 2; }, 10s));

    carbon_peer.read_from_now_on();
    http_peer.close();
    influxd.start();
    const auto carbon_values = [&] {
      std::map<std::string, double> got;
      for (const auto& bytes : carbon_peer.received()) {
        std::istringstream lines(bytes);
        std::string path, value, time;
        while (lines >> path >> value >> time) {
          if (path.starts_with("stats_gauges.e2e.") && path.ends_with(".value"))
            got[path.substr(17, path.size() - 17 - 6)] = std::atof(value.c_str());
        }
      }
      return got;
    };
    const auto all_of = [&](const std::map<std::string, double>& got) {
      for (int i = 0; i < count; ++i) {
        const auto it = got.find(name(i));
        if (it == got.end() || it->second != i) return false;
      }
      return true;
    };
    QVERIFY2(poll_until([&] { return all_of(carbon_values()); }, 30s),
             (std::to_string(carbon_values().size()) + " of " + std::to_string(count) +
              " gauges arrived at the carbon peer\n" + agent.process.err())
                 .c_str());
    QVERIFY2(poll_until(
                 [&] {
                   return influxd
                              .query("stalled",
                                     "SELECT count(last) FROM (SELECT last(value) FROM "
                                     "stats_gauges GROUP BY \"name\")")
                              .find("," + std::to_string(count) + "]") != std::string::npos;
                 },
                 40s),
             agent.process.err().c_str());
    QVERIFY(all_of(influxd.gauges("stalled")));
    // Neither module crashed or was restarted; their own memory stayed bounded.
    QCOMPARE(agent.module_pid("carbon"), carbon_pid);
    QCOMPARE(agent.module_pid("influx_http"), influx_pid);
    for (const auto& module : {"carbon", "influx_http"})
      QCOMPARE(health_snapshot(agent.instance, module)->restarts, 0u);
    const auto peak = [](const std::vector<std::uint64_t>& v) {
      return *std::max_element(v.begin(), v.end());
    };
    const auto rss = "RssAnon KiB peak carbon " + std::to_string(peak(carbon_rss)) +
                     ", influx_http " + std::to_string(peak(influx_rss)) + " over " +
                     std::to_string(carbon_rss.size()) + " samples";
    qInfo("%s", rss.c_str());
    // ASan's shadow memory and quarantine: its own bound (59 MiB peak seen).
    const std::uint64_t bound_kib = (kAsan ? 96 : 32) * 1024;
    QVERIFY2(peak(carbon_rss) < bound_kib && peak(influx_rss) < bound_kib, rss.c_str());
  }
};

QTEST_GUILESS_MAIN(TestE2ePush)
#include "test_e2e_push.moc"
