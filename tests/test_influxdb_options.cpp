// tests/test_influxdb_options.cpp — influxdb_client's own option checks (token
// vs the InfluxDB 1.x keys), run by the config loader through the module's check
// hook, with errors at file:line:col as the loader's own.
#include <QtTest>

#include "daemon/config/config.h"
#include "exporters/influxdb/options.h"
#include "tests/support/config_error.h"

using namespace bucky3::config;
using bucky3::influxdb::check_influxdb_client;

namespace {

// The check the module registry passes to the loader for influxdb_client.
void check(const ModuleConfig& module) {
  if (module.type == "influxdb_client") check_influxdb_client(module);
}

std::string error_of(const QByteArray& yaml, const ModuleCheck& with = check) {
  return bucky3::test::config_error_of(yaml, with);
}

const QByteArray kModule = "modules:\n  i:\n    type: influxdb_client\n    remote_hosts: [h]\n";

}  // namespace

class TestInfluxdbOptions : public QObject {
  Q_OBJECT

 private slots:
  void accepts() {
    QCOMPARE(error_of(kModule), std::string("(loaded without error)"));
    QCOMPARE(error_of(kModule + "    database: d\n    username: u\n    password: p\n" +
                      "    retention_policy: autogen\n"),
             std::string("(loaded without error)"));
    QCOMPARE(error_of(kModule + "    token: t\n    org: o\n    influx_bucket: b\n"),
             std::string("(loaded without error)"));
    // `token: "${VAR:-}"` with VAR unset sets no token: the 1.x keys stay usable.
    QCOMPARE(
        error_of(kModule + "    token: \"${NO_SUCH_INFLUX_TOKEN_VAR:-}\"\n" + "    database: d\n"),
        std::string("(loaded without error)"));
  }

  // Without the module's check the loader takes the keys together; the check is
  // what refuses them, at --check and when the supervisor loads the config.
  void loader_alone_takes_both_apis() {
    const QByteArray yaml = kModule + "    token: t\n    database: d\n";
    QCOMPARE(error_of(yaml, {}), std::string("(loaded without error)"));
    QVERIFY(error_of(yaml).find("is an InfluxDB 1.x key") != std::string::npos);
  }

  void rejects_data() {
    QTest::addColumn<QByteArray>("yaml");
    QTest::addColumn<QByteArray>("error");
    QTest::newRow("influxdb token with a 1.x key")
        << QByteArray(
               "modules:\n  i:\n    type: influxdb_client\n    remote_hosts: [h]\n"
               "    token: t\n    org: o\n    influx_bucket: b\n    database: d\n")
        << QByteArray(
               "t.yaml:8:5: modules.i.database: is an InfluxDB 1.x key; with token (2.x) use org "
               "and influx_bucket");
    QTest::newRow("influxdb token without bucket")
        << QByteArray(
               "modules:\n  i:\n    type: influxdb_client\n    remote_hosts: [h]\n"
               "    token: t\n    org: o\n")
        << QByteArray("t.yaml:3:5: modules.i.token: needs org and influx_bucket (InfluxDB 2.x)");
    QTest::newRow("token with password")
        << QByteArray(kModule + "    token: t\n    org: o\n    influx_bucket: b\n" +
                      "    password: p\n")
        << QByteArray(
               "t.yaml:8:5: modules.i.password: is an InfluxDB 1.x key; with token (2.x) use org "
               "and influx_bucket");
  }
  void rejects() {
    QFETCH(QByteArray, yaml);
    QFETCH(QByteArray, error);
    QCOMPARE(QByteArray::fromStdString(error_of(yaml)), error);
  }
};

QTEST_GUILESS_MAIN(TestInfluxdbOptions)
#include "test_influxdb_options.moc"
