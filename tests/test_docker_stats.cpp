// tests/test_docker_stats.cpp — the Docker collector against the fake Docker
// Engine (tests/support/fake_docker_engine.h) on fixture cgroup v1/v2 and /proc
// trees (tests/data/docker/*), compared with golden files; its parsers; and the
// engine's faults (missing socket, 500, truncated and garbage bodies, a hang).
#include <unistd.h>

#include <QtTest>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>

#include "collectors/docker/cgroup.h"
#include "collectors/docker/collector.h"
#include "collectors/docker/engine_json.h"
#include "collectors/docker/metrics.h"
#include "tests/support/fake_docker_engine.h"
#include "tests/support/fixture_tree.h"
#include "tests/support/stderr_capture.h"

using namespace bucky3;
using namespace bucky3::docker;
using bucky3::test::count_of;
using bucky3::test::EngineFault;
using bucky3::test::FakeDockerEngine;
using bucky3::test::lines_of;
using bucky3::test::read_text;
using bucky3::test::serialize;
using bucky3::test::StderrCapture;
namespace fs = std::filesystem;

namespace {

fs::path data_dir() {
  return test::fixture_data_dir("docker");
}

// Container ids of the docker29-cgroup2-systemd fixture.
constexpr std::string_view kWebId =
    "4b5e57f6eb2f42b9039b3d1e13929295f231749c510cbe341cd68036d9af97e2";
constexpr std::string_view kOldId =
    "cba06b5736faf67e54b07b561eae94395e774c517a7d910a54369e1263ccfbd4";

// A fake engine serving one fixture's engine/ folder, and a collector pointed
// at it and at the fixture's proc/ and sys/.
struct Setup {
  QTemporaryDir dir;
  fs::path fixture;
  std::unique_ptr<FakeDockerEngine> engine;
  DockerOptions options;
  boost::asio::io_context io;
  std::unique_ptr<DockerCollector> collector;
  std::vector<std::string> errors;

  explicit Setup(const std::string& name, bool start_engine = true) : fixture(data_dir() / name) {
    options.docker_socket = (fs::path(dir.path().toStdString()) / "docker.sock").string();
    options.procfs_root = (fixture / "proc").string();
    options.sysfs_root = (fixture / "sys").string();
    options.env_mapping = {{"ENVIRONMENT", "env"}, {"TEAM", "team"}, {"image", "image"}};
    options.request_timeout = std::chrono::milliseconds(300);
    if (start_engine) {
      engine = std::make_unique<FakeDockerEngine>(
          options.docker_socket, test::load_engine_data((fixture / "engine").string()));
    }
  }
  DockerCollector& the_collector() {
    if (!collector) {
      collector = std::make_unique<DockerCollector>(
          io.get_executor(), options, [this](std::string_view e) { errors.emplace_back(e); });
    }
    return *collector;
  }
  std::vector<Metric> collect(bool filesystems = false) {
    auto& c = the_collector();
    std::vector<Metric> out;
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
          co_await c.collect(out);
          if (filesystems) co_await c.collect_filesystems(out);
        },
        boost::asio::detached);
    io.restart();
    io.run();
    return out;
  }
};

}  // namespace

class TestDockerStats : public QObject {
  Q_OBJECT
 private slots:
  // Everything a fixture yields (one collection, then the size listing),
  // line by line against its golden file. BUCKY3_UPDATE_GOLDEN=1 rewrites them.
  void golden_data() {
    QTest::addColumn<QString>("fixture");
    QTest::newRow("docker 29, cgroup v2, systemd driver") << "docker29-cgroup2-systemd";
    QTest::newRow("docker 20.10, cgroup v1 split cpu/cpuacct, cgroupfs driver")
        << "docker20-cgroup1-cgroupfs";
    QTest::newRow("podman 4.9, cgroup v2, systemd and cgroupfs managers") << "podman4-cgroup2";
    QTest::newRow("docker 24, cgroup v1 joint cpu,cpuacct, systemd driver")
        << "docker24-cgroup1-systemd";
  }
  void golden() {
    QFETCH(QString, fixture);
    Setup setup(fixture.toStdString());
    const auto got = serialize(setup.collect(true));
    QCOMPARE(lines_of(got), lines_of(test::golden_text(setup.fixture / "expected.txt", got)));
  }

  // Sized and chunked bodies give the same metrics.
  void sized_bodies_equal_chunked() {
    Setup chunked("docker29-cgroup2-systemd");
    const auto a = serialize(chunked.collect());
    Setup sized("docker29-cgroup2-systemd");
    sized.engine->set_chunked(false);
    QCOMPARE(lines_of(serialize(sized.collect())), lines_of(a));
  }

