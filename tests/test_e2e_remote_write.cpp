// tests/test_e2e_remote_write.cpp — remote_write_client in a live agent against real
// receivers started here: VictoriaMetrics (read back with /api/v1/export) and Prometheus
// with --web.enable-remote-write-receiver (read back through its query API, staleness
// marker included), and a scripted HTTP stand-in (tests/support/http_standin.py) for the
// protocol headers and every fault: 500 then 204, 429 + Retry-After, 400, a receiver
// that never answers, a receiver absent at start, killed mid-stream, and kill -9 of the
// module during an outage.
#include <signal.h>
#include <snappy.h>
#include <unistd.h>

#include <QtTest>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "remote_write.pb.h"
#include "tests/support/agent.h"
#include "tests/support/health.h"

using namespace bucky3::test;
using namespace std::chrono_literals;

namespace {

std::string encode_query(const std::string& text) {
  return QUrl::toPercentEncoding(QString::fromStdString(text)).toStdString();
}

// An agent with statsd_server (and optionally linux_stats) feeding remote_write modules.
struct Agent : AgentProcess {
  std::vector<std::string> env;  // extra environment of the agent

  // `modules`: the YAML of the destination modules, indented under `modules:`.
  void start(const std::string& modules, bool linux_stats = false,
             const std::string& globals = "") {
    std::string yaml =
        config_head(instance, "0.5", "metadata: {host: e2e}\n" + globals) + statsd_module(udp);
    if (linux_stats) yaml += "  linux:\n    type: linux_stats\n";
    yaml += modules;
    start_with(yaml, env);
    // Lines sent before the socket is bound would be lost.
    QVERIFY2(listening(20s), process.err().c_str());
  }
  void send(const std::string& lines) { send_udp(udp, lines); }
  bool module_running(const std::string& name) { return module_pid(process.pid(), name) > 0; }
};

std::string rw_module(const std::string& name, const std::string& url,
                      const std::string& extra = "") {
  return "  " + name + ":\n    type: remote_write_client\n    remote_urls: [\"" + url + "\"]\n" +
         extra;
}

// VictoriaMetrics 1.79 on a free port; its data survives a restart on the same dir.
struct Victoria {
  TempDir dir;
  int port = free_port(false);
  Process process;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/api/v1/write"; }
  bool start() {
    process.start({"/usr/bin/victoria-metrics", "-storageDataPath=" + dir.path() + "/data",
                   "-httpListenAddr=127.0.0.1:" + std::to_string(port), "-search.latencyOffset=0s",
                   "-loggerLevel=ERROR"},
                  dir.path());
    return poll_until([&] { return http_get(base() + "/health") == "OK"; }, 30s);
  }
  void kill9() {
    process.signal(SIGKILL);
    process.wait(10s);
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port); }
  // JSON lines of /api/v1/export for a series selector.
  std::vector<QJsonObject> export_series(const std::string& selector) {
    http_get(base() + "/internal/force_flush");
    const auto body = http_get(base() + "/api/v1/export?match[]=" + encode_query(selector));
    std::vector<QJsonObject> out;
    for (const auto& line : QByteArray::fromStdString(body).split('\n')) {
      if (!line.trimmed().isEmpty()) out.push_back(QJsonDocument::fromJson(line).object());
    }
    return out;
  }
  // Values of the `name` tags of every series matching `selector`.
  std::set<std::string> names(const std::string& selector) {
    std::set<std::string> out;
    for (const auto& s : export_series(selector))
      out.insert(s["metric"].toObject()["name"].toString().toStdString());
    return out;
  }
};

