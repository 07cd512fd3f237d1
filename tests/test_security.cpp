// tests/test_security.cpp — the checkable claims of docs/RELIABILITY.md
// "Security": every listening socket defaults to loopback, and the agent runs
// without privileges (as nobody) with StatsD in and metrics out; what root
// buys (SO_RCVBUFFORCE past net.core.rmem_max) is only a larger buffer.
// Segment modes (0600, 0640 with shm_group) are checked in test_supervisor,
// read-only observer mappings in test_segment.
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <QtTest>

#include "daemon/config/config.h"
#include "tests/support/agent.h"

using namespace bucky3::test;
using namespace bucky3::config;
using namespace std::chrono_literals;

namespace {

bool loopback(const std::string& address) {
  return address.rfind("127.", 0) == 0 || address.rfind("[::1]:", 0) == 0 ||
         address.rfind("localhost:", 0) == 0;
}

}  // namespace

class TestSecurity : public QObject {
  Q_OBJECT
 private slots:
  void listening_defaults_are_loopback() {
    int checked = 0;
    for (const auto type : known_types()) {
      for (const auto& spec : module_schema(type)) {
        if (spec.kind != OptionKind::listen_address || spec.default_yaml.empty()) continue;
        QVERIFY2(loopback(std::string(spec.default_yaml)),
                 qPrintable(QString("%1.%2 defaults to %3")
                                .arg(QString::fromUtf8(type.data(), qsizetype(type.size())))
                                .arg(QString::fromUtf8(spec.key.data(), qsizetype(spec.key.size())))
                                .arg(QString::fromUtf8(spec.default_yaml.data(),
                                                       qsizetype(spec.default_yaml.size())))));
        ++checked;
      }
    }
    QVERIFY(checked >= 2);  // statsd_server and prometheus_exporter at least
    // The shipped default config listens on loopback only, too.
    const auto config = load_builtin_config();
    for (const auto& module : config.modules) {
      for (const auto& spec : module_schema(module.type)) {
        if (spec.kind != OptionKind::listen_address || !module.options.has(std::string(spec.key)))
          continue;
        const auto address = module.options.get_string(std::string(spec.key));
        QVERIFY2(address.empty() || loopback(address), (module.name + ": " + address).c_str());
      }
    }
  }

  void runs_unprivileged() {
    if (::geteuid() != 0) QSKIP("needs root to switch to nobody");
    const passwd* nobody = ::getpwnam("nobody");
    if (!nobody) QSKIP("no user nobody");
    TempDir dir;
    ::chmod(dir.path().c_str(), 0755);  // nobody reads the config
    const int udp = free_port(true);
    const auto config =
        dir.write("bucky3.yaml", config_head(unique_instance(), "0.5") + statsd_module(udp) +
                                     "  linux:\n    type: linux_stats\n" + debug_json_module());
    ::chmod(config.c_str(), 0644);
    Process agent;
    agent.start({"/usr/bin/setpriv", "--reuid=" + std::to_string(nobody->pw_uid),
                 "--regid=" + std::to_string(nobody->pw_gid), "--clear-groups", "--inh-caps=-all",
                 "--bounding-set=-all", bucky3_binary(), config},
                dir.path());
    QVERIFY2(
        poll_until([&] { return agent.err().find("listening on UDP") != std::string::npos; }, 15s),
        agent.err().c_str());
    send_udp(udp, "unprivileged:1|c\n");
    QVERIFY2(poll_until(
                 [&] { return agent.out().find("\"name\":\"unprivileged\"") != std::string::npos; },
                 10s),
             agent.err().c_str());
    QVERIFY(
        agent.out().find("\"bucket\":\"system_") != std::string::npos ||
        poll_until([&] { return agent.out().find("\"bucket\":\"system_") != std::string::npos; },
                   10s));
    // Every process of the agent runs as nobody.
    const auto uid_of = [](pid_t pid) {
      struct stat st {};
      return ::stat(("/proc/" + std::to_string(pid)).c_str(), &st) == 0 ? st.st_uid : uid_t(-1);
    };
    QCOMPARE(uid_of(agent.pid()), nobody->pw_uid);
    for (const pid_t child : children_of(agent.pid())) QCOMPARE(uid_of(child), nobody->pw_uid);
    agent.signal(SIGTERM);
    const auto status = agent.wait(15s);
    QVERIFY(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
    qInfo("as nobody: %s", agent.err().substr(agent.err().find("statsd"), 200).c_str());
  }
};

QTEST_GUILESS_MAIN(TestSecurity)
#include "test_security.moc"