  // The version is asked once, unversioned; then every path carries it.
  void negotiates_version_from_engine() {
    Setup setup("docker29-cgroup2-systemd");
    setup.collect();
    setup.collect();
    const auto paths = setup.engine->paths();
    QVERIFY(!paths.empty());
    QCOMPARE(QString::fromStdString(paths[0]), QString("/version"));
    int versioned = 0, unversioned = 0, old_inspects = 0, web_inspects = 0;
    for (std::size_t i = 1; i < paths.size(); ++i) {
      if (paths[i].starts_with("/v1.52/")) ++versioned;
      if (paths[i] == "/version") ++unversioned;
      if (paths[i].find(kOldId) != std::string::npos) ++old_inspects;
      if (paths[i].find(kWebId) != std::string::npos) ++web_inspects;
    }
    QCOMPARE(unversioned, 0);
    QCOMPARE(versioned, int(paths.size()) - 1);
    // Running containers are inspected every time; an exited one only until
    // its state changes.
    QCOMPARE(web_inspects, 2);
    QCOMPARE(old_inspects, 1);
  }

  void podman_speaks_its_own_version() {
    Setup setup("podman4-cgroup2");
    setup.collect();
    const auto paths = setup.engine->paths();
    QVERIFY(paths.size() > 2);
    QCOMPARE(QString::fromStdString(paths[1]), QString("/v1.41/containers/json?all=true"));
  }

  // api_version forces a version; an engine that refuses it (1.41 < MinAPIVersion
  // 1.44) yields no metrics and one logged error naming the engine's answer.
  void api_version_override_too_old() {
    Setup setup("docker29-cgroup2-systemd");
    setup.options.api_version = "1.41";
    StderrCapture capture;
    QVERIFY(setup.collect().empty());
    QVERIFY(setup.collect().empty());
    const auto log = capture.text();
    QCOMPARE(count_of(log, "is too old. Minimum supported API version is 1.44"), 1);
    QCOMPARE(QString::fromStdString(setup.engine->paths()[0]),
             QString("/v1.41/containers/json?all=true"));
    QCOMPARE(setup.errors.size(), std::size_t{1});
  }

  void negotiate_data() {
    QTest::addColumn<QString>("api");
    QTest::addColumn<QString>("minimum");
    QTest::addColumn<QString>("chosen");  // "error" when refused
    QTest::newRow("older engine") << "1.41"
                                  << "1.12"
                                  << "1.41";
    QTest::newRow("same") << "1.52"
                          << "1.44"
                          << "1.52";
    QTest::newRow("newer engine, still speaks ours") << "1.60"
                                                     << "1.44"
                                                     << "1.52";
    QTest::newRow("newer engine, no minimum given") << "1.60"
                                                    << ""
                                                    << "1.52";
    QTest::newRow("newer engine refusing ours") << "2.3"
                                                << "2.0"
                                                << "error";
    QTest::newRow("not a version") << "latest"
                                   << ""
                                   << "error";
  }
  void negotiate() {
    QFETCH(QString, api);
    QFETCH(QString, minimum);
    QFETCH(QString, chosen);
    EngineVersion engine{"x", api.toStdString(), minimum.toStdString()};
    const auto result = negotiate_api_version(engine);
    if (chosen == "error") {
      QVERIFY(std::holds_alternative<JsonError>(result));
    } else {
      QVERIFY(std::holds_alternative<std::string>(result));
      QCOMPARE(QString::fromStdString(std::get<std::string>(result)), chosen);
    }
  }

  void proc_cgroup() {
    const auto v2 = parse_proc_cgroup("0::/system.slice/docker-abc.scope\n");
    QCOMPARE(QString::fromStdString(v2.unified.value_or("")),
             QString("/system.slice/docker-abc.scope"));
    const auto v1 = parse_proc_cgroup(
        "12:pids:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n0::/\nbroken "
        "line\n");
    QVERIFY(v1.unified.has_value());  // hybrid hosts list the v2 root too
    QCOMPARE(v1.controllers.size(), std::size_t{3});
    QCOMPARE(QString::fromStdString(v1.controllers[1].first), QString("cpu"));
    QCOMPARE(QString::fromStdString(v1.controllers[2].first), QString("cpuacct"));
    QVERIFY(is_usable_cgroup_path("/docker/abc"));
    QVERIFY(!is_usable_cgroup_path("/"));
    QVERIFY(!is_usable_cgroup_path("/../../docker/abc"));
    QVERIFY(!is_usable_cgroup_path("docker/abc"));
    QVERIFY(is_usable_cgroup_path("/a..b/c"));
  }