// Prometheus 2.42 as a remote write receiver.
struct PrometheusReceiver {
  TempDir dir;
  int port = free_port(false);
  Process process;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/api/v1/write"; }
  bool start() {
    const auto config = dir.write("prometheus.yml", "global:\n  scrape_interval: 15s\n");
    process.start({"/usr/bin/prometheus", "--config.file=" + config,
                   "--storage.tsdb.path=" + dir.path() + "/tsdb",
                   "--web.listen-address=127.0.0.1:" + std::to_string(port),
                   "--web.enable-remote-write-receiver", "--log.level=warn"},
                  dir.path());
    return poll_until(
        [&] { return http_get(base() + "/-/ready").find("Ready") != std::string::npos; }, 60s);
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port); }
  // Every value an instant query returns, now.
  std::vector<double> query(const std::string& promql) {
    const auto body = http_get(base() + "/api/v1/query?query=" + encode_query(promql));
    std::vector<double> out;
    const auto result = QJsonDocument::fromJson(QByteArray::fromStdString(body))
                            .object()["data"]
                            .toObject()["result"]
                            .toArray();
    for (const auto& r : result)
      out.push_back(r.toObject()["value"].toArray()[1].toString().toDouble());
    return out;
  }
};

// One received request: its headers and its series, one line per sample
// (`name{k=v,...} value`), decoded with real snappy and the real protobuf runtime.
struct Received {
  double time = 0;
  std::string answer;
  QJsonObject headers;
  std::string body;
  std::vector<std::string> samples;
  std::size_t sample_count = 0;
};

struct Standin {
  TempDir dir;
  int port = free_port(false);
  Process process;

  bool tls = false;
  std::string url() const {
    return (tls ? "https" : "http") + std::string("://127.0.0.1:") + std::to_string(port) +
           "/api/v1/write";
  }
  bool start(const std::string& script, const std::string& default_answer = "204",
             const std::vector<std::string>& tls_files = {}) {
    std::vector<std::string> argv{"/usr/bin/python3",
                                  source_dir() + "/tests/support/http_standin.py",
                                  "--port",
                                  std::to_string(port),
                                  "--dir",
                                  dir.path(),
                                  "--script",
                                  script,
                                  "--default",
                                  default_answer};
    if (!tls_files.empty()) {
      tls = true;
      argv.insert(argv.end(), {"--tls", tls_files[0], tls_files[1]});
    }
    process.start(argv, dir.path());
    return poll_until([&] { return send_tcp(port, ""); }, 10s);
  }
  std::vector<Received> requests() {
    std::vector<Received> out;
    const auto log = read_file(dir.path() + "/requests.jsonl");
    for (const auto& line : QByteArray::fromStdString(log).split('\n')) {
      if (line.trimmed().isEmpty()) continue;
      const auto o = QJsonDocument::fromJson(line).object();
      Received r;
      r.time = o["time"].toDouble();
      r.answer = o["answer"].toString().toStdString();
      r.headers = o["headers"].toObject();
      r.body = read_file(dir.path() + "/" + std::to_string(o["n"].toInt()) + ".body");
      std::string raw;
      ::prometheus::WriteRequest request;
      if (snappy::Uncompress(r.body.data(), r.body.size(), &raw) && request.ParseFromString(raw)) {
        for (const auto& ts : request.timeseries()) {
          std::string name, labels;
          for (const auto& l : ts.labels()) {
            if (l.name() == "__name__") {
              name = l.value();
            } else {
              labels += (labels.empty() ? "" : ",") + l.name() + "=" + l.value();
            }
          }
          for (const auto& s : ts.samples()) {
            r.samples.push_back(name + "{" + labels + "} " +
                                QByteArray::number(s.value()).toStdString());
            ++r.sample_count;
          }
        }
      } else {
        r.samples.push_back("<undecodable body>");
      }
      out.push_back(std::move(r));
    }
    return out;
  }
  bool any_sample_contains(const std::string& needle) {
    for (const auto& r : requests()) {
      for (const auto& s : r.samples) {
        if (s.find(needle) != std::string::npos) return true;
      }
    }
    return false;
  }
};

std::string header(const QJsonObject& headers, const QString& name) {
  for (auto it = headers.begin(); it != headers.end(); ++it) {
    if (it.key().compare(name, Qt::CaseInsensitive) == 0)
      return it.value().toString().toStdString();
  }
  return {};
}

// `prefix_<i>:1|c` for i in [from, to): distinct series, one line each.
std::string counters(const std::string& prefix, int from, int to) {
  std::string out;
  for (int i = from; i < to; ++i) out += prefix + "_" + std::to_string(i) + ":1|c\n";
  return out;
}

