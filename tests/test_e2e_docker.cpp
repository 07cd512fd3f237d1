// tests/test_e2e_docker.cpp — a real bucky3 (docker_stats → debug_output JSON)
// against fake_dockerd serving the docker29-cgroup2-systemd fixture; then a
// hung engine and an engine that appears late, with the agent running on.
#include <signal.h>
#include <sys/wait.h>

#include <QtTest>
#include <thread>

#include "tests/support/agent.h"
#include "tests/support/json_lines.h"

using namespace bucky3::test;
using namespace std::chrono_literals;

namespace {

std::string fixture() {
  return source_dir() + "/tests/data/docker/docker29-cgroup2-systemd";
}

int count_of(const std::string& text, std::string_view what) {
  int count = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1))
    ++count;
  return count;
}

struct Engine {
  Process process;
  void start(const TempDir& dir, const std::string& socket, const std::string& fault = {}) {
    std::vector<std::string> argv{build_dir() + "/bin/fake_dockerd", "--socket", socket, "--data",
                                  fixture() + "/engine"};
    if (!fault.empty()) argv.insert(argv.end(), {"--fault", fault});
    process.start(argv, dir.path());
    QVERIFY(poll_until([&] { return process.err().find("listening") != std::string::npos; }, 10s));
  }
  ~Engine() {
    if (process.pid() > 0) {
      process.signal(SIGTERM);
      process.wait(10s);
    }
  }
};

// docker_stats on the fixture into debug_output JSON.
struct Agent : AgentProcess {
  std::string socket = dir.path() + "/docker.sock";

  void start(const std::string& request_timeout = "5") {
    start_with(config_head(instance, "0.5", "metadata: {host: e2e}\n") +
               "  docker:\n"
               "    type: docker_stats\n"
               "    docker_socket: " +
               socket + "\n    procfs_root: " + fixture() + "/proc\n    sysfs_root: " + fixture() +
               "/sys\n"
               "    env_mapping: {ENVIRONMENT: env}\n"
               "    filesystem_interval: 1\n"
               "    request_timeout: " +
               request_timeout + "\n" + debug_json_module());
  }
};

}  // namespace

class TestE2eDocker : public QObject {
  Q_OBJECT
 private slots:
  void metrics_reach_debug_output() {
    Agent agent;
    Engine engine;
    engine.start(agent.dir, agent.socket);
    agent.start();
    QVERIFY2(poll_until(
                 [&] { return agent.process.out().find("docker_filesystem") != std::string::npos; },
                 20s),
             agent.process.err().c_str());
    const auto got = json_lines_by_key(agent.process.out(), {"host"});
    // Keys are "<bucket> k=v ..." with the tags sorted (json_lines_by_key).
    const auto web = [](const QString& bucket, const QString& name = {}) {
      QMap<QString, QString> tags{{"com.docker.compose.project", "shop"},
                                  {"com.docker.compose.service", "web"},
                                  {"docker_id", "4b5e57f6eb2f"},
                                  {"docker_name", "web"},
                                  {"env", "prod"},
                                  {"image", "nginx:1.27"},
                                  {"label_9lives", "cat"},
                                  {"maintainer", "NGINX Docker Maintainers"},
                                  {"team_owner", "web team"}};
      if (!name.isEmpty()) tags["name"] = name;
      QString key = bucket;
      for (auto it = tags.begin(); it != tags.end(); ++it) key += " " + it.key() + "=" + it.value();
      return key;
    };
    const auto value = [&](const QString& key, const char* field) {
      const auto it = got.find(key);
      if (it == got.end()) {
        qWarning() << "missing" << key;
        return -1.0;
      }
      return it->second["values"].toObject()[field].toDouble(-1);
    };
    QCOMPARE(value(web("docker_cpu", "total"), "usage"), 1234567000.0);
    QCOMPARE(value(web("docker_cpu", "total"), "limit_ps"), 1500000000.0);
    QCOMPARE(value(web("docker_memory"), "used_bytes"), 41943040.0);
    QCOMPARE(value(web("docker_interface", "eth0"), "rx_bytes"), 987654.0);
    QCOMPARE(value(web("docker_filesystem"), "used_bytes"), 2048.0);
    QCOMPARE(value("docker_state name=containers", "total"), 4.0);
    QCOMPARE(value("docker_state name=containers", "exited"), 1.0);
    // Integers stay integers through the ring and the JSON.
    QVERIFY(agent.process.out().find("\"usage\":1234567000,") != std::string::npos);
    QCOMPARE(count_of(agent.process.err(), "not built into"), 0);
  }

  // A dockerd that never answers: each request times out, one warning, the
  // module never restarts, and heartbeats go on (the agent stops cleanly).
  void hung_engine() {
    Agent agent;
    Engine engine;
    engine.start(agent.dir, agent.socket, "hang");
    agent.start("0.3");
    QVERIFY(poll_until(
        [&] { return agent.process.err().find("timed out after 300 ms") != std::string::npos; },
        20s));
    // Several intervals more.
    std::this_thread::sleep_for(3s);
    const auto err = agent.process.err();
    QCOMPARE(count_of(err, "timed out after 300 ms"), 1);
    QCOMPARE(count_of(err, "restart"), 0);
    QVERIFY(agent.process.running());
    agent.process.signal(SIGTERM);
    const auto status = agent.process.wait(10s);
    QVERIFY(status.has_value());
    QVERIFY(WIFEXITED(*status));
    QCOMPARE(WEXITSTATUS(*status), 0);
  }

  // No socket at first: logged once; the engine starting later is picked up.
  void engine_appears_later() {
    Agent agent;
    agent.start();
    QVERIFY(poll_until(
        [&] { return agent.process.err().find("connect to " + agent.socket) != std::string::npos; },
        20s));
    Engine engine;
    engine.start(agent.dir, agent.socket);
    QVERIFY(poll_until([&] { return agent.process.out().find("docker_cpu") != std::string::npos; },
                       20s));
    const auto err = agent.process.err();
    QCOMPARE(count_of(err, "connect to " + agent.socket), 1);
    QVERIFY(err.find("works again") != std::string::npos);
  }
};

QTEST_GUILESS_MAIN(TestE2eDocker)
#include "test_e2e_docker.moc"