  void flat_files() {
    QCOMPARE(parse_number("123\n"), std::optional<std::int64_t>(123));
    QCOMPARE(parse_number("max\n"), std::optional<std::int64_t>());
    QCOMPARE(keyed_value("usage_usec 5\nuser_usec 3\n", "user_usec"),
             std::optional<std::int64_t>(3));
    QCOMPARE(keyed_value("usage_usec 5\n", "usage"), std::optional<std::int64_t>());
    QCOMPARE(keyed_value("total_rss 7\nrss 9\n", "rss"), std::optional<std::int64_t>(9));
    QCOMPARE(parse_numbers("1 2 3 \n"), (std::vector<std::int64_t>{1, 2, 3}));
    const auto io = parse_io_stat(
        "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6\n8:16 rbytes=10 wios=x\n");
    QCOMPARE(io.read_bytes, 11);
    QCOMPARE(io.write_bytes, 2);
    QCOMPARE(io.read_ops, 3);
    QCOMPARE(io.write_ops, 4);
    IoTotals blkio;
    parse_blkio("8:0 Read 5\n8:0 Write 6\n8:0 Total 11\n8:16 Read 1\nTotal 12\n", true, blkio);
    QCOMPARE(blkio.read_bytes, 6);
    QCOMPARE(blkio.write_bytes, 6);
    QCOMPARE(controllers_of("cpu,cpuacct"), (std::vector<std::string>{"cpu", "cpuacct"}));
    QVERIFY(controllers_of("name=systemd").empty());
  }

  void label_keys_data() {
    QTest::addColumn<QString>("key");
    QTest::addColumn<QString>("tag");
    QTest::newRow("compose") << "com.docker.compose.project"
                             << "com.docker.compose.project";
    QTest::newRow("space") << "team owner"
                           << "team_owner";
    QTest::newRow("digit first") << "9lives"
                                 << "label_9lives";
    QTest::newRow("slash") << "org.opencontainers/image"
                           << "org.opencontainers_image";
    QTest::newRow("empty") << ""
                           << "label_";
  }
  void label_keys() {
    QFETCH(QString, key);
    QFETCH(QString, tag);
    QCOMPARE(QString::fromStdString(sanitize_label_key(key.toStdString())), tag);
  }

  void cpu_limits_data() {
    QTest::addColumn<qint64>("nano_cpus");
    QTest::addColumn<qint64>("quota");
    QTest::addColumn<qint64>("period");
    QTest::addColumn<qint64>("limit");
    QTest::newRow("NanoCpus wins")
        << qint64(1500000000) << qint64(50000) << qint64(100000) << qint64(1500000000);
    QTest::newRow("quota/period") << qint64(0) << qint64(50000) << qint64(100000)
                                  << qint64(500000000);
    QTest::newRow("quota, default period")
        << qint64(0) << qint64(150000) << qint64(0) << qint64(1500000000);
    QTest::newRow("no limit: every host cpu")
        << qint64(0) << qint64(0) << qint64(0) << qint64(4000000000);
  }
  void cpu_limits() {
    QFETCH(qint64, nano_cpus);
    QFETCH(qint64, quota);
    QFETCH(qint64, period);
    QFETCH(qint64, limit);
    ContainerInspect inspect;
    inspect.nano_cpus = nano_cpus;
    inspect.cpu_quota = quota;
    inspect.cpu_period = period;
    QCOMPARE(qint64(cpu_limit_ps(inspect, HostInfo{1 << 30, 4})), limit);
  }

  // Tags: docker_id, docker_name, image beat labels, labels beat env.
  void metadata_precedence() {
    MetadataOptions options;
    options.env_mapping = {{"ENVIRONMENT", "env"}, {"IMG", "image"}, {"LBL", "tier"}};
    const auto tags = container_metadata(
        "0123456789abcdef", "web", "nginx:1", {{"tier", "front"}, {"docker_id", "x"}},
        {"ENVIRONMENT=prod", "IMG=other", "LBL=back", "ENVIRONMENT2=no"}, options);
    QStringList got;
    for (const auto& tag : tags) got << QString::fromStdString(tag.key + "=" + tag.value);
    QCOMPARE(got, QStringList({"docker_id=0123456789ab", "docker_name=web", "env=prod",
                               "image=nginx:1", "tier=front"}));
  }