std::set<std::string> expected_names(const std::string& prefix, int from, int to) {
  std::set<std::string> out;
  for (int i = from; i < to; ++i) out.insert(prefix + "_" + std::to_string(i));
  return out;
}

// The self-report of module `module` in the requests a stand-in received: its
// values by name (the `value` label of bucky3{name=<module>}), the last report's;
// `duplicates` gets the names seen twice within one request.
std::map<std::string, double> self_report_of(const std::vector<Received>& requests,
                                             const std::string& module,
                                             std::set<std::string>* duplicates = nullptr) {
  std::map<std::string, double> out;
  for (const auto& r : requests) {
    std::string raw;
    ::prometheus::WriteRequest request;
    if (!snappy::Uncompress(r.body.data(), r.body.size(), &raw) || !request.ParseFromString(raw))
      continue;
    std::set<std::string> in_request;
    for (const auto& ts : request.timeseries()) {
      std::string name, of, value;
      for (const auto& l : ts.labels()) {
        if (l.name() == "__name__") name = l.value();
        if (l.name() == "name") of = l.value();
        if (l.name() == "value") value = l.value();
      }
      if (name != "bucky3" || of != module || ts.samples().empty()) continue;
      if (!in_request.insert(value).second && duplicates) duplicates->insert(value);
      out[value] = ts.samples(ts.samples_size() - 1).value();
    }
  }
  return out;
}

std::string describe(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += n + " ";
  return out;
}

}  // namespace

