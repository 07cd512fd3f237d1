// tests/test_linux_live.cpp — the Linux collector on this machine's real /proc,
// cross-checked against an independent reader: prometheus-node-exporter,
// scraped between two collections. Counters must fall between the two
// collections' values; gauges within a stated slack.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <QtTest>
#include <cmath>
#include <map>
#include <thread>

#include "collectors/linux/collector.h"
#include "tests/support/agent.h"

using namespace bucky3;
using namespace bucky3::linux_stats;

namespace {

// The body of GET /metrics over HTTP/1.0, or empty when nothing answers.
std::string http_get(int port, const char* path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    const std::string request = std::string("GET ") + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buffer[65536];
      for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) response.append(buffer, n);
    }
  }
  ::close(fd);
  const auto body = response.find("\r\n\r\n");
  if (!response.starts_with("HTTP/1.") || response.find(" 200 ") == std::string::npos ||
      body == std::string::npos) {
    return {};
  }
  return response.substr(body + 4);
}

// "name{labels} value" lines of the exposition format, keyed by everything
// before the value (node_exporter writes labels sorted by name).
std::map<std::string, double> parse_exposition(const std::string& text) {
  std::map<std::string, double> samples;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

const Metric* find(const std::vector<Metric>& metrics, std::string_view bucket,
                   std::string_view name) {
  for (const auto& metric : metrics) {
    if (metric.bucket != bucket) continue;
    const auto* tag = metric.tag("name");
    if (name.empty() ? tag == nullptr : tag && *tag == name) return &metric;
  }
  return nullptr;
}

// NaN when absent, which fails every check below.
double value(const std::vector<Metric>& metrics, std::string_view bucket, std::string_view name,
             std::string_view field) {
  if (const auto* metric = find(metrics, bucket, name)) {
    for (const auto& f : metric->values) {
      if (f.name == field) return to_double(f.value);
    }
  }
  return std::nan("");
}

}  // namespace

class TestLinuxLive : public QObject {
  Q_OBJECT

  QProcess exporter_;
  int port_ = 0;
  LinuxCollector collector_{LinuxOptions{}};
  std::vector<Metric> before_, after_;
  std::map<std::string, double> node_;

  // `ours` read before and after node_exporter's scrape, in `scale` units of
  // node's value; node's value must fall between them (± `slack` of ours).
  void check_between(const char* what, double ours_before, double ours_after, double node,
                     double scale, double slack = 0) {
    // NaN (a value missing on either side) fails both comparisons.
    const double low = std::min(ours_before, ours_after) - slack;
    const double high = std::max(ours_before, ours_after) + slack;
    const double theirs = node * scale;
    QVERIFY2(theirs >= low && theirs <= high,
             qPrintable(QString("%1: node_exporter %2, bucky3 %3..%4")
                            .arg(what)
                            .arg(theirs, 0, 'f', 2)
                            .arg(low, 0, 'f', 2)
                            .arg(high, 0, 'f', 2)));
  }

  void check_equal(const char* what, double ours, double node) {
    QVERIFY2(ours == node, qPrintable(QString("%1: node_exporter %2, bucky3 %3")
                                          .arg(what)
                                          .arg(node, 0, 'f', 2)
                                          .arg(ours, 0, 'f', 2)));
  }

  // NaN when node_exporter does not have it.
  double node(const std::string& key) {
    const auto it = node_.find(key);
    return it == node_.end() ? std::nan("") : it->second;
  }

