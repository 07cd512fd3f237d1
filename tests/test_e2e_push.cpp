// tests/test_e2e_push.cpp — influxdb_client and carbon_client end to end against the
// real servers, started here on free ports: InfluxDB 1.6.7 (UDP and HTTP, read back
// through its query API), carbon-cache (read back with whisper-fetch), VictoriaMetrics
// (both protocols, /api/v1/export), and a stand-in of the InfluxDB 2.x write API.
// Faults: backend absent at start, killed and restarted, kill -9 of the module
// during an outage, HTTP 500/429/413 answers; memory stays bounded.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>
#include <algorithm>
#include <map>
#include <optional>
#include <sstream>

#include "tests/support/agent.h"

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

// InfluxDB 1.6.7 with an HTTP API and a UDP listener writing to database `udp`.
struct Influxd {
  TempDir dir;
  Process process;
  int http = free_port(false), udp = free_port(true), rpc = free_port(false);
  void start() {
    const auto conf =
        "reporting-disabled = true\nbind-address = \"127.0.0.1:" + std::to_string(rpc) +
        "\"\n[meta]\n  dir = \"" + dir.path() + "/meta\"\n[data]\n  dir = \"" + dir.path() +
        "/data\"\n  wal-dir = \"" + dir.path() +
        "/wal\"\n  query-log-enabled = false\n[http]\n  bind-address = \"127.0.0.1:" +
        std::to_string(http) + "\"\n  log-enabled = false\n[[udp]]\n  enabled = true\n" +
        "  bind-address = \"127.0.0.1:" + std::to_string(udp) +
        "\"\n  database = \"udp\"\n  batch-size = 5000\n  batch-timeout = \"10ms\"\n  read-buffer "
        "= 4194304\n";
    process.start({"/usr/bin/influxd", "-config", dir.write("influxdb.conf", conf)}, dir.path());
    QVERIFY(poll_until([&] { return http_answers(http, "/ping"); }, 30s));
  }
  void kill() {
    process.signal(SIGKILL);
    process.wait(10s);
  }
  // The JSON answer of an InfluxQL query.
  std::string query(const std::string& db, const std::string& q) {
    return curl({"-G", "http://127.0.0.1:" + std::to_string(http) + "/query", "--data-urlencode",
                 "db=" + db, "--data-urlencode", "q=" + q});
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
  std::uint64_t rss_kib(pid_t pid) {
    std::istringstream status(read_file("/proc/" + std::to_string(pid) + "/status"));
    std::string line;
    while (std::getline(status, line)) {
      if (line.starts_with("VmRSS:")) return std::stoull(line.substr(6));
    }
    return 0;
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
    QVERIFY2(agent.rss_kib(restarted) < 64 * 1024,
             std::to_string(agent.rss_kib(restarted)).c_str());
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
    carbon.kill();
    send_gauges(agent, 50, 100);
    QTest::qWait(1500);
    carbon.start();
    QVERIFY2(poll_until([&] { return arrived(50, 100); }, 60s), agent.process.err().c_str());
  }

  // VictoriaMetrics takes both protocols: a second, independent real receiver.
  void victoria_metrics_both_protocols() {
    VictoriaMetrics vm;
    vm.start();
    Agent agent;
    agent.start(
        influx_module("influx_udp", "udp", vm.influx) +
        influx_module("influx_http", "http", vm.http) +
        "  carbon:\n    type: carbon_client\n    tags: true\n    name_mapping: [bucket, name]\n"
        "    remote_hosts: [127.0.0.1:" +
        std::to_string(vm.graphite) + "]\n");
    send_gauges(agent, 0, 100);
    agent.send("t:7|g|#env:prod\n");
    // InfluxDB lines: <measurement>_<field>{tags}; UDP and HTTP write the same series.
    QVERIFY2(poll_until(
                 [&] {
                   const auto got = vm.exported(R"({__name__="stats_gauges_value",name="g99"})");
                   return got.find("\"values\":[99") != std::string::npos;
                 },
                 30s),
             agent.process.err().c_str());
    const auto influx_series = vm.exported(R"({__name__="stats_gauges_value",name="t"})");
    QVERIFY2(influx_series.find("\"env\":\"prod\"") != std::string::npos, influx_series.c_str());
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
    QVERIFY(vm.exported(R"({__name__="stats_gauges.g42.value"})").find("\"values\":[42") !=
            std::string::npos);
  }
};

QTEST_GUILESS_MAIN(TestE2ePush)
#include "test_e2e_push.moc"
