// tests/test_endpoint.cpp — parse_endpoint(), the one host:port parser.
#include <QtTest>

#include "common/endpoint.h"

using bucky3::parse_endpoint;

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

  void formats() {
    QCOMPARE(bucky3::format_endpoint("127.0.0.1", 2003), std::string("127.0.0.1:2003"));
    QCOMPARE(bucky3::format_endpoint("::1", 2003), std::string("[::1]:2003"));
  }
};

QTEST_MAIN(TestEndpoint)
#include "test_endpoint.moc"