 private slots:
  void initTestCase() {
    port_ = test::free_port(false);
    exporter_.setProgram("prometheus-node-exporter");
    exporter_.setArguments({"--no-collector.systemd", "--log.level=error",
                            QString("--web.listen-address=127.0.0.1:%1").arg(port_)});
    exporter_.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    exporter_.start();
    QVERIFY2(exporter_.waitForStarted(), "prometheus-node-exporter did not start");
    // Poll until it answers; how long that takes is not under test.
    std::string body;
    for (int attempt = 0; attempt < 600 && body.empty(); ++attempt) {
      QVERIFY2(exporter_.state() == QProcess::Running, "prometheus-node-exporter exited");
      body = http_get(port_, "/metrics");
      if (body.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    QVERIFY2(!body.empty(), "prometheus-node-exporter never answered");
    // The scrape sits between two collections, all within the same second.
    collector_.collect(0, before_);
    node_ = parse_exposition(http_get(port_, "/metrics"));
    collector_.collect(0, after_);
    QVERIFY(!node_.empty());
  }

  void cleanupTestCase() {
    if (exporter_.state() == QProcess::NotRunning) return;
    ::kill(static_cast<pid_t>(exporter_.processId()), SIGTERM);
    exporter_.waitForFinished(10000);
  }

  void memory() {
    check_equal("MemTotal", value(before_, "system_memory", "", "total_bytes"),
                node("node_memory_MemTotal_bytes"));
    // Five other builds share this machine: available memory moves by hundreds
    // of MiB between two reads.
    const double slack = 512.0 * 1024 * 1024;
    check_between("MemAvailable", value(before_, "system_memory", "", "available_bytes"),
                  value(after_, "system_memory", "", "available_bytes"),
                  node("node_memory_MemAvailable_bytes"), 1, slack);
    check_between("Cached", value(before_, "system_memory", "", "cached_bytes"),
                  value(after_, "system_memory", "", "cached_bytes"),
                  node("node_memory_Cached_bytes"), 1, slack);
    check_equal("SwapTotal", value(before_, "system_memory", "", "swap_total_bytes"),
                node("node_memory_SwapTotal_bytes"));
  }

  void memory_fields_data() {
    QTest::addColumn<QString>("field");
    QTest::addColumn<QString>("meminfo");
    QTest::newRow("free") << "free_bytes"
                          << "MemFree";
    QTest::newRow("buffers") << "buffers_bytes"
                             << "Buffers";
    QTest::newRow("shared") << "shared_bytes"
                            << "Shmem";
    QTest::newRow("slab") << "slab_bytes"
                          << "Slab";
    QTest::newRow("mapped") << "mapped_bytes"
                            << "Mapped";
    QTest::newRow("swap free") << "swap_free_bytes"
                               << "SwapFree";
    QTest::newRow("swap cached") << "swap_cached_bytes"
                                 << "SwapCached";
  }
  void memory_fields() {
    QFETCH(QString, field);
    QFETCH(QString, meminfo);
    const auto key = "node_memory_" + meminfo.toStdString() + "_bytes";
    check_between(key.c_str(), value(before_, "system_memory", "", field.toStdString()),
                  value(after_, "system_memory", "", field.toStdString()), node(key), 1,
                  512.0 * 1024 * 1024);
  }

  void cpu_data() {
    QTest::addColumn<QString>("field");
    QTest::addColumn<QString>("mode");
    QTest::newRow("user") << "user"
                          << "user";
    QTest::newRow("nice") << "nice"
                          << "nice";
    QTest::newRow("system") << "system"
                            << "system";
    QTest::newRow("idle") << "idle"
                          << "idle";
    QTest::newRow("wait") << "wait"
                          << "iowait";
    QTest::newRow("interrupt") << "interrupt"
                               << "irq";
    QTest::newRow("softirq") << "softirq"
                             << "softirq";
    QTest::newRow("steal") << "steal"
                           << "steal";
  }
  void cpu() {
    QFETCH(QString, field);
    QFETCH(QString, mode);
    // /proc/stat counts USER_HZ ticks; node_exporter reports seconds.
    const double ticks_per_second = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
    for (long cpu = 0; cpu < cpus; ++cpu) {
      const auto name = "cpu" + std::to_string(cpu);
      const auto key = "node_cpu_seconds_total{cpu=\"" + std::to_string(cpu) + "\",mode=\"" +
                       mode.toStdString() + "\"}";
      // One tick of slack: node_exporter's seconds are a float division.
      check_between(key.c_str(), value(before_, "system_cpu", name, field.toStdString()),
                    value(after_, "system_cpu", name, field.toStdString()), node(key),
                    ticks_per_second, 1);
    }
  }

  void activity() {
    check_between("context switches", value(before_, "system_activity", "", "switches"),
                  value(after_, "system_activity", "", "switches"),
                  node("node_context_switches_total"), 1);
    check_between("forks", value(before_, "system_activity", "", "forks"),
                  value(after_, "system_activity", "", "forks"), node("node_forks_total"), 1);
    check_between("interrupts", value(before_, "system_activity", "", "interrupts"),
                  value(after_, "system_activity", "", "interrupts"), node("node_intr_total"), 1);
    // The kernel refreshes the load every 5 s: node's value is one of ours.
    check_between("load1", value(before_, "system_activity", "", "load"),
                  value(after_, "system_activity", "", "load"), node("node_load1"), 1);
    check_between("load15", value(before_, "system_activity", "", "load15"),
                  value(after_, "system_activity", "", "load15"), node("node_load15"), 1);
    for (const char* field : {"pgpgin", "pgpgout", "pswpin", "pswpout"}) {
      const auto key = std::string("node_vmstat_") + field;
      check_between(key.c_str(), value(before_, "system_activity", "", field),
                    value(after_, "system_activity", "", field), node(key), 1);
    }
    check_between("major faults", value(before_, "system_activity", "", "pgmajfault"),
                  value(after_, "system_activity", "", "pgmajfault"),
                  node("node_vmstat_pgmajfault"), 1);
    check_between("open files", value(before_, "system_activity", "", "open_files"),
                  value(after_, "system_activity", "", "open_files"), node("node_filefd_allocated"),
                  1, 1000);
    check_equal("max files", value(before_, "system_activity", "", "max_files"),
                node("node_filefd_maximum"));
  }

  void network() {
    int compared = 0;
    for (const auto& metric : before_) {
      if (metric.bucket != "system_interface") continue;
      const auto& name = *metric.tag("name");
      const auto received = "node_network_receive_bytes_total{device=\"" + name + "\"}";
      if (!node_.contains(received)) continue;  // node_exporter leaves out lo
      check_between(received.c_str(), value(before_, "system_interface", name, "rx_bytes"),
                    value(after_, "system_interface", name, "rx_bytes"), node(received), 1);
      const auto sent = "node_network_transmit_packets_total{device=\"" + name + "\"}";
      check_between(sent.c_str(), value(before_, "system_interface", name, "tx_packets"),
                    value(after_, "system_interface", name, "tx_packets"), node(sent), 1);
      ++compared;
    }
    QVERIFY2(compared > 0, "no interface known to both");
    check_between("Tcp InSegs", value(before_, "system_protocol", "tcp", "rx_packets"),
                  value(after_, "system_protocol", "tcp", "rx_packets"),
                  node("node_netstat_Tcp_InSegs"), 1);
    check_between("Tcp ActiveOpens", value(before_, "system_protocol", "tcp", "tx_opens"),
                  value(after_, "system_protocol", "tcp", "tx_opens"),
                  node("node_netstat_Tcp_ActiveOpens"), 1);
    check_between("IpExt InOctets", value(before_, "system_protocol", "ip", "rx_bytes"),
                  value(after_, "system_protocol", "ip", "rx_bytes"),
                  node("node_netstat_IpExt_InOctets"), 1);
    check_between("Udp InDatagrams", value(before_, "system_protocol", "udp", "rx_packets"),
                  value(after_, "system_protocol", "udp", "rx_packets"),
                  node("node_netstat_Udp_InDatagrams"), 1);
    check_between("Ip6 InOctets", value(before_, "system_protocol", "ip6", "rx_bytes"),
                  value(after_, "system_protocol", "ip6", "rx_bytes"),
                  node("node_netstat_Ip6_InOctets"), 1);
  }

  void disks() {
    int compared = 0;
    for (const auto& metric : before_) {
      if (metric.bucket != "system_disk") continue;
      const auto& name = *metric.tag("name");
      const auto key = "node_disk_read_bytes_total{device=\"" + name + "\"}";
      if (!node_.contains(key)) continue;  // node_exporter drops some devices
      check_between(key.c_str(), value(before_, "system_disk", name, "read_bytes"),
                    value(after_, "system_disk", name, "read_bytes"), node(key), 1);
      const auto written = "node_disk_written_bytes_total{device=\"" + name + "\"}";
      check_between(written.c_str(), value(before_, "system_disk", name, "write_bytes"),
                    value(after_, "system_disk", name, "write_bytes"), node(written), 1);
      ++compared;
    }
    QVERIFY2(compared > 0, "no disk known to both");
  }

  void filesystems() {
    int compared = 0;
    for (const auto& metric : before_) {
      if (metric.bucket != "system_filesystem") continue;
      const auto key = "node_filesystem_size_bytes{device=\"" + *metric.tag("device") +
                       "\",fstype=\"" + *metric.tag("type") + "\",mountpoint=\"" +
                       *metric.tag("name") + "\"}";
      if (!node_.contains(key)) continue;
      check_equal(key.c_str(),
                  value(before_, "system_filesystem", *metric.tag("name"), "total_bytes"),
                  node(key));
      ++compared;
    }
    QVERIFY2(compared > 0, "no filesystem known to both");
  }

  void pressure() {
    if (!find(before_, "system_pressure", "cpu")) QSKIP("this kernel has no /proc/pressure");
    // Microseconds here, seconds there.
    check_between("cpu some total", value(before_, "system_pressure", "cpu", "some_total"),
                  value(after_, "system_pressure", "cpu", "some_total"),
                  node("node_pressure_cpu_waiting_seconds_total"), 1e6, 1);
    check_between("io full total", value(before_, "system_pressure", "io", "full_total"),
                  value(after_, "system_pressure", "io", "full_total"),
                  node("node_pressure_io_stalled_seconds_total"), 1e6, 1);
  }
};

QTEST_GUILESS_MAIN(TestLinuxLive)
#include "test_linux_live.moc"
