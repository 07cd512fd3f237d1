// tests/test_endpoint.cpp — parse_endpoint(), the one host:port parser, and
// parse_http_url(), the one URL parser built on it.
#include <QtTest>

#include "common/endpoint.h"

using bucky3::parse_endpoint;
using bucky3::parse_http_url;

class TestEndpoint : public QObject {
  Q_OBJECT

 private slots:
  void parses_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("host");  // empty: refused
    QTest::addColumn<int>("port");      // -1: none given
    QTest::newRow("name") << "carbon"
                          << "carbon" << -1;
    QTest::newRow("name:port") << "carbon:2004"
                               << "carbon" << 2004;
    QTest::newRow("v4") << "127.0.0.1:8125"
                        << "127.0.0.1" << 8125;
    QTest::newRow("port 0") << "127.0.0.1:0"
                            << "127.0.0.1" << 0;
    QTest::newRow("port 65535") << "h:65535"
                                << "h" << 65535;
    QTest::newRow("leading zeros") << "h:000080"
                                   << "h" << 80;
    QTest::newRow("v6") << "[::1]:8125"
                        << "::1" << 8125;
    QTest::newRow("v6 no port") << "[fe80::1]"
                                << "fe80::1" << -1;
    QTest::newRow("bare v6") << "::1"
                             << "" << 0;
    QTest::newRow("empty") << ""
                           << "" << 0;
    QTest::newRow("empty host") << ":9103"
                                << "" << 0;
    QTest::newRow("empty brackets") << "[]:1"
                                    << "" << 0;
    QTest::newRow("unclosed bracket") << "[::1:9103"
                                      << "" << 0;
    QTest::newRow("port too big") << "h:65536"
                                  << "" << 0;
    QTest::newRow("huge port") << "h:99999999999999999999"
                               << "" << 0;
    QTest::newRow("empty port") << "h:"
                                << "" << 0;
    QTest::newRow("service name") << "h:http"
                                  << "" << 0;
    QTest::newRow("junk after bracket") << "[::1]x"
                                        << "" << 0;
    QTest::newRow("slash") << "h/x:1"
                           << "" << 0;
    QTest::newRow("space") << "h x:1"
                           << "" << 0;
  }
  void parses() {
    QFETCH(QString, text);
    QFETCH(QString, host);
    QFETCH(int, port);
    const auto endpoint = parse_endpoint(text.toStdString());
    if (host.isEmpty()) {
      QVERIFY(!endpoint);
      return;
    }
    QVERIFY(endpoint);
    QCOMPARE(QString::fromStdString(endpoint->host), host);
    QCOMPARE(endpoint->port ? int(*endpoint->port) : -1, port);
  }

  void parses_urls_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("tls");
    QTest::addColumn<QString>("host");  // empty: refused
    QTest::addColumn<int>("port");
    QTest::addColumn<QString>("target");
    QTest::newRow("http") << "http://127.0.0.1:9090/api/v1/write" << false << "127.0.0.1" << 9090
                          << "/api/v1/write";
    QTest::newRow("https default port")
        << "https://vm.example/api/v1/write" << true << "vm.example" << 443 << "/api/v1/write";
    QTest::newRow("http default port") << "http://h" << false << "h" << 80 << "/";
    QTest::newRow("v6 and query") << "https://[::1]:8428/api/v1/write?extra_label=a" << true
                                  << "::1" << 8428 << "/api/v1/write?extra_label=a";
    QTest::newRow("query without path") << "http://h?x=1" << false << "h" << 80 << "/?x=1";
    QTest::newRow("fragment dropped") << "http://h:1/p?q#frag" << false << "h" << 1 << "/p?q";
    QTest::newRow("fragment only") << "http://h#frag" << false << "h" << 80 << "/";
    QTest::newRow("ftp") << "ftp://h/x" << false << "" << 0 << "";
    QTest::newRow("no scheme") << "h:80/x" << false << "" << 0 << "";
    QTest::newRow("no host") << "http:///api/v1/write" << false << "" << 0 << "";
    QTest::newRow("credentials") << "http://u:p@h/" << false << "" << 0 << "";
    QTest::newRow("port 0") << "http://h:0/" << false << "" << 0 << "";
    QTest::newRow("bad port") << "http://h:x/" << false << "" << 0 << "";
    QTest::newRow("space in path") << "http://h/a b" << false << "" << 0 << "";
    QTest::newRow("line break") << "http://h/a\r\nX: y" << false << "" << 0 << "";
    QTest::newRow("bare v6") << "http://::1/" << false << "" << 0 << "";
  }
  void parses_urls() {
    QFETCH(QString, text);
    QFETCH(bool, tls);
    QFETCH(QString, host);
    QFETCH(int, port);
    QFETCH(QString, target);
    const auto url = parse_http_url(text.toStdString());
    if (host.isEmpty()) {
      QVERIFY(!url);
      return;
    }
    QVERIFY(url);
    QCOMPARE(url->tls, tls);
    QCOMPARE(QString::fromStdString(url->host), host);
    QCOMPARE(int(url->port), port);
    QCOMPARE(QString::fromStdString(url->target), target);
  }

  void formats() {
    QCOMPARE(bucky3::format_endpoint("127.0.0.1", 2003), std::string("127.0.0.1:2003"));
    QCOMPARE(bucky3::format_endpoint("::1", 2003), std::string("[::1]:2003"));
  }
};

QTEST_MAIN(TestEndpoint)
#include "test_endpoint.moc"