class TestE2eRemoteWrite : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    for (const char* binary :
         {"/usr/bin/victoria-metrics", "/usr/bin/prometheus", "/usr/bin/python3"}) {
      if (::access(binary, X_OK) != 0)
        QFAIL((std::string(binary) + " is missing (scripts/install-deps.sh)").c_str());
    }
  }

  // StatsD and linux_stats metrics through a live agent into VictoriaMetrics, named as
  // prometheus_exporter names them.
  void victoria_metrics_receives_statsd_and_linux() {
    Victoria vm;
    QVERIFY(vm.start());
    Agent agent;
    agent.start(rw_module("rw", vm.url()), true);
    std::vector<QJsonObject> gauge, timer, memory;
    const bool found = poll_until(
        [&] {
          agent.send("e2e_gauge:42.5|g\ne2e_lat:10|ms|#route:/a\ne2e_lat:20|ms|#route:/a\n");
          gauge = vm.export_series("stats_gauges{name=\"e2e_gauge\",host=\"e2e\"}");
          timer = vm.export_series(
              "stats_timers{name=\"e2e_lat\",route=\"/"
              "a\",percentile=\"100\",value=\"upper\",host=\"e2e\"}");
          memory = vm.export_series("system_memory{host=\"e2e\"}");
          std::this_thread::sleep_for(200ms);
          return !gauge.empty() && !timer.empty() && !memory.empty();
        },
        60s);
    QVERIFY2(found, agent.process.err().c_str());
    QCOMPARE(gauge[0]["values"].toArray()[0].toDouble(), 42.5);
    QCOMPARE(timer[0]["values"].toArray()[0].toDouble(), 20.0);
    // Named values carry value="<field>"; every point of a series in time order.
    QVERIFY(memory[0]["metric"].toObject().contains("value"));
    const auto timestamps = gauge[0]["timestamps"].toArray();
    for (qsizetype i = 1; i < timestamps.size(); ++i) {
      QVERIFY(timestamps[i].toDouble() > timestamps[i - 1].toDouble());
    }
  }

  // Prometheus as the receiver: values read back through its query API, and the
  // staleness marker ending a series that stopped (without it, an instant query would
  // keep returning the last value for 5 minutes).
  void prometheus_receives_and_series_end_with_staleness_markers() {
    PrometheusReceiver prometheus;
    QVERIFY(prometheus.start());
    Agent agent;
    agent.start(rw_module("rw", prometheus.url(), "    values_timeout: 2\n"), true);
    agent.send("e2e_once:7|g\n");
    std::vector<double> once, live, memory;
    const bool found = poll_until(
        [&] {
          agent.send("e2e_live:3|g\n");
          once = prometheus.query("stats_gauges{name=\"e2e_once\",host=\"e2e\"}");
          live = prometheus.query("stats_gauges{name=\"e2e_live\",host=\"e2e\"}");
          memory = prometheus.query("system_memory{host=\"e2e\"}");
          std::this_thread::sleep_for(100ms);
          return !once.empty() && !live.empty() && !memory.empty();
        },
        60s);
    QVERIFY2(found, agent.process.err().c_str());
    QCOMPARE(once[0], 7.0);
    QCOMPARE(live[0], 3.0);
    // e2e_once is not refreshed: after values_timeout its marker ends it; e2e_live goes on.
    const bool ended = poll_until(
        [&] {
          agent.send("e2e_live:3|g\n");
          std::this_thread::sleep_for(100ms);
          return prometheus.query("stats_gauges{name=\"e2e_once\"}").empty();
        },
        30s);
    QVERIFY2(ended, "no staleness marker ended e2e_once");
    agent.send("e2e_live:3|g\n");
    QVERIFY(poll_until([&] { return !prometheus.query("stats_gauges{name=\"e2e_live\"}").empty(); },
                       10s));
  }

  // The health block holds what the module self_reports: every value it adds to
  // the report (beyond the runtime's cpu/rss/uptime and the counters, which have
  // their own fields) is in its health slot with the same number, and no name is
  // reported twice. The runtime writes the slot from the very values of the report.
  void health_values_equal_the_self_report() {
    Standin standin;
    QVERIFY(standin.start(""));
    Agent agent;
    agent.start(rw_module("rw", standin.url(), "    self_report: true\n    flush_interval: 3\n"));
    agent.send(counters("sr", 0, 10));  // delivered before the first report, 3 s in
    std::map<std::string, double> reported;
    std::set<std::string> duplicates;
    std::optional<bucky3::shm::HealthSnapshot> health;
    const bool agree = poll_until(
        [&] {
          duplicates.clear();
          reported = self_report_of(standin.requests(), "rw", &duplicates);
          health = health_snapshot(agent.instance, "rw");
          if (reported.empty() || !health || health->values.empty()) return false;
          for (const auto& v : health->values) {
            const auto it = reported.find(v.name);
            if (it == reported.end() || it->second != double(v.value)) return false;
          }
          return true;
        },
        20s);
    std::string seen;
    for (const auto& [name, value] : reported) seen += name + "=" + std::to_string(value) + " ";
    if (health)
      for (const auto& v : health->values) seen += "| " + v.name + "=" + std::to_string(v.value);
    QVERIFY2(agree, (seen + "\n" + agent.process.err()).c_str());
    QVERIFY2(duplicates.empty(), describe(duplicates).c_str());
    QVERIFY(!health->torn);
    QCOMPARE(std::size_t(health->values_offered), health->values.size());
    // The other way round: every module value reported is in the slot.
    std::set<std::string> runtime_own{"cpu_seconds", "max_rss_bytes", "uptime_seconds"};
    for (std::size_t c = 0; c < bucky3::shm::counter_count; ++c)
      runtime_own.insert(std::string(bucky3::shm::to_string(static_cast<bucky3::shm::Counter>(c))));
    std::set<std::string> module_reported, in_health;
    for (const auto& [name, value] : reported)
      if (!runtime_own.count(name)) module_reported.insert(name);
    for (const auto& v : health->values) in_health.insert(v.name);
    QCOMPARE(in_health, module_reported);
    for (const char* name :
         {"url0_samples_sent", "url0_requests_sent", "url0_retries", "url0_last_status",
          "samples_encoded", "uncompressed_bytes", "compressed_bytes"})
      QVERIFY2(in_health.count(name), name);
    QVERIFY2(reported.count("retries"), "the counter retries is reported once, by the runtime");
  }

  // kill -9 of the module while a series is live, and nothing sends it again: the
  // restarted process loads the live series the killed one saved
  // (/dev/shm/bucky3.<instance>.rw.series) and ends this one with a staleness marker
  // after values_timeout. Without the file it would stay in an instant query for
  // Prometheus' 5-minute lookback. A clean stop removes the file.
  void staleness_marker_after_a_kill9_of_the_module() {
    PrometheusReceiver prometheus;
    QVERIFY(prometheus.start());
    Agent agent;
    agent.start(rw_module("rw", prometheus.url(), "    values_timeout: 6\n"));
    const std::string series_file = "/dev/shm/bucky3." + agent.instance + ".rw.series";
    const std::string query = "stats_gauges{name=\"e2e_k9_live\",host=\"e2e\"}";
    // One point: once Prometheus has it, it left the ring (delivered, committed), so
    // the restarted process will not read it again; once the file names the series,
    // the killed process saved it. Killed well within values_timeout of that point,
    // it had sent no marker.
    agent.send("e2e_k9_live:11|g\n");
    QVERIFY2(poll_until(
                 [&] {
                   return !prometheus.query(query).empty() &&
                          read_file(series_file).find("e2e_k9_live") != std::string::npos;
                 },
                 30s),
             agent.process.err().c_str());
    const pid_t before = module_pid(agent.process.pid(), "rw");
    QVERIFY(before > 0);
    ::kill(before, SIGKILL);
    // bucky3-ring list names the file as the instance's, not as an instance "<i>.rw".
    std::string listed;
    QCOMPARE(run_command({build_dir() + "/bin/bucky3-ring", "list", "--instance", agent.instance},
                         &listed),
             0);
    QVERIFY2(listed.find("rw.series") != std::string::npos &&
                 listed.find("live series of a remote_write_client") != std::string::npos,
             listed.c_str());
    QVERIFY(poll_until(
        [&] {
          const auto now = module_pid(agent.process.pid(), "rw");
          return now > 0 && now != before;
        },
        20s));
    QVERIFY2(agent.logged({"restored "}, 10s), agent.process.err().c_str());
    QVERIFY2(
        poll_until([&] { return prometheus.query(query).empty(); }, 20s),
        ("no staleness marker ended the series after the restart\n" + agent.process.err()).c_str());
    QVERIFY(agent.stop_cleanly(20s));
    QVERIFY2(::access(series_file.c_str(), F_OK) != 0, "the supervisor left the series file");
  }

  // The protocol's headers, the user's headers and credentials, and the request size cap.
  void headers_credentials_and_request_size() {
    Standin bearer, basic;
    QVERIFY(bearer.start(""));
    QVERIFY(basic.start(""));
    Agent agent;
    agent.start(rw_module("rw", bearer.url(),
                          "    max_samples_per_send: 5\n    bearer_token: tok-1\n"
                          "    headers: {X-Scope-OrgID: tenant-1}\n") +
                rw_module("rw_basic", basic.url(),
                          "    basic_auth: {username: bucky, password: s3cret}\n"));
    agent.send(counters("hdr", 0, 20));
    QVERIFY2(poll_until(
                 [&] {
                   std::size_t samples = 0;
                   for (const auto& r : bearer.requests()) samples += r.sample_count;
                   return samples >= 40 && !basic.requests().empty();
                 },
                 30s),
             agent.process.err().c_str());
    std::set<std::string> names;
    for (const auto& r : bearer.requests()) {
      QCOMPARE(header(r.headers, "Content-Encoding"), std::string("snappy"));
      QCOMPARE(header(r.headers, "Content-Type"), std::string("application/x-protobuf"));
      QCOMPARE(header(r.headers, "X-Prometheus-Remote-Write-Version"), std::string("0.1.0"));
      QVERIFY(header(r.headers, "User-Agent").starts_with("bucky3/"));
      QCOMPARE(header(r.headers, "Authorization"), std::string("Bearer tok-1"));
      QCOMPARE(header(r.headers, "X-Scope-OrgID"), std::string("tenant-1"));
      QVERIFY2(r.sample_count <= 5, std::to_string(r.sample_count).c_str());
      for (const auto& s : r.samples) names.insert(s);
    }
    for (int i = 0; i < 20; ++i) {
      const auto n = "hdr_" + std::to_string(i);
      QVERIFY2(names.count("stats_counters{host=e2e,name=" + n + ",value=count} 1"), n.c_str());
    }
    // base64("bucky:s3cret")
    QCOMPARE(header(basic.requests()[0].headers, "Authorization"),
             std::string("Basic YnVja3k6czNjcmV0"));
  }

  // https:// with OpenSSL's default verify paths (the system's CAs): a certificate
  // signed by a CA they hold (SSL_CERT_FILE adds ours) is taken, the same
  // certificate without it is refused and nothing is sent.
  void https_with_the_system_cas() {
    TempDir certs;
    const auto cert = certs.path() + "/cert.pem", key = certs.path() + "/key.pem";
    QCOMPARE(run_command({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                          "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                          "-addext", "subjectAltName=IP:127.0.0.1"}),
             0);
    Standin trusted, untrusted;
    QVERIFY(trusted.start("", "204", {cert, key}));
    QVERIFY(untrusted.start("", "204", {cert, key}));
    Agent agent;
    agent.env = {"SSL_CERT_FILE=" + cert};
    agent.start(rw_module("rw", trusted.url()));
    agent.send(counters("tls", 0, 3));
    QVERIFY2(poll_until([&] { return trusted.any_sample_contains("name=tls_2,"); }, 30s),
             agent.process.err().c_str());
    Agent refusing;  // the system's CAs only
    refusing.start(rw_module("rw", untrusted.url()));
    refusing.send(counters("tls", 0, 3));
    QVERIFY2(poll_until(
                 [&] {
                   return refusing.process.err().find("certificate verify failed") !=
                          std::string::npos;
                 },
                 30s),
             refusing.process.err().c_str());
    QVERIFY(untrusted.requests().empty());
  }

  // 500 twice, then 204: the same request is sent again until it is taken.
  void answers_500_then_204() {
    Standin standin;
    QVERIFY(standin.start("500,500"));
    Agent agent;
    agent.start(rw_module("rw", standin.url()));
    agent.send(counters("retry", 0, 3));
    QVERIFY2(poll_until([&] { return standin.requests().size() >= 3; }, 30s),
             agent.process.err().c_str());
    const auto r = standin.requests();
    QCOMPARE(r[0].answer, std::string("500"));
    QVERIFY(r[1].body == r[0].body);
    QVERIFY(r[2].body == r[0].body);
    QCOMPARE(r[2].answer, std::string("204"));
    QVERIFY(std::find(r[2].samples.begin(), r[2].samples.end(),
                      "stats_counters{host=e2e,name=retry_0,value=count} 1") != r[2].samples.end());
  }

  // 429 with Retry-After: 2: the retry waits at least that long (the backoff alone
  // would retry after 0.1 s).
  void answers_429_with_retry_after() {
    Standin standin;
    QVERIFY(standin.start("429:2"));
    Agent agent;
    agent.start(rw_module("rw", standin.url()));
    agent.send(counters("slow", 0, 3));
    QVERIFY2(poll_until([&] { return standin.requests().size() >= 2; }, 30s),
             agent.process.err().c_str());
    const auto r = standin.requests();
    QVERIFY(r[1].body == r[0].body);
    QVERIFY2(r[1].time - r[0].time >= 1.9, std::to_string(r[1].time - r[0].time).c_str());
  }

  // 400 on one request: dropped (never sent again), its answer logged, counted; the
  // next requests are delivered.
  void answers_400_once_then_delivers_the_next() {
    Standin standin;
    QVERIFY(standin.start("400"));
    Agent agent;
    agent.start(rw_module("rw", standin.url()));
    agent.send(counters("bad", 0, 3));
    QVERIFY(poll_until([&] { return standin.requests().size() >= 1; }, 30s));
    agent.send(counters("good", 0, 3));
    QVERIFY(poll_until([&] { return standin.any_sample_contains("name=good_2,"); }, 30s));
    for (const auto& r : standin.requests()) {
      if (r.answer == "400") continue;
      for (const auto& s : r.samples) QVERIFY2(s.find("name=bad_") == std::string::npos, s.c_str());
    }
    QVERIFY(poll_until(
        [&] { return agent.process.err().find("scripted answer 400") != std::string::npos; }, 10s));
  }

  // A receiver that accepts and never answers: after `timeout` the request goes again.
  void receiver_that_never_answers() {
    Standin standin;
    QVERIFY(standin.start("hang"));
    Agent agent;
    agent.start(rw_module("rw", standin.url(), "    timeout: 1\n"));
    agent.send(counters("hang", 0, 3));
    QVERIFY2(poll_until([&] { return standin.requests().size() >= 2; }, 30s),
             agent.process.err().c_str());
    const auto r = standin.requests();
    QVERIFY(r[1].body == r[0].body);
    QCOMPARE(r[1].answer, std::string("204"));
    QVERIFY(agent.process.err().find("timed out") != std::string::npos);
  }

  // Nothing listens when the agent starts; everything sent meanwhile arrives once it does.
  void receiver_absent_at_start() {
    Victoria vm;
    Agent agent;
    agent.start(rw_module("rw", vm.url()));
    for (int i = 0; i < 10; ++i) {
      agent.send(counters("absent", i, i + 1));
      std::this_thread::sleep_for(300ms);
    }
    QVERIFY(vm.start());
    const auto expected = expected_names("absent", 0, 10);
    std::set<std::string> got;
    QVERIFY2(
        poll_until([&] { return (got = vm.names("stats_counters{value=\"count\"}")) == expected; },
                   60s),
        (describe(got) + agent.process.err()).c_str());
  }

  // The receiver is killed mid-stream and restarted: what was sent before, during and
  // after the outage arrives.
  void receiver_killed_mid_stream_and_restarted() {
    Victoria vm;
    QVERIFY(vm.start());
    Agent agent;
    agent.start(rw_module("rw", vm.url()));
    agent.send(counters("mid", 0, 5));
    QVERIFY(
        poll_until([&] { return vm.names("stats_counters{value=\"count\"}").size() == 5; }, 30s));
    vm.kill9();
    for (int i = 5; i < 10; ++i) {
      agent.send(counters("mid", i, i + 1));
      std::this_thread::sleep_for(300ms);
    }
    QVERIFY(vm.start());
    agent.send(counters("mid", 10, 15));
    // What VictoriaMetrics had taken before its kill -9 may be lost with its unflushed
    // buffers (its loss, not ours: it had answered 204); what was sent while it was down
    // and after must all arrive.
    const auto expected = expected_names("mid", 5, 15);
    std::set<std::string> got;
    QVERIFY2(poll_until(
                 [&] {
                   got = vm.names("stats_counters{value=\"count\"}");
                   return std::includes(got.begin(), got.end(), expected.begin(), expected.end());
                 },
                 60s),
             (describe(got) + agent.process.err()).c_str());
  }

  // kill -9 of the module while the receiver is down: the batches wait in the ring,
  // the restarted module sends them.
  void kill9_of_the_module_during_an_outage_loses_nothing() {
    Victoria vm;
    Agent agent;
    agent.start(rw_module("rw", vm.url()));
    QVERIFY(poll_until([&] { return agent.module_running("rw"); }, 10s));
    for (int i = 0; i < 10; ++i) {
      agent.send(counters("k9", i, i + 1));
      std::this_thread::sleep_for(300ms);
    }
    const pid_t before = module_pid(agent.process.pid(), "rw");
    QVERIFY(before > 0);
    ::kill(before, SIGKILL);
    QVERIFY(poll_until(
        [&] {
          const auto now = module_pid(agent.process.pid(), "rw");
          return now > 0 && now != before;
        },
        20s));
    agent.send(counters("k9", 10, 15));
    std::this_thread::sleep_for(1s);
    QVERIFY(vm.start());
    const auto expected = expected_names("k9", 0, 15);
    std::set<std::string> got;
    QVERIFY2(
        poll_until([&] { return (got = vm.names("stats_counters{value=\"count\"}")) == expected; },
                   60s),
        (describe(got) + agent.process.err()).c_str());
  }
};

QTEST_GUILESS_MAIN(TestE2eRemoteWrite)
#include "test_e2e_remote_write.moc"
