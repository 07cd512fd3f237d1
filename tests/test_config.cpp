// tests/test_config.cpp — config loading: interpolation, inheritance, module
// options, every kind of error with its exact "file:line:col: path: message".
#include <unistd.h>

#include <QtTest>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "daemon/config/config.h"
#include "daemon/config/interpolate.h"
#include "tests/support/config_error.h"

using namespace bucky3::config;

namespace {

std::string source_dir() {
  const char* dir = std::getenv("BUCKY3_SOURCE_DIR");
  return dir ? dir : ".";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

Config load(const QByteArray& yaml) {
  return load_config_text(std::string_view(yaml.constData(), yaml.size()), "t.yaml");
}

std::string error_of(const QByteArray& yaml) {
  return bucky3::test::config_error_of(yaml);
}

QByteArray minimal(const QByteArray& module_body) {
  return "modules:\n  out:\n    type: debug_output\n  src:\n    type: statsd_server\n" +
         module_body;
}

}  // namespace

class TestConfig : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    setenv("B3T_SET", "value", 1);
    setenv("B3T_EMPTY", "", 1);
    setenv("B3T_INTERVAL", "2.5", 1);
    unsetenv("B3T_UNSET");
  }

  void interpolates_data() {
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<QByteArray>("expected");
    QTest::newRow("plain") << QByteArray("abc") << QByteArray("abc");
    QTest::newRow("variable") << QByteArray("${A}") << QByteArray("1");
    QTest::newRow("embedded") << QByteArray("x${A}y${B}z") << QByteArray("x1y22z");
    QTest::newRow("default unused") << QByteArray("${A:-9}") << QByteArray("1");
    QTest::newRow("default for unset") << QByteArray("${NOPE:-9}") << QByteArray("9");
    QTest::newRow("default for empty") << QByteArray("${EMPTY:-9}") << QByteArray("9");
    QTest::newRow("empty default") << QByteArray("a${NOPE:-}b") << QByteArray("ab");
    QTest::newRow("default with colon") << QByteArray("${NOPE:-h:1}") << QByteArray("h:1");
    QTest::newRow("set but empty") << QByteArray("<${EMPTY}>") << QByteArray("<>");
    QTest::newRow("dollar dollar") << QByteArray("$$HOME") << QByteArray("$HOME");
    QTest::newRow("dollar dollar brace") << QByteArray("$${A}") << QByteArray("${A}");
    QTest::newRow("lone dollar") << QByteArray("cost $5 $") << QByteArray("cost $5 $");
    QTest::newRow("value not reinterpolated") << QByteArray("${LOOP}") << QByteArray("${A}");
  }
  void interpolates() {
    QFETCH(QByteArray, text);
    QFETCH(QByteArray, expected);
    const std::map<std::string, std::string, std::less<>> env{
        {"A", "1"}, {"B", "22"}, {"EMPTY", ""}, {"LOOP", "${A}"}};
    const auto lookup = [&](std::string_view name) -> std::optional<std::string> {
      auto it = env.find(name);
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    QCOMPARE(QByteArray::fromStdString(interpolate(text.toStdString(), lookup)), expected);
  }

  void rejects_interpolation_data() {
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<QByteArray>("message");
    QTest::newRow("unset") << QByteArray("a${NOPE}")
                           << QByteArray(
                                  "environment variable NOPE is not set (use ${NOPE:-default} "
                                  "to give a default)");
    QTest::newRow("unterminated") << QByteArray("${A")
                                  << QByteArray(
                                         "unterminated \"${\" (write \"$$\" for a literal \"$\")");
    QTest::newRow("empty name") << QByteArray("${}")
                                << QByteArray("invalid variable name \"\" in \"${}\"");
    QTest::newRow("bad name") << QByteArray("${1A}")
                              << QByteArray("invalid variable name \"1A\" in \"${1A}\"");
    QTest::newRow("bad char") << QByteArray("${A-B}")
                              << QByteArray("invalid variable name \"A-B\" in \"${A-B}\"");
  }
  void rejects_interpolation() {
    QFETCH(QByteArray, text);
    QFETCH(QByteArray, message);
    const auto lookup = [](std::string_view name) -> std::optional<std::string> {
      if (name == "A") return "1";
      return std::nullopt;
    };
    try {
      interpolate(text.toStdString(), lookup);
      QFAIL("no error");
    } catch (const InterpolationError& e) {
      QCOMPARE(QByteArray(e.what()), message);
    }
  }

  void hostname_falls_back_to_gethostname() {
    const char* saved = std::getenv("HOSTNAME");
    const std::string saved_value = saved ? saved : "";
    unsetenv("HOSTNAME");
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    const auto value = process_env("HOSTNAME");
    if (saved) setenv("HOSTNAME", saved_value.c_str(), 1);
    QVERIFY(value.has_value());
    QCOMPARE(QByteArray::fromStdString(*value), QByteArray(host));
  }

  void interpolates_in_config() {
    const Config c = load(
        "flush_interval: ${B3T_INTERVAL}\n"
        "metadata: {env: \"${B3T_SET}\", price: \"$$5\", zone: \"${B3T_UNSET:-eu}\"}\n" +
        minimal("    local_host: \"${B3T_UNSET:-127.0.0.1}:${B3T_UNSET:-9999}\"\n"));
    const ModuleConfig* src = c.find("src");
    QVERIFY(src);
    QCOMPARE(src->flush_interval_s, 2.5);
    QCOMPARE(src->options.get_string("local_host"), std::string("127.0.0.1:9999"));
    const std::vector<bucky3::Tag> expected{{"env", "value"}, {"price", "$5"}, {"zone", "eu"}};
    QCOMPARE(src->metadata, expected);
  }

  void inherits_and_overrides() {
    const Config c = load(
        "instance: staging\n"
        "log_level: debug\n"
        "flush_interval: 5\n"
        "randomize_startup: false\n"
        "metadata: {host: h1, dc: a}\n"
        "buffer_limit: 500\n"
        "chunk_size: 50\n"
        "self_report: true\n"
        "add_timestamps: true\n"
        "ring_size: 1MiB\n"
        "filters: [{match: {bucket: x}, drop: true}]\n"
        "modules:\n"
        "  out:\n"
        "    type: debug_output\n"
        "    ring_size: 128KiB\n"
        "    log_level: error\n"
        "  plain:\n"
        "    type: debug_output\n"
        "  src:\n"
        "    type: statsd_server\n"
        "    flush_interval: 0.5\n"
        "    metadata: {dc: b, rack: r1}\n"
        "    chunk_size: 7\n"
        "    self_report: false\n"
        "    filters: []\n");
    QCOMPARE(c.instance, std::string("staging"));
    QCOMPARE(c.path, std::string("t.yaml"));
    QCOMPARE(c.modules.size(), std::size_t{3});
    QCOMPARE(c.modules[0].name, std::string("out"));  // file order
    QCOMPARE(c.modules[2].name, std::string("src"));

    const ModuleConfig& out = c.modules[0];
    QCOMPARE(out.role, ModuleRole::destination);
    QCOMPARE(out.ring_size_bytes, std::uint64_t{128 * 1024});
    QCOMPARE(out.log_level, bucky3::log::Level::error);
    QCOMPARE(out.flush_interval_s, 5.0);
    QVERIFY(out.destinations.empty());

    const ModuleConfig& plain = c.modules[1];
    QCOMPARE(plain.ring_size_bytes, std::uint64_t{1 << 20});
    QCOMPARE(plain.log_level, bucky3::log::Level::debug);
    QCOMPARE(plain.buffer_limit, std::size_t{500});
    QCOMPARE(plain.filters.size(), std::size_t{1});

    const ModuleConfig& src = c.modules[2];
    QCOMPARE(src.role, ModuleRole::source);
    QCOMPARE(src.flush_interval_s, 0.5);
    QCOMPARE(src.randomize_startup, false);
    QCOMPARE(src.chunk_size, std::size_t{7});
    QCOMPARE(src.buffer_limit, std::size_t{500});
    QCOMPARE(src.self_report, false);
    QCOMPARE(src.add_timestamps, true);
    QVERIFY(src.filters.empty());
    const std::vector<bucky3::Tag> metadata{{"dc", "b"}, {"host", "h1"}, {"rack", "r1"}};
    QCOMPARE(src.metadata, metadata);
    const std::vector<std::string> destinations{"out", "plain"};
    QCOMPARE(src.destinations, destinations);
  }

  void document_markers_and_directives() {
    const Config c =
        load("%YAML 1.2\n---\n# comment\nmodules:\n  out: {type: debug_output}\n...\n# end\n\n");
    QCOMPARE(c.modules.size(), std::size_t{1});
  }

  void aliases_are_followed() {
    const Config c = load(
        "modules:\n"
        "  a: {type: debug_output, metadata: &shared {team: core}}\n"
        "  b: {type: debug_output, metadata: *shared}\n");
    QCOMPARE(c.modules[1].metadata, (std::vector<bucky3::Tag>{{"team", "core"}}));
  }

  void defaults_without_globals() {
    const Config c = load(minimal(""));
    QCOMPARE(c.instance, std::string("default"));
    QVERIFY(!c.shm_group);
    const ModuleConfig& src = *c.find("src");
    QCOMPARE(src.log_level, bucky3::log::Level::info);
    QCOMPARE(src.flush_interval_s, 10.0);
    QCOMPARE(src.randomize_startup, true);
    QVERIFY(src.metadata.empty());
    QCOMPARE(src.buffer_limit, std::size_t{10000});
    QCOMPARE(src.chunk_size, std::size_t{300});
    QCOMPARE(src.self_report, false);
    QCOMPARE(src.add_timestamps, false);
    QVERIFY(src.filters.empty());
    QCOMPARE(c.find("out")->ring_size_bytes, std::uint64_t{8 << 20});
    QCOMPARE(c.find("out")->options.get_string("format"), std::string("text"));
  }

  void statsd_defaults() {
    const Config c = load(minimal(""));
    const ModuleOptions& o = c.find("src")->options;
    QCOMPARE(o.get_string("local_host"), std::string("127.0.0.1:8125"));
    QVERIFY(!o.has("tcp_host"));
    QVERIFY(!o.has("local_socket"));
    QCOMPARE(o.get_string("local_socket_mode"), std::string("0660"));
    QCOMPARE(o.get_int("local_socket_mode"), std::int64_t{0660});
    QCOMPARE(o.get_size("socket_buffer"), std::uint64_t{8 << 20});
    QCOMPARE(o.get_seconds("timestamp_window"), 600.0);
    QCOMPARE(o.get_size("max_datagram_size"), std::uint64_t{1 << 20});
    QCOMPARE(o.get_int("max_series"), std::int64_t{100000});
    QCOMPARE(o.get_int("timer_sample_limit"), std::int64_t{100000});
    QCOMPARE(o.get_double_list("percentile_thresholds"), (std::vector<double>{50, 90, 99, 100}));
    QVERIFY(o.has("histogram_bins"));
    QVERIFY(o.get_yaml("histogram_bins").items("a list").empty());
    QCOMPARE(o.get_string("timers_bucket"), std::string("stats_timers"));
    QCOMPARE(o.get_string("histograms_bucket"), std::string("stats_histograms"));
    QCOMPARE(o.get_string("sets_bucket"), std::string("stats_sets"));
    QCOMPARE(o.get_string("gauges_bucket"), std::string("stats_gauges"));
    QCOMPARE(o.get_string("counters_bucket"), std::string("stats_counters"));
    QCOMPARE(o.get_int("tcp_max_connections"), std::int64_t{1000});
    QCOMPARE(o.get_size("tcp_max_line_length"), std::uint64_t{64 * 1024});
  }

  void empty_optional_is_unset() {
    const Config c = load(
        "modules:\n  i:\n    type: influxdb_client\n    remote_hosts: [h]\n"
        "    token: \"${B3T_UNSET:-}\"\n    org: \"${B3T_SET:-}\"\n"
        "  s:\n    type: statsd_server\n    tcp_host: \"\"\n");
    QVERIFY(!c.find("i")->options.has("token"));
    QCOMPARE(c.find("i")->options.get_string("org"), std::string("value"));
    QVERIFY(!c.find("s")->options.has("tcp_host"));
  }

  void option_getters_reject_misuse_data() {
    QTest::addColumn<QByteArray>("call");
    QTest::newRow("key of another type") << QByteArray("format");
    QTest::newRow("global key") << QByteArray("flush_interval");
    QTest::newRow("wrong kind") << QByteArray("int max_datagram_size");
    QTest::newRow("unset optional") << QByteArray("tcp_host");
    QTest::newRow("seconds of a size") << QByteArray("seconds socket_buffer");
  }
  void option_getters_reject_misuse() {
    QFETCH(QByteArray, call);
    const ModuleOptions o = load(minimal("")).find("src")->options;
    QVERIFY(!o.has("format"));
    QVERIFY_THROWS_EXCEPTION(std::logic_error, {
      if (call.startsWith("int ")) {
        o.get_int(call.mid(4).toStdString());
      } else if (call.startsWith("seconds ")) {
        o.get_seconds(call.mid(8).toStdString());
      } else {
        o.get_string(call.toStdString());
      }
    });
  }

  void histogram_bins_only_on_statsd() {
    const ModuleOptions o = load(minimal("")).find("out")->options;
    QVERIFY_THROWS_EXCEPTION(std::logic_error, o.get_yaml("histogram_bins"));
  }

  void every_type_and_key_loads() {
    setenv("INFLUXDB_PASSWORD", "secret", 1);
    const Config c = load_config_file(source_dir() + "/tests/data/config/full.yaml");
    QCOMPARE(c.instance, std::string("full"));
    QCOMPARE(c.shm_group, std::optional<std::string>("root"));
    QCOMPARE(c.modules.size(), std::size_t{10});
    // Every type, and every key of every type set explicitly.
    std::set<std::string> types;
    for (const auto& m : c.modules) {
      types.insert(m.type);
      for (const auto& spec : module_schema(m.type)) {
        // They exclude each other: remote_write sets one, remote_write_token the other.
        if (spec.key == "basic_auth" || spec.key == "bearer_token") continue;
        // InfluxDB 1.x and 2.x keys too: influx_http sets the one, influx_udp the other.
        if (m.type == "influxdb_client" &&
            (spec.key == "retention_policy" || spec.key == "username" || spec.key == "password" ||
             spec.key == "token" || spec.key == "org" || spec.key == "influx_bucket")) {
          continue;
        }
        QVERIFY2(m.options.has(spec.key), (m.name + "." + std::string(spec.key)).c_str());
      }
    }
    QCOMPARE(types.size(), known_types().size());

    const ModuleConfig& statsd = *c.find("statsd");
    QCOMPARE(statsd.options.get_string("local_host"), std::string("[::1]:8125"));
    QCOMPARE(statsd.options.get_string("tcp_host"), std::string("0.0.0.0:0"));
    QCOMPARE(statsd.options.get_string("local_socket"), std::string("/tmp/statsd.sock"));
    QCOMPARE(statsd.options.get_int("local_socket_mode"), std::int64_t{0600});
    QCOMPARE(statsd.options.get_size("socket_buffer"), std::uint64_t{4 << 20});
    QCOMPARE(statsd.options.get_size("max_datagram_size"), std::uint64_t{65536});
    QCOMPARE(statsd.options.get_size("tcp_max_line_length"), std::uint64_t{2000});
    QCOMPARE(statsd.options.get_double_list("percentile_thresholds"),
             (std::vector<double>{50, 99.9}));
    // histogram_bins: tests/test_statsd_options.cpp.
    const std::vector<std::string> statsd_destinations{"prometheus", "debug"};
    QCOMPARE(statsd.destinations, statsd_destinations);
    QCOMPARE(statsd.filters.size(), std::size_t{3});

    const ModuleConfig& linux = *c.find("linux");
    QCOMPARE(linux.options.get_string_list("disk_whitelist"),
             (std::vector<std::string>{"^sd[a-z]$", "^nvme"}));
    const std::vector<std::string> all_active{"prometheus", "influx_http", "carbon", "debug"};
    QCOMPARE(linux.destinations, all_active);

    const ModuleConfig& docker = *c.find("docker");
    QVERIFY(docker.inactive);
    QCOMPARE(docker.options.get_string("api_version"), std::string("1.43"));
    QCOMPARE(docker.options.get_string_map("env_mapping"),
             (std::vector<std::pair<std::string, std::string>>{{"SERVICE", "service"},
                                                               {"TEAM", "team"}}));
    QCOMPARE(docker.options.get_string_list("container_exclude"),
             std::vector<std::string>{"^buildx_"});
    QCOMPARE(docker.options.get_seconds("request_timeout"), 2.5);
    QCOMPARE(docker.options.get_seconds("filesystem_interval"), 600.0);

    const ModuleConfig& prometheus = *c.find("prometheus");
    QCOMPARE(prometheus.options.get_string("http_path"), std::string(""));
    QCOMPARE(prometheus.options.get_seconds("idle_timeout"), 2.5);
    QCOMPARE(prometheus.ring_size_bytes, std::uint64_t{16 << 20});

    const ModuleConfig& influx = *c.find("influx_http");
    QCOMPARE(influx.options.get_string("protocol"), std::string("http"));
    QCOMPARE(influx.options.get_string("password"), std::string("secret"));
    QCOMPARE(influx.options.get_string_list("remote_hosts"),
             (std::vector<std::string>{"influx1:8086", "[::1]", "10.0.0.1"}));
    QCOMPARE(influx.options.get_int("udp_payload"), std::int64_t{65507});
    QCOMPARE(influx.options.get_seconds("timeout"), 2.5);
    QVERIFY(!influx.options.get_bool("gzip"));
    QVERIFY(!influx.options.has("token"));
    QCOMPARE(c.find("influx_udp")->options.get_string("token"), std::string("tok"));

    const ModuleConfig& remote_write = *c.find("remote_write");
    QCOMPARE(remote_write.options.get_string_list("remote_urls"),
             (std::vector<std::string>{"http://127.0.0.1:9090/api/v1/write",
                                       "https://[::1]:8428/api/v1/write?extra_label=a"}));
    QCOMPARE(remote_write.options.get_int("max_samples_per_send"), std::int64_t{500});
    QCOMPARE(remote_write.options.get_seconds("timeout"), 2.5);
    QCOMPARE(remote_write.options.get_string_map("headers"),
             (std::vector<std::pair<std::string, std::string>>{{"X-Scope-OrgID", "tenant-1"}}));
    QCOMPARE(remote_write.options.get_string_map("basic_auth"),
             (std::vector<std::pair<std::string, std::string>>{{"username", "bucky"},
                                                               {"password", "secret"}}));
    QVERIFY(!remote_write.options.has("bearer_token"));
    QCOMPARE(c.find("remote_write_token")->options.get_string("bearer_token"), std::string("tok"));
    QVERIFY(!c.find("remote_write_token")->options.has("basic_auth"));
    QCOMPARE(c.find("remote_write_token")->options.get_seconds("values_timeout"), 60.0);

    const ModuleConfig& carbon = *c.find("carbon");
    QCOMPARE(carbon.options.get_string_list("name_mapping"),
             (std::vector<std::string>{"host", "bucket"}));
    QCOMPARE(carbon.options.get_string("prefix"), std::string("servers"));
    QVERIFY(carbon.options.get_bool("tags"));
    QCOMPARE(c.find("debug")->options.get_string("format"), std::string("json"));
  }

  // docs/MIGRATION.md's converted example stays valid.
  void migration_example_loads() {
    setenv("BUCKY3_HOST", "h1", 1);
    const Config c = load_config_file(source_dir() + "/tests/data/config/migrated.yaml");
    QCOMPARE(c.modules.size(), std::size_t{2});
    QCOMPARE(c.find("statsd")->destinations, std::vector<std::string>{"prometheus"});
    QCOMPARE(c.find("statsd")->filters.size(), std::size_t{1});
    QCOMPARE(c.find("prometheus")->options.get_seconds("values_timeout"), 14.0);
    const std::string doc = read_file(source_dir() + "/docs/MIGRATION.md");
    QVERIFY(doc.find(read_file(source_dir() + "/tests/data/config/migrated.yaml")) !=
            std::string::npos);
  }

  void builtin_default_loads() {
    const std::string asset = read_file(source_dir() + "/assets/bucky3.yaml");
    QVERIFY(!asset.empty());
    QCOMPARE(builtin_config_yaml(), std::string_view(asset));

    const Config c = load_builtin_config();
    QCOMPARE(c.path, std::string("<builtin>"));
    QCOMPARE(c.modules.size(), std::size_t{3});
    for (const char* name : {"statsd_server", "linux_stats", "prometheus_exporter"}) {
      const ModuleConfig* m = c.find(name);
      QVERIFY2(m, name);
      QCOMPARE(m->type, std::string(name));
      QVERIFY(!m->inactive);
      QCOMPARE(m->metadata.size(), std::size_t{1});
      QCOMPARE(m->metadata[0].key, std::string("host"));
      QCOMPARE(m->metadata[0].value, *process_env("HOSTNAME"));
    }
    QCOMPARE(c.find("statsd_server")->options.get_string("local_host"),
             std::string("127.0.0.1:8125"));
    QCOMPARE(c.find("prometheus_exporter")->options.get_string("local_host"),
             std::string("127.0.0.1:9103"));
    QCOMPARE(c.find("statsd_server")->destinations,
             std::vector<std::string>{"prometheus_exporter"});
  }

  // Every commented-out line in the asset is a working example: uncommented,
  // the whole file still loads (the asset doubles as the key reference).
  void builtin_examples_load() {
    std::string asset = read_file(source_dir() + "/assets/bucky3.yaml");
    std::istringstream in(asset);
    std::string line, uncommented;
    bool body_started = false;
    while (std::getline(in, line)) {
      const auto hash = line.find("# ");
      const auto first = line.find_first_not_of(' ');
      if (line.rfind("# instance:", 0) == 0) body_started = true;
      if (body_started && hash != std::string::npos && hash == first &&
          line.find("---") == std::string::npos) {
        line.erase(hash, 2);
      }
      uncommented += line + "\n";
    }
    setenv("INFLUXDB_PASSWORD", "p", 1);
    setenv("INFLUXDB_TOKEN", "t", 1);
    try {
      const Config c = load_config_text(uncommented, "uncommented.yaml");
      QCOMPARE(c.modules.size(), std::size_t{7});
      QCOMPARE(c.instance, std::string("default"));
    } catch (const ConfigError& e) {
      // shm_group names an example group that may not exist here.
      QVERIFY2(e.key_path == "shm_group", e.what());
    }
  }

  void unreadable_file_data() {
    QTest::addColumn<QByteArray>("path");
    QTest::addColumn<QByteArray>("error");
    QTest::newRow("missing") << QByteArray("/nonexistent/bucky3.yaml")
                             << QByteArray(
                                    "/nonexistent/bucky3.yaml:0:0: cannot read the config: No "
                                    "such file or directory");
    QTest::newRow("directory") << QByteArray("/tmp")
                               << QByteArray("/tmp:0:0: cannot read the config: it is a directory");
  }
  void unreadable_file() {
    QFETCH(QByteArray, path);
    QFETCH(QByteArray, error);
    try {
      load_config_file(path.toStdString());
      QFAIL("no error");
    } catch (const ConfigError& e) {
      QCOMPARE(QByteArray(e.what()), error);
      QCOMPARE(e.line, 0);
      QCOMPARE(e.col, 0);
      QCOMPARE(e.key_path, std::string());
    }
  }

  void file_errors_name_the_file() {
    const QString path = QDir::temp().filePath("b3_config_test_%1.yaml").arg(getpid());
    {
      std::ofstream out(path.toStdString());
      out << "modules:\n  out:\n    type: debug_output\n    format: yaml\n";
    }
    std::string what;
    try {
      load_config_file(path.toStdString());
    } catch (const ConfigError& e) {
      what = e.what();
    }
    QFile::remove(path);
    QCOMPARE(QByteArray::fromStdString(what),
             path.toUtf8() + ":4:13: modules.out.format: must be one of text json, got \"yaml\"");
  }

  void error_fields() {
    try {
      load(minimal("    flush_interval: 0.05\n"));
      QFAIL("no error");
    } catch (const ConfigError& e) {
      QCOMPARE(e.file, std::string("t.yaml"));
      QCOMPARE(e.line, 6);
      QCOMPARE(e.col, 21);
      QCOMPARE(e.key_path, std::string("modules.src.flush_interval"));
      QCOMPARE(e.message, std::string("must be at least 0.1 s, got 0.05"));
    }
  }

  void rejects_data() {
    QTest::addColumn<QByteArray>("yaml");
    QTest::addColumn<QByteArray>("error");
    const QByteArray mods = "modules:\n  out:\n    type: debug_output\n";
    // --- YAML and structure
    QTest::newRow("bad yaml") << QByteArray("modules: [a, b\n")
                              << QByteArray(
                                     "t.yaml:2:1: invalid YAML: end of sequence flow not found");
    QTest::newRow("empty") << QByteArray("")
                           << QByteArray(
                                  "t.yaml:0:0: the config must be a map with a modules: key, got "
                                  "nothing (null)");
    QTest::newRow("nul byte") << QByteArray("modules:\n  a\0b: x\n", 16)
                              << QByteArray(
                                     "t.yaml:2:4: invalid YAML: control character 0x00 (YAML "
                                     "allows only tab and line breaks)");
    QTest::newRow("leading comma") << QByteArray("# c\n  , a]\n")
                                   << QByteArray(
                                          "t.yaml:2:3: invalid YAML: a line may not start with ',' "
                                          "(end the previous line with it instead)");
    QTest::newRow("nested leading comma")
        << QByteArray(mods + "    format: text\n  ,\n")
        << QByteArray(
               "t.yaml:5:3: invalid YAML: a line may not start "
               "with ',' (end the previous line with it instead)");
    QTest::newRow("root tag comma") << QByteArray("!f,")
                                    << QByteArray(
                                           "t.yaml:1:3: invalid YAML: the top level must be a map, "
                                           "found ','");
    QTest::newRow("root anchor comma") << QByteArray("&a ,\n")
                                       << QByteArray(
                                              "t.yaml:1:4: invalid YAML: the top level must be a "
                                              "map, found ','");
    QTest::newRow("marker comma") << QByteArray("--- ,\n")
                                  << QByteArray(
                                         "t.yaml:1:5: invalid YAML: the top level must be a map, "
                                         "found ','");
    QTest::newRow("after document end") << QByteArray(mods + "...\nlog_level: info\n")
                                        << QByteArray(
                                               "t.yaml:5:1: the config must be one YAML document, "
                                               "found a second one");
    QTest::newRow("two documents") << QByteArray(mods + "---\nlog_level: info\n")
                                   << QByteArray(
                                          "t.yaml:4:1: the config must be one YAML document, "
                                          "found a second one");
    QTest::newRow("null value") << QByteArray("flush_interval:\n" + mods)
                                << QByteArray(
                                       "t.yaml:1:1: flush_interval: has no value (null); give it "
                                       "one or remove the key");
    QTest::newRow("explicit null") << QByteArray(mods + "    format: ~\n")
                                   << QByteArray(
                                          "t.yaml:4:5: modules.out.format: has no value (null); "
                                          "give it one or remove the key");
    QTest::newRow("tab indentation") << QByteArray("modules:\n\tout: {type: debug_output}\n")
                                     << QByteArray("t.yaml:2:5: invalid YAML: illegal map value");
    QTest::newRow("root list") << QByteArray("- a\n")
                               << QByteArray(
                                      "t.yaml:1:1: the config must be a map with a modules: key, "
                                      "got a list");
    QTest::newRow("no modules") << QByteArray("log_level: info\n")
                                << QByteArray(
                                       "t.yaml:1:1: modules: is required: a map of module name to "
                                       "module settings");
    QTest::newRow("empty modules")
        << QByteArray("modules: {}\n")
        << QByteArray("t.yaml:1:10: modules: must define at least one module");
    QTest::newRow("modules list") << QByteArray("modules: [a]\n")
                                  << QByteArray("t.yaml:1:10: modules: must be a map, got a list");
    QTest::newRow("unknown top key") << QByteArray("flush_intervall: 3\n" + mods)
                                     << QByteArray(
                                            "t.yaml:1:1: flush_intervall: unknown top-level key "
                                            "(did you mean flush_interval?); see docs/CONFIG.md");
    QTest::newRow("duplicate top key")
        << QByteArray("chunk_size: 1\nchunk_size: 2\n" + mods)
        << QByteArray("t.yaml:2:1: chunk_size: duplicate key (first at line 1, col 1)");
    QTest::newRow("duplicate module")
        << QByteArray(mods + "  out:\n    type: debug_output\n")
        << QByteArray("t.yaml:4:3: modules.out: duplicate key (first at line 2, col 3)");
    QTest::newRow("duplicate nested key")
        << QByteArray("metadata: {a: 1, b: 2, a: 3}\n" + mods)
        << QByteArray("t.yaml:1:24: metadata.a: duplicate key (first at line 1, col 12)");
    QTest::newRow("non-scalar key") << QByteArray("? [a]\n: 1\n" + mods)
                                    << QByteArray("t.yaml:1:3: keys must be strings, got a list");
    // --- interpolation
    QTest::newRow("unset variable")
        << QByteArray("metadata:\n  env: \"x${B3T_UNSET}\"\n" + mods)
        << QByteArray(
               "t.yaml:2:8: metadata.env: environment variable B3T_UNSET is not set (use "
               "${B3T_UNSET:-default} to give a default)");
    QTest::newRow("interpolated wrong type")
        << QByteArray("chunk_size: ${B3T_SET}\n" + mods)
        << QByteArray("t.yaml:1:13: chunk_size: must be an integer, got \"value\"");
    // --- top-level only keys
    QTest::newRow("bad instance") << QByteArray("instance: Prod\n" + mods)
                                  << QByteArray(
                                         "t.yaml:1:11: instance: must match [a-z][a-z0-9_]{0,31}, "
                                         "got \"Prod\"");
    QTest::newRow("missing group") << QByteArray("shm_group: no_such_group_b3\n" + mods)
                                   << QByteArray(
                                          "t.yaml:1:12: shm_group: no such group "
                                          "\"no_such_group_b3\"");
    QTest::newRow("instance in module")
        << QByteArray(mods + "    instance: x\n")
        << QByteArray(
               "t.yaml:4:5: modules.out.instance: unknown debug_output key; see docs/CONFIG.md");
    // --- global keys: types and ranges
    QTest::newRow("log level") << QByteArray("log_level: verbose\n" + mods)
                               << QByteArray(
                                      "t.yaml:1:12: log_level: must be one of debug, info, "
                                      "warning, error, got \"verbose\"");
    QTest::newRow("flush too short") << QByteArray(mods + "    flush_interval: 0.05\n")
                                     << QByteArray(
                                            "t.yaml:4:21: modules.out.flush_interval: must be at "
                                            "least 0.1 s, got 0.05");
    QTest::newRow("flush not number")
        << QByteArray("flush_interval: 10s\n" + mods)
        << QByteArray("t.yaml:1:17: flush_interval: must be a number of seconds, got \"10s\"");
    QTest::newRow("flush list") << QByteArray("flush_interval: [1]\n" + mods)
                                << QByteArray(
                                       "t.yaml:1:17: flush_interval: must be a number of seconds, "
                                       "got a list");
    QTest::newRow("bool") << QByteArray("randomize_startup: yes\n" + mods)
                          << QByteArray(
                                 "t.yaml:1:20: randomize_startup: must be true or false, got "
                                 "\"yes\"");
    QTest::newRow("buffer_limit 0")
        << QByteArray("buffer_limit: 0\n" + mods)
        << QByteArray("t.yaml:1:15: buffer_limit: must be at least 1, got 0");
    QTest::newRow("chunk_size float") << QByteArray("chunk_size: 1.5\n" + mods)
                                      << QByteArray(
                                             "t.yaml:1:13: chunk_size: must be an integer, got "
                                             "\"1.5\"");
    QTest::newRow("metadata list")
        << QByteArray("metadata: [a]\n" + mods)
        << QByteArray("t.yaml:1:11: metadata: must be a map, got a list");
    QTest::newRow("metadata value map")
        << QByteArray("metadata: {a: {b: c}}\n" + mods)
        << QByteArray("t.yaml:1:15: metadata.a: must be a string, got a map");
    QTest::newRow("ring too small") << QByteArray("ring_size: 1000\n" + mods)
                                    << QByteArray(
                                           "t.yaml:1:12: ring_size: must be at least 64KiB, got "
                                           "1000 bytes");
    QTest::newRow("ring bad unit") << QByteArray("ring_size: 8 MB/s\n" + mods)
                                   << QByteArray(
                                          "t.yaml:1:12: ring_size: must be a size: bytes, or a "
                                          "number with a unit (B, KiB, MiB, GiB, KB, MB, GB), got "
                                          "\"8 MB/s\"");
    // linux_stats reads nothing from /sys (docs/DEPARTURES.md); docker_stats keeps the key.
    QTest::newRow("sysfs_root on linux_stats")
        << QByteArray(mods + "  src:\n    type: linux_stats\n    sysfs_root: /sys\n")
        << QByteArray(
               "t.yaml:6:5: modules.src.sysfs_root: unknown linux_stats key; see docs/CONFIG.md");
    QTest::newRow("ring on source")
        << QByteArray(mods + "  src:\n    type: linux_stats\n    ring_size: 1MiB\n")
        << QByteArray(
               "t.yaml:6:5: modules.src.ring_size: is set on destinations (each destination holds "
               "the rings of its sources), not on source type linux_stats");
    // --- modules
    QTest::newRow("bad module name")
        << QByteArray("modules:\n  Out:\n    type: debug_output\n")
        << QByteArray("t.yaml:2:3: modules.Out: module names must match [a-z][a-z0-9_]{0,31}");
    QTest::newRow("long module name")
        << QByteArray("modules:\n  a23456789012345678901234567890123:\n    type: debug_output\n")
        << QByteArray(
               "t.yaml:2:3: modules.a23456789012345678901234567890123: module names must match "
               "[a-z][a-z0-9_]{0,31}");
    QTest::newRow("reserved name")
        << QByteArray("modules:\n  health:\n    type: debug_output\n")
        << QByteArray(
               "t.yaml:2:3: modules.health: \"health\" is reserved (shared-memory names); pick "
               "another");
    QTest::newRow("module not map") << QByteArray("modules:\n  out: debug_output\n")
                                    << QByteArray(
                                           "t.yaml:2:8: modules.out: must be a map, got "
                                           "\"debug_output\"");
    QTest::newRow("missing type")
        << QByteArray("modules:\n  out:\n    format: json\n")
        << QByteArray(
               "t.yaml:3:5: modules.out.type: is required, one of statsd_server, linux_stats, "
               "docker_stats, prometheus_exporter, influxdb_client, carbon_client, "
               "remote_write_client, "
               "debug_output");
    QTest::newRow("unknown type")
        << QByteArray("modules:\n  out:\n    type: graphite\n")
        << QByteArray(
               "t.yaml:3:11: modules.out.type: unknown module type \"graphite\"; expected one of "
               "statsd_server, linux_stats, docker_stats, prometheus_exporter, influxdb_client, "
               "carbon_client, remote_write_client, debug_output");
    QTest::newRow("unknown module key")
        << QByteArray(mods + "    formt: json\n")
        << QByteArray(
               "t.yaml:4:5: modules.out.formt: unknown debug_output key (did you mean format?); "
               "see docs/CONFIG.md");
    QTest::newRow("other type's key")
        << QByteArray(mods + "    local_host: 127.0.0.1:1\n")
        << QByteArray(
               "t.yaml:4:5: modules.out.local_host: unknown debug_output key; see docs/CONFIG.md");
    QTest::newRow("inactive not bool")
        << QByteArray(mods + "    inactive: 1\n")
        << QByteArray("t.yaml:4:15: modules.out.inactive: must be true or false, got \"1\"");
    QTest::newRow("inactive still validated")
        << QByteArray(mods + "    inactive: true\n    format: xml\n")
        << QByteArray("t.yaml:5:13: modules.out.format: must be one of text json, got \"xml\"");
    // --- destinations
    QTest::newRow("destinations on destination")
        << QByteArray(mods + "    destinations: [out]\n")
        << QByteArray(
               "t.yaml:4:5: modules.out.destinations: only sources have destinations; "
               "debug_output is a destination");
    QTest::newRow("destination unknown")
        << QByteArray(mods + "  src:\n    type: linux_stats\n    destinations: [out, nope]\n")
        << QByteArray("t.yaml:6:25: modules.src.destinations[1]: no module named \"nope\"");
    QTest::newRow("destination is source")
        << QByteArray(mods + "  src:\n    type: linux_stats\n    destinations: [src]\n")
        << QByteArray(
               "t.yaml:6:20: modules.src.destinations[0]: \"src\" is a source (type linux_stats), "
               "not a destination");
    QTest::newRow("destination inactive")
        << QByteArray(
               "modules:\n  out:\n    type: debug_output\n    inactive: true\n"
               "  src:\n    type: linux_stats\n    destinations:\n      - out\n")
        << QByteArray("t.yaml:8:9: modules.src.destinations[0]: \"out\" is inactive");
    QTest::newRow("destination twice")
        << QByteArray(mods + "  src:\n    type: linux_stats\n    destinations: [out, out]\n")
        << QByteArray("t.yaml:6:25: modules.src.destinations[1]: \"out\" is listed twice");
    QTest::newRow("destinations scalar")
        << QByteArray(mods + "  src:\n    type: linux_stats\n    destinations: out\n")
        << QByteArray(
               "t.yaml:6:19: modules.src.destinations: must be a list of destination module "
               "names, got \"out\"");
    // --- module options
    QTest::newRow("listen without port")
        << QByteArray(mods + "  src:\n    type: statsd_server\n    local_host: 127.0.0.1\n")
        << QByteArray(
               "t.yaml:6:17: modules.src.local_host: must be host:port (IPv6 in brackets, "
               "\"[::1]:8125\"), got \"127.0.0.1\"");
    QTest::newRow("listen bare ipv6")
        << QByteArray(mods + "  src:\n    type: statsd_server\n    local_host: \"::1:8125\"\n")
        << QByteArray(
               "t.yaml:6:17: modules.src.local_host: must be host:port (IPv6 in brackets, "
               "\"[::1]:8125\"), got \"::1:8125\"");
    QTest::newRow("listen port range")
        << QByteArray(mods + "  src:\n    type: statsd_server\n    tcp_host: 127.0.0.1:65536\n")
        << QByteArray(
               "t.yaml:6:15: modules.src.tcp_host: must be host:port (IPv6 in brackets, "
               "\"[::1]:8125\"), got \"127.0.0.1:65536\"");
    QTest::newRow("octal mode")
        << QByteArray(mods + "  src:\n    type: statsd_server\n    local_socket_mode: \"0689\"\n")
        << QByteArray(
               "t.yaml:6:24: modules.src.local_socket_mode: must be an octal file mode like "
               "\"0660\", got \"0689\"");
    QTest::newRow("size too large")
        << QByteArray(mods + "  src:\n    type: statsd_server\n    socket_buffer: 4GiB\n")
        << QByteArray("t.yaml:6:20: modules.src.socket_buffer: must be at most 2GiB, got 4GiB");
    QTest::newRow("percentile range")
        << QByteArray(mods +
                      "  src:\n    type: statsd_server\n    percentile_thresholds: [50, 0]\n")
        << QByteArray(
               "t.yaml:6:33: modules.src.percentile_thresholds[1]: must be greater than 0 and at "
               "most 100, got 0");
    QTest::newRow("percentile over 100")
        << QByteArray(mods +
                      "  src:\n    type: statsd_server\n    percentile_thresholds: [100.5]\n")
        << QByteArray(
               "t.yaml:6:29: modules.src.percentile_thresholds[0]: must be greater than 0 and at "
               "most 100, got 100.5");
    QTest::newRow("percentile twice")
        << QByteArray(mods +
                      "  src:\n    type: statsd_server\n    percentile_thresholds: [90, 90]\n")
        << QByteArray("t.yaml:6:33: modules.src.percentile_thresholds[1]: 90 is listed twice");
    QTest::newRow("empty bucket name")
        << QByteArray(mods + "  src:\n    type: statsd_server\n    sets_bucket: \"\"\n")
        << QByteArray("t.yaml:6:18: modules.src.sets_bucket: must not be empty");
    QTest::newRow("bad regex list")
        << QByteArray(mods +
                      "  src:\n    type: linux_stats\n    disk_whitelist: [\"^sd\", \"(\"]\n")
        << QByteArray(
               "t.yaml:6:29: modules.src.disk_whitelist[1]: invalid regex \"(\": Mismatched '(' "
               "and ')' in regular expression");
    QTest::newRow("remote hosts required")
        << QByteArray("modules:\n  influx:\n    type: influxdb_client\n")
        << QByteArray(
               "t.yaml:3:5: modules.influx.remote_hosts: is required for type influxdb_client");
    QTest::newRow("remote hosts empty")
        << QByteArray("modules:\n  c:\n    type: carbon_client\n    remote_hosts: []\n")
        << QByteArray("t.yaml:4:19: modules.c.remote_hosts: must name at least one host");
    QTest::newRow("remote host bad")
        << QByteArray("modules:\n  c:\n    type: carbon_client\n    remote_hosts: [\"a:0\"]\n")
        << QByteArray(
               "t.yaml:4:20: modules.c.remote_hosts[0]: must be host or host:port with a port "
               "1-65535 (IPv6 in brackets, \"[::1]:8089\"), got \"a:0\"");
    QTest::newRow("remote urls required")
        << QByteArray("modules:\n  rw:\n    type: remote_write_client\n")
        << QByteArray(
               "t.yaml:3:5: modules.rw.remote_urls: is required for type remote_write_client");
    QTest::newRow("remote url scheme")
        << QByteArray(
               "modules:\n  rw:\n    type: remote_write_client\n    remote_urls: [\"ftp://h/x\"]\n")
        << QByteArray(
               "t.yaml:4:19: modules.rw.remote_urls[0]: must be an http:// or https:// URL with a "
               "host, like \"http://127.0.0.1:9090/api/v1/write\", got \"ftp://h/x\"");
    QTest::newRow("remote url no host")
        << QByteArray(
               "modules:\n  rw:\n    type: remote_write_client\n    remote_urls: "
               "[\"http:///api/v1/write\"]\n")
        << QByteArray(
               "t.yaml:4:19: modules.rw.remote_urls[0]: must be an http:// or https:// URL with a "
               "host, like \"http://127.0.0.1:9090/api/v1/write\", got \"http:///api/v1/write\"");
    QTest::newRow("remote url credentials")
        << QByteArray(
               "modules:\n  rw:\n    type: remote_write_client\n    remote_urls: "
               "[\"http://u:p@h/\"]\n")
        << QByteArray(
               "t.yaml:4:19: modules.rw.remote_urls[0]: must be an http:// or https:// URL with a "
               "host, like \"http://127.0.0.1:9090/api/v1/write\", got \"http://u:p@h/\"");
    // headers, basic_auth and bearer_token are the module's own checks:
    // tests/test_remote_write_options.cpp.
    // token vs the 1.x keys is the module's own check: tests/test_influxdb_options.cpp.
    QTest::newRow("udp payload range")
        << QByteArray(
               "modules:\n  i:\n    type: influxdb_client\n    remote_hosts: [h]\n"
               "    udp_payload: 65508\n")
        << QByteArray("t.yaml:5:18: modules.i.udp_payload: must be at most 65507, got 65508");
    QTest::newRow("protocol choice")
        << QByteArray(
               "modules:\n  i:\n    type: influxdb_client\n    remote_hosts: [h]\n"
               "    protocol: tcp\n")
        << QByteArray(
               "t.yaml:5:15: modules.i.protocol: must be one of udp http https, got \"tcp\"");
    QTest::newRow("env_mapping list")
        << QByteArray("modules:\n  d:\n    type: docker_stats\n    env_mapping: [A]\n")
        << QByteArray("t.yaml:4:18: modules.d.env_mapping: must be a map, got a list");
    QTest::newRow("timeout too small")
        << QByteArray("modules:\n  p:\n    type: prometheus_exporter\n    values_timeout: 0\n")
        << QByteArray("t.yaml:4:21: modules.p.values_timeout: must be at least 1 s, got 0");
    // --- filters
    QTest::newRow("filters not list")
        << QByteArray("filters: {drop: true}\n" + mods)
        << QByteArray("t.yaml:1:10: filters: must be a list of rules, got a map");
    QTest::newRow("rule without action")
        << QByteArray("filters:\n  - match: {bucket: x}\n" + mods)
        << QByteArray(
               "t.yaml:2:5: filters[0]: a rule needs at least one action: drop, set_metadata, "
               "remove_metadata or bucket");
    QTest::newRow("rule unknown key")
        << QByteArray("filters:\n  - {match: {bucket: x}, rename: y}\n" + mods)
        << QByteArray(
               "t.yaml:2:26: filters[0].rename: unknown filter key; expected match, drop, "
               "set_metadata, remove_metadata or bucket");
    QTest::newRow("match unknown key")
        << QByteArray("filters:\n  - {match: {tag: x}, drop: true}\n" + mods)
        << QByteArray(
               "t.yaml:2:14: filters[0].match.tag: unknown match key; expected bucket, name or "
               "metadata");
    QTest::newRow("bad filter regex")
        << QByteArray(mods + "    filters:\n      - match: {name: \"a[\"}\n        drop: true\n")
        << QByteArray(
               "t.yaml:5:23: modules.out.filters[0].match.name: invalid regex \"a[\": Unexpected "
               "character within '[...]' in regular expression");
    QTest::newRow("bad metadata regex")
        << QByteArray("filters: [{match: {metadata: {env: \"*\"}}, drop: true}]\n" + mods)
        << QByteArray(
               "t.yaml:1:36: filters[0].match.metadata.env: invalid regex \"*\": Mismatched '(' "
               "and ')' in regular expression");
    QTest::newRow("drop plus actions")
        << QByteArray("filters: [{drop: true, bucket: b}]\n" + mods)
        << QByteArray(
               "t.yaml:1:11: filters[0]: drop: true ends the rules; its other actions would never "
               "run");
    QTest::newRow("empty new bucket")
        << QByteArray("filters: [{bucket: \"\"}]\n" + mods)
        << QByteArray("t.yaml:1:20: filters[0].bucket: must not be empty");
    QTest::newRow("remove_metadata scalar")
        << QByteArray("filters: [{remove_metadata: env}]\n" + mods)
        << QByteArray(
               "t.yaml:1:29: filters[0].remove_metadata: must be a list of strings, got \"env\"");
  }
  void rejects() {
    QFETCH(QByteArray, yaml);
    QFETCH(QByteArray, error);
    QCOMPARE(QByteArray::fromStdString(error_of(yaml)), error);
  }
};

QTEST_MAIN(TestConfig)
#include "test_config.moc"