  void label_and_container_filters() {
    Setup setup("docker29-cgroup2-systemd");
    setup.options.label_include = {"com\\.docker\\.compose\\..*", "maintainer"};
    setup.options.label_exclude = {"maintainer"};
    setup.options.container_exclude = {"work.*"};
    const auto metrics = setup.collect();
    bool saw_web = false;
    for (const auto& metric : metrics) {
      const auto* name = metric.tag("docker_name");
      QVERIFY(!name || *name != "worker");
      if (name && *name == "web") {
        saw_web = true;
        QVERIFY(metric.tag("com.docker.compose.service"));
        QVERIFY(!metric.tag("maintainer"));
        QVERIFY(!metric.tag("label_9lives"));
      }
    }
    QVERIFY(saw_web);
    Setup only("docker29-cgroup2-systemd");
    only.options.container_include = {"old"};
    for (const auto& metric : only.collect()) {
      const auto* name = metric.tag("docker_name");
      QVERIFY(!name || *name == "old");
    }
  }

  // --- faults: each logged once, nothing emitted, the next try works --------
  void socket_missing() {
    Setup setup("docker29-cgroup2-systemd", false);
    StderrCapture capture;
    QVERIFY(setup.collect().empty());
    QVERIFY(setup.collect().empty());
    const auto log = capture.text();
    QCOMPARE(count_of(log, "warning"), 1);
    QVERIFY2(log.find("connect to " + setup.options.docker_socket) != std::string::npos,
             log.c_str());
    // The engine appears: the next collection works and says so.
    setup.engine = std::make_unique<FakeDockerEngine>(
        setup.options.docker_socket, test::load_engine_data((setup.fixture / "engine").string()));
    StderrCapture again;
    QVERIFY(!setup.collect().empty());
    QVERIFY(again.text().find("works again") != std::string::npos);
  }

  void faults_data() {
    QTest::addColumn<int>("fault");
    QTest::addColumn<QString>("where");
    QTest::addColumn<QString>("logged");
    QTest::addColumn<bool>("chunked");
    QTest::newRow("500 on the listing") << int(EngineFault::status_500) << "containers/json"
                                        << "HTTP 500" << true;
    QTest::newRow("500 on /version") << int(EngineFault::status_500) << "/version"
                                     << "HTTP 500" << true;
    QTest::newRow("truncated chunked listing") << int(EngineFault::truncated) << "containers/json"
                                               << "read:" << true;
    QTest::newRow("truncated sized listing") << int(EngineFault::truncated) << "containers/json"
                                             << "read:" << false;
    QTest::newRow("garbage listing") << int(EngineFault::garbage) << "containers/json"
                                     << "not JSON" << true;
    QTest::newRow("garbage inspect")
        << int(EngineFault::garbage) << QString(kWebId.data()) << "not JSON" << true;
    QTest::newRow("closed at once") << int(EngineFault::close_at_once) << ""
                                    << "read:" << true;
    QTest::newRow("hung engine") << int(EngineFault::hang) << "containers/json"
                                 << "timed out after 300 ms" << true;
    QTest::newRow("hung inspect") << int(EngineFault::hang) << QString(kWebId.data())
                                  << "timed out after 300 ms" << true;
  }
  void faults() {
    QFETCH(int, fault);
    QFETCH(QString, where);
    QFETCH(QString, logged);
    QFETCH(bool, chunked);
    Setup setup("docker29-cgroup2-systemd");
    setup.engine->set_chunked(chunked);
    setup.engine->set_fault(EngineFault(fault), where.toStdString());
    StderrCapture capture;
    const auto first = setup.collect();
    const auto second = setup.collect();
    auto log = capture.text();
    QVERIFY2(count_of(log, logged.toStdString()) == 1, log.c_str());
    QCOMPARE(setup.errors.size(), std::size_t{1});
    // Nothing about the containers left behind: a listing fault gives nothing
    // at all; an inspect fault leaves out the containers it hit.
    const bool inspect_fault = where == QString(kWebId.data());
    for (const auto* batch : {&first, &second}) {
      for (const auto& metric : *batch) {
        const auto* id = metric.tag("docker_id");
        QVERIFY(inspect_fault ? !id || *id != kWebId.substr(0, 12)
                              : metric.bucket == "docker_state" || !id);
      }
      if (!inspect_fault) QVERIFY(batch->empty());
    }
    setup.engine->set_fault(EngineFault::none);
    StderrCapture recovered;
    const auto good = serialize(setup.collect());
    QVERIFY(recovered.text().find("works again") != std::string::npos);
    // All of the golden file but docker_filesystem (no size listing here).
    QStringList expected = lines_of(read_text(setup.fixture / "expected.txt"));
    expected.removeIf([](const QString& line) { return line.startsWith("docker_filesystem"); });
    QCOMPARE(lines_of(good), expected);
  }
};

QTEST_GUILESS_MAIN(TestDockerStats)
#include "test_docker_stats.moc"
