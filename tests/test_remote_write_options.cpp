// tests/test_remote_write_options.cpp — remote_write_client's own option checks
// (headers, basic_auth, bearer_token), run by the config loader through the
// module's check hook, with errors at file:line:col as the loader's own.
#include <QtTest>

#include "daemon/config/config.h"
#include "exporters/remote_write/options.h"
#include "tests/support/config_error.h"

using namespace bucky3::config;
using bucky3::remote_write::check_remote_write_client;

namespace {

// The check the module registry passes to the loader for remote_write_client.
void check(const ModuleConfig& module) {
  if (module.type == "remote_write_client") check_remote_write_client(module);
}

std::string error_of(const QByteArray& yaml, const ModuleCheck& with = check) {
  return bucky3::test::config_error_of(yaml, with);
}

const QByteArray kModule =
    "modules:\n  rw:\n    type: remote_write_client\n    remote_urls: [http://h/]\n";

}  // namespace

class TestRemoteWriteOptions : public QObject {
  Q_OBJECT

 private slots:
  void accepts() {
    QCOMPARE(error_of(kModule), std::string("(loaded without error)"));
    QCOMPARE(error_of(kModule + "    headers: {X-Scope-OrgID: tenant-1, Authorization: x}\n" +
                      "    bearer_token: \"${NO_SUCH_TOKEN_VAR:-}\"\n" +
                      "    basic_auth: {username: u, password: \"\"}\n"),
             std::string("(loaded without error)"));
    QCOMPARE(error_of(kModule + "    bearer_token: t\n"), std::string("(loaded without error)"));
  }

  // Without the module's check the loader takes any string map; the check is
  // what refuses it, at --check and when the supervisor loads the config.
  void loader_alone_takes_any_map() {
    const QByteArray yaml = kModule + "    headers: {content-type: x}\n";
    QCOMPARE(error_of(yaml, {}), std::string("(loaded without error)"));
    QVERIFY(error_of(yaml).find("is set by the protocol") != std::string::npos);
  }

  void rejects_data() {
    QTest::addColumn<QByteArray>("yaml");
    QTest::addColumn<QByteArray>("error");
    QTest::newRow("protocol header")
        << QByteArray(
               "modules:\n  rw:\n    type: remote_write_client\n    remote_urls: [http://h/]\n"
               "    headers: {content-encoding: gzip}\n")
        << QByteArray(
               "t.yaml:5:14: modules.rw.headers.content-encoding: is set by the protocol and "
               "cannot be overridden");
    QTest::newRow("header name")
        << QByteArray(
               "modules:\n  rw:\n    type: remote_write_client\n    remote_urls: [http://h/]\n"
               "    headers: {\"a b\": c}\n")
        << QByteArray("t.yaml:5:14: modules.rw.headers.a b: is not a valid HTTP header name");
    QTest::newRow("basic_auth without username")
        << QByteArray(
               "modules:\n  rw:\n    type: remote_write_client\n    remote_urls: [http://h/]\n"
               "    basic_auth: {password: p}\n")
        << QByteArray(
               "t.yaml:5:17: modules.rw.basic_auth.username: is required and must not be empty");
    QTest::newRow("basic_auth unknown key")
        << QByteArray(
               "modules:\n  rw:\n    type: remote_write_client\n    remote_urls: [http://h/]\n"
               "    basic_auth: {username: u, pass: p}\n")
        << QByteArray(
               "t.yaml:5:17: modules.rw.basic_auth.pass: unknown key; expected username, password");
    QTest::newRow("basic_auth and bearer_token")
        << QByteArray(
               "modules:\n  rw:\n    type: remote_write_client\n    remote_urls: [http://h/]\n"
               "    basic_auth: {username: u}\n    bearer_token: t\n")
        << QByteArray(
               "t.yaml:3:5: modules.rw.bearer_token: cannot be set together with basic_auth");
    QTest::newRow("header line break")
        << QByteArray(kModule + "    headers: {X-A: \"a\\r\\nB: c\"}\n")
        << QByteArray("t.yaml:5:14: modules.rw.headers.X-A: must not contain line breaks");
    QTest::newRow("protocol header, any case")
        << QByteArray(kModule + "    headers: {X-Prometheus-Remote-Write-Version: \"2\"}\n")
        << QByteArray(
               "t.yaml:5:14: modules.rw.headers.X-Prometheus-Remote-Write-Version: is set by the "
               "protocol and cannot be overridden");
  }
  void rejects() {
    QFETCH(QByteArray, yaml);
    QFETCH(QByteArray, error);
    QCOMPARE(QByteArray::fromStdString(error_of(yaml)), error);
  }
};

QTEST_MAIN(TestRemoteWriteOptions)
#include "test_remote_write_options.moc"
