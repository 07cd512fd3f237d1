// tests/test_linux_stats.cpp — the Linux collector on fixture /proc trees
// (tests/data/linux/*), compared with golden files, and its parsers and filters.
#include <sys/statvfs.h>
#include <unistd.h>

#include <QtTest>
#include <filesystem>
#include <sstream>

#include "collectors/linux/collector.h"
#include "collectors/linux/name_filter.h"
#include "collectors/linux/procfs.h"
#include "tests/support/fixture_tree.h"
#include "tests/support/stderr_capture.h"

using namespace bucky3;
using namespace bucky3::linux_stats;
using test::count_of;
using test::lines_of;
using test::number_text;
using test::read_text;
using test::replace_all;
using test::StderrCapture;
using test::write_text;
namespace fs = std::filesystem;

namespace {

// Filesystem values of real temp dirs change while the test runs, so they print
// as "?" with their type; filesystem_values_are_statvfs checks them.
std::string serialize(const std::vector<Metric>& metrics) {
  return test::serialize(metrics,
                         [](const Metric& metric) { return metric.bucket == "system_filesystem"; });
}

// A fixture tree copied into a temp dir, with its mount table (mounts.in)
// pointed at real directories there: statvfs() ignores procfs_root.
struct Fixture {
  QTemporaryDir dir;
  fs::path root;
  fs::path proc;

  explicit Fixture(const std::string& name) {
    const fs::path source = test::fixture_data_dir("linux") / name;
    root = dir.path().toStdString();
    proc = root / "proc";
    fs::copy(source / "proc", proc, fs::copy_options::recursive);
    if (fs::exists(source / "mounts.in")) {
      const auto mounts = replace_all(read_text(source / "mounts.in"), "@ROOT@", root.string());
      std::istringstream lines(mounts);
      std::string device, mount_point;
      for (std::string line; std::getline(lines, line);) {
        std::istringstream fields(line);
        fields >> device >> mount_point;
        // "gone" stands for a mount point statvfs() cannot reach.
        if (mount_point.starts_with(root.string()) && !mount_point.ends_with("/gone")) {
          fs::create_directories(replace_all(mount_point, "\\040", " "));
        }
      }
      write_text(proc / "mounts", mounts);
    }
  }

  std::vector<Metric> collect(LinuxOptions options = {}) {
    options.procfs_root = proc.string();
    LinuxCollector collector(std::move(options));
    std::vector<Metric> out;
    collector.collect(0, out);
    return out;
  }

  std::string collect_text(LinuxOptions options = {}) {
    return replace_all(serialize(collect(std::move(options))), root.string(), "@ROOT@");
  }
};

std::vector<std::string> names_in(const std::vector<Metric>& metrics, std::string_view bucket) {
  std::vector<std::string> names;
  for (const auto& metric : metrics) {
    if (metric.bucket == bucket) names.push_back(*metric.tag("name"));
  }
  return names;
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

const Number* value_of(const Metric& metric, std::string_view field) {
  for (const auto& value : metric.values) {
    if (value.name == field) return &value.value;
  }
  return nullptr;
}

QStringList to_qt(const std::vector<std::string>& names) {
  QStringList out;
  for (const auto& name : names) out << QString::fromStdString(name);
  return out;
}

}  // namespace

class TestLinuxStats : public QObject {
  Q_OBJECT
 private slots:
  // Everything a fixture tree yields, compared line by line with its golden
  // file. BUCKY3_UPDATE_GOLDEN=1 rewrites the golden files instead (review the diff!).
  void matches_golden_output_data() {
    QTest::addColumn<QString>("fixture");
    QTest::newRow("this machine, Linux 6.18") << "debian12-6.18";
    QTest::newRow("Linux 2.6.18 layout") << "linux-2.6.18";
    QTest::newRow("Linux 4.19 diskstats") << "linux-4.19";
  }
  void matches_golden_output() {
    QFETCH(QString, fixture);
    Fixture tree(fixture.toStdString());
    const auto actual = tree.collect_text();
    const fs::path golden =
        test::fixture_data_dir("linux") / fixture.toStdString() / "expected.txt";
    const auto expected = test::golden_text(golden, actual);
    QVERIFY2(fs::exists(golden), golden.c_str());
    const auto actual_lines = lines_of(actual);
    const auto expected_lines = lines_of(expected);
    for (qsizetype i = 0; i < std::min(actual_lines.size(), expected_lines.size()); ++i) {
      QCOMPARE(actual_lines[i], expected_lines[i]);
    }
    QCOMPARE(actual_lines.size(), expected_lines.size());
  }

  // The golden files show filesystem values as "?": here they are checked
  // against statvfs() of the same directory (totals exactly).
  void filesystem_values_are_statvfs() {
    Fixture tree("debian12-6.18");
    const auto metrics = tree.collect();
    const auto mount_point = (tree.root / "mnt" / "root").string();
    const auto* metric = find(metrics, "system_filesystem", mount_point);
    QVERIFY(metric);
    QCOMPARE(*metric->tag("device"), std::string("/dev/vda"));  // the later of two mounts
    QCOMPARE(*metric->tag("type"), std::string("ext4"));
    struct statvfs stats {};
    QCOMPARE(::statvfs(mount_point.c_str(), &stats), 0);
    const auto unit = static_cast<std::int64_t>(stats.f_frsize);
    QCOMPARE(std::get<std::int64_t>(*value_of(*metric, "total_bytes")),
             static_cast<std::int64_t>(stats.f_blocks) * unit);
    QCOMPARE(std::get<std::int64_t>(*value_of(*metric, "total_inodes")),
             static_cast<std::int64_t>(stats.f_files));
    const auto free_bytes = std::get<std::int64_t>(*value_of(*metric, "free_bytes"));
    QVERIFY(free_bytes > 0);
    QVERIFY(free_bytes <= static_cast<std::int64_t>(stats.f_blocks) * unit);
    QVERIFY(find(metrics, "system_filesystem", tree.root.string() + "/mnt/with space"));
  }

  void filters_select_names_data() {
    QTest::addColumn<QString>("bucket");
    QTest::addColumn<QStringList>("whitelist");
    QTest::addColumn<QStringList>("blacklist");
    QTest::addColumn<bool>("defaults");
    QTest::addColumn<QStringList>("expected");
    const auto disk = QString("system_disk");
    const auto iface = QString("system_interface");
    const auto fs_ = QString("system_filesystem");
    const auto all_disks = QStringList{"loop0", "loop1", "loop2", "loop3", "loop4",
                                       "loop5", "loop6", "loop7", "vda",   "zram0"};
    QTest::newRow("disks: default blacklist")
        << disk << QStringList{} << QStringList{} << true << QStringList{"vda", "zram0"};
    QTest::newRow("disks: no defaults")
        << disk << QStringList{} << QStringList{} << false << all_disks;
    QTest::newRow("disks: own blacklist replaces the default")
        << disk << QStringList{} << QStringList{"zram\\d+"} << true
        << QStringList{"loop0", "loop1", "loop2", "loop3", "loop4",
                       "loop5", "loop6", "loop7", "vda"};
    QTest::newRow("disks: anchored")
        << disk << QStringList{"vd"} << QStringList{} << true << QStringList{};
    QTest::newRow("disks: whitelist ignores the blacklist")
        << disk << QStringList{"loop[12]", "vd."} << QStringList{"vda", "loop1"} << true
        << QStringList{"loop1", "loop2", "vda"};
    QTest::newRow("interfaces: all by default") << iface << QStringList{} << QStringList{} << true
                                                << QStringList{"lo", "ifb0", "ifb1", "eth0"};
    QTest::newRow("interfaces: blacklist")
        << iface << QStringList{} << QStringList{"lo", "ifb\\d"} << true << QStringList{"eth0"};
    QTest::newRow("interfaces: whitelist")
        << iface << QStringList{"eth.*|lo"} << QStringList{} << true << QStringList{"lo", "eth0"};
    QTest::newRow("filesystems: whitelist by type") << fs_ << QStringList{"xfs"} << QStringList{}
                                                    << true << QStringList{"@ROOT@/mnt/with space"};
    QTest::newRow("filesystems: no defaults")
        << fs_ << QStringList{} << QStringList{} << false
        << QStringList{"@ROOT@/mnt/dev",        "@ROOT@/mnt/shm", "@ROOT@/mnt/root",
                       "@ROOT@/mnt/with space", "@ROOT@/mnt/nfs", "@ROOT@/mnt/cifs",
                       "@ROOT@/mnt/sshfs",      "@ROOT@/mnt/snap"};
  }
  void filters_select_names() {
    QFETCH(QString, bucket);
    QFETCH(QStringList, whitelist);
    QFETCH(QStringList, blacklist);
    QFETCH(bool, defaults);
    QFETCH(QStringList, expected);
    std::vector<std::string> white, black;
    for (const auto& s : whitelist) white.push_back(s.toStdString());
    for (const auto& s : blacklist) black.push_back(s.toStdString());
    LinuxOptions options;
    options.use_default_blacklists = defaults;
    if (bucket == "system_disk") {
      options.disk_whitelist = white;
      options.disk_blacklist = black;
    } else if (bucket == "system_interface") {
      options.interface_whitelist = white;
      options.interface_blacklist = black;
    } else {
      options.filesystem_whitelist = white;
      options.filesystem_blacklist = black;
    }
    Fixture tree("debian12-6.18");
    auto names = names_in(tree.collect(options), bucket.toStdString());
    for (auto& name : names) name = replace_all(name, tree.root.string(), "@ROOT@");
    QCOMPARE(to_qt(names), expected);
  }

  void invalid_regex_throws() {
    LinuxOptions options;
    options.disk_whitelist = {"sd[a-"};
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, LinuxCollector{options});
  }

  void diskstats_layouts_data() {
    QTest::addColumn<QString>("line");
    QTest::addColumn<QStringList>("fields");
    const QStringList base{"read_ops",    "read_merged",  "read_sectors",  "read_time",
                           "write_ops",   "write_merged", "write_sectors", "write_time",
                           "in_progress", "io_time",      "weighted_time"};
    const QStringList discard{"discard_ops", "discard_merged", "discard_sectors", "discard_time"};
    const QStringList flush{"flush_ops", "flush_time"};
    QTest::newRow("14 fields (2.6.25-4.17)")
        << "8 0 sda 1 2 3 4 5 6 7 8 9 10 11" << base + QStringList{"read_bytes", "write_bytes"};
    QTest::newRow("18 fields (4.18-5.4)")
        << "8 0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15"
        << base + discard + QStringList{"read_bytes", "write_bytes", "discard_bytes"};
    QTest::newRow("20 fields (5.5+)")
        << "8 0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17"
        << base + discard + flush + QStringList{"read_bytes", "write_bytes", "discard_bytes"};
    QTest::newRow("7 fields (partition before 2.6.25)")
        << "8 1 sda1 1 2 3 4" << QStringList{"read_ops",      "read_sectors", "write_ops",
                                             "write_sectors", "read_bytes",   "write_bytes"};
  }
  void diskstats_layouts() {
    QFETCH(QString, line);
    QFETCH(QStringList, fields);
    NameFilter all;
    std::vector<Metric> out;
    parse_diskstats(line.toStdString(), all, out);
    QCOMPARE(out.size(), std::size_t{1});
    QStringList names;
    for (const auto& field : out[0].values) names << QString::fromStdString(field.name);
    QCOMPARE(names, fields);
    // read_sectors is the third column in the long layouts and the second in the old one.
    const std::int64_t read_sectors = line.startsWith("8 1 ") ? 2 : 3;
    QCOMPARE(std::get<std::int64_t>(*value_of(out[0], "read_bytes")), read_sectors * 512);
  }

  // Lines a parser must skip without emitting anything.
  void rejects_malformed_lines_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QByteArray>("text");
    QTest::newRow("diskstats: too few fields")
        << "diskstats" << QByteArray("8 0 sda 1 2 3 4 5 6\n");
    QTest::newRow("diskstats: not a number")
        << "diskstats" << QByteArray("8 0 sda 1 2 x 4 5 6 7 8 9 10 11\n");
    QTest::newRow("net/dev: header only")
        << "net/dev" << QByteArray("Inter-|   Receive\n face |bytes    packets\n");
    QTest::newRow("net/dev: 15 counters")
        << "net/dev" << QByteArray("eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n");
    QTest::newRow("net/dev: negative")
        << "net/dev" << QByteArray("eth0: -1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n");
    QTest::newRow("stat: cpu with text") << "stat" << QByteArray("cpu0 1 2 x 4\n");
    QTest::newRow("meminfo: no unit") << "meminfo" << QByteArray("MemTotal: 100\n");
    QTest::newRow("meminfo: pages") << "meminfo" << QByteArray("HugePages_Total: 0\n");
    QTest::newRow("loadavg: short") << "loadavg" << QByteArray("0.1 0.2 0.3\n");
    QTest::newRow("pressure: bad key")
        << "pressure" << QByteArray("some avg10=0.00 avg61=0.00 avg300=0.00 total=0\n");
    QTest::newRow("pressure: bad number")
        << "pressure" << QByteArray("some avg10=x avg60=0.00 avg300=0.00 total=0\n");
    QTest::newRow("snmp: values without names") << "snmp" << QByteArray("Ip: 1 2 3\n");
    QTest::newRow("snmp6: three columns") << "snmp6" << QByteArray("Ip6InReceives 1 2\n");
    QTest::newRow("empty") << "stat" << QByteArray("");
  }
  void rejects_malformed_lines() {
    QFETCH(QString, file);
    QFETCH(QByteArray, text);
    const std::string_view view(text.constData(), text.size());
    std::vector<Metric> metrics;
    std::vector<Field> fields;
    NameFilter all;
    ProtocolStats protocols;
    if (file == "diskstats") parse_diskstats(view, all, metrics);
    if (file == "net/dev") parse_net_dev(view, all, metrics);
    if (file == "stat") parse_stat(view, metrics, fields);
    if (file == "meminfo") parse_meminfo(view, fields);
    if (file == "loadavg") parse_loadavg(view, fields);
    if (file == "pressure") parse_pressure(view, "cpu", metrics);
    if (file == "snmp") protocols.parse_snmp(view);
    if (file == "snmp6") protocols.parse_snmp6(view);
    protocols.append_metrics(metrics);
    QCOMPARE(metrics.size(), std::size_t{0});
    QCOMPARE(fields.size(), std::size_t{0});
  }

  void mount_points_are_unescaped_and_deduplicated() {
    std::vector<MountEntry> entries;
    parse_mounts(
        "/dev/a /mnt/x\\040y ext4 rw 0 0\n"
        "/dev/b /data ext4 rw 0 0\n"
        "/dev/c /data xfs rw 0 0\n"
        "/dev/d back\\134slash ext4 rw 0 0\n"
        "/dev/e /a\\134b ext4 rw 0 0\n"
        "/dev/f /bad\\9 ext4 rw 0 0\n",
        entries);
    QCOMPARE(entries.size(), std::size_t{4});
    QCOMPARE(entries[0].mount_point, std::string("/mnt/x y"));
    QCOMPARE(entries[1].device, std::string("/dev/c"));
    QCOMPARE(entries[1].type, std::string("xfs"));
    QCOMPARE(entries[2].mount_point, std::string("/a\\b"));
    QCOMPARE(entries[3].mount_point, std::string("/bad\\9"));
  }

  // A missing file costs its metrics and one log line, not one per collection;
  // once it appears it is read, and its recovery logged.
  void missing_file_skips_its_group_and_logs_once() {
    Fixture tree("debian12-6.18");
    fs::remove(tree.proc / "meminfo");
    LinuxOptions options;
    options.procfs_root = tree.proc.string();
    LinuxCollector collector(options);
    std::vector<Metric> first, second, third;
    StderrCapture capture;
    collector.collect(0, first);
    collector.collect(0, second);
    QVERIFY(!find(first, "system_memory", ""));
    QVERIFY(find(first, "system_activity", ""));
    QCOMPARE(first.size(), second.size());
    fs::copy_file(test::fixture_data_dir("linux") / "debian12-6.18/proc/meminfo",
                  tree.proc / "meminfo");
    collector.collect(0, third);
    const auto log = capture.text();
    QCOMPARE(count_of(log, "meminfo"), 2);
    QCOMPARE(count_of(log, "cannot open"), 1);
    QCOMPARE(count_of(log, "readable again"), 1);
    QVERIFY(find(third, "system_memory", ""));
  }

  // A descriptor that fails to read (a directory where meminfo should be:
  // open() works, pread() fails with EISDIR) is closed and reopened at the
  // next collection; the failure is logged once.
  void unreadable_file_is_reopened() {
    Fixture tree("debian12-6.18");
    const auto meminfo = tree.proc / "meminfo";
    fs::rename(meminfo, tree.root / "meminfo.saved");
    fs::create_directory(meminfo);
    LinuxOptions options;
    options.procfs_root = tree.proc.string();
    LinuxCollector collector(options);
    std::vector<Metric> first, second, third;
    StderrCapture capture;
    collector.collect(0, first);
    collector.collect(0, second);
    fs::remove(meminfo);
    fs::rename(tree.root / "meminfo.saved", meminfo);
    collector.collect(0, third);
    const auto log = capture.text();
    QVERIFY(!find(first, "system_memory", ""));
    QVERIFY(!find(second, "system_memory", ""));
    QVERIFY(find(third, "system_memory", ""));
    QCOMPARE(count_of(log, "cannot read"), 1);
    QCOMPARE(count_of(log, "readable again"), 1);
  }

  void missing_tree_gives_nothing() {
    QTemporaryDir empty;
    LinuxOptions options;
    options.procfs_root = empty.path().toStdString() + "/proc";
    LinuxCollector collector(options);
    std::vector<Metric> out;
    StderrCapture capture;
    collector.collect(0, out);
    collector.collect(0, out);
    QCOMPARE(out.size(), std::size_t{0});
    // One line per file on the first collection only (15 files).
    QCOMPARE(count_of(capture.text(), "cannot open"), 15);
  }

  // Files stay open between collections; what the kernel (here: the test)
  // writes in place is what the next collection reads.
  void rereads_open_files() {
    Fixture tree("debian12-6.18");
    LinuxOptions options;
    options.procfs_root = tree.proc.string();
    LinuxCollector collector(options);
    std::vector<Metric> before, after;
    collector.collect(0, before);
    QCOMPARE(to_double(*value_of(*find(before, "system_activity", ""), "load")), 1.01);
    {
      std::fstream file(tree.proc / "loadavg", std::ios::in | std::ios::out | std::ios::binary);
      file << "2.5 ";  // same length as "1.01", same inode
    }
    collector.collect(0, after);
    QCOMPARE(to_double(*value_of(*find(after, "system_activity", ""), "load")), 2.5);
  }

  // Descriptors are opened by the first collection and reused by the next ones.
  void keeps_files_open() {
    Fixture tree("debian12-6.18");
    const auto open_fds = [] {
      return std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator{});
    };
    LinuxOptions options;
    options.procfs_root = tree.proc.string();
    LinuxCollector collector(options);
    const auto before = open_fds();
    std::vector<Metric> out;
    collector.collect(0, out);
    const auto after_first = open_fds();
    collector.collect(0, out);
    QCOMPARE(after_first - before, 15);  // every file of the tree
    QCOMPARE(open_fds(), after_first);
  }

  void parses_one_line_files_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<QString>("expected");
    QTest::newRow("loadavg") << "loadavg" << QByteArray("0.20 1.5 12.25 1/80 11206\n")
                             << "load=0.2,load5=1.5,load15=12.25";
    QTest::newRow("uptime") << "uptime" << QByteArray("350735.47 234388.90\n")
                            << "uptime=350735.47";
    // Before 2.6 freed handles stayed allocated and were counted in column 2.
    QTest::newRow("file-nr 2.4") << "file-nr" << QByteArray("1024 100 8192\n")
                                 << "open_files=924i,max_files=8192i";
    QTest::newRow("file-nr") << "file-nr" << QByteArray("664\t0\t2466160\n")
                             << "open_files=664i,max_files=2466160i";
    QTest::newRow("vmstat: order fixed")
        << "vmstat" << QByteArray("pgmajfault 5\npswpout 4\npgpgin 1\nnr_free_pages 9\n")
        << "pgpgin=1i,pswpout=4i,pgmajfault=5i";
    QTest::newRow("meminfo: kB only")
        << "meminfo" << QByteArray("MemTotal: 2 kB\nHugePages_Total: 3\nSwapFree: 1 kB\n")
        << "total_bytes=2048i,swap_free_bytes=1024i";
  }
  void parses_one_line_files() {
    QFETCH(QString, file);
    QFETCH(QByteArray, text);
    QFETCH(QString, expected);
    const std::string_view view(text.constData(), text.size());
    std::vector<Field> fields;
    if (file == "loadavg") parse_loadavg(view, fields);
    if (file == "uptime") parse_uptime(view, fields);
    if (file == "file-nr") parse_file_nr(view, fields);
    if (file == "vmstat") parse_vmstat(view, fields);
    if (file == "meminfo") parse_meminfo(view, fields);
    QStringList parts;
    for (const auto& field : fields) {
      parts << QString::fromStdString(field.name + "=" + number_text(field.value));
    }
    QCOMPARE(parts.join(','), expected);
  }

  // A file longer than the first read buffer (4 KiB) is read whole.
  void reads_files_larger_than_the_buffer() {
    Fixture tree("debian12-6.18");
    std::string diskstats;
    for (int i = 0; i < 500; ++i) {
      diskstats += "8 " + std::to_string(i) + " sd" + std::to_string(i) +
                   " 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n";
    }
    write_text(tree.proc / "diskstats", diskstats);
    const auto names = names_in(tree.collect(), "system_disk");
    QCOMPARE(names.size(), std::size_t{500});
    QCOMPARE(names.back(), std::string("sd499"));
  }
};

QTEST_GUILESS_MAIN(TestLinuxStats)
#include "test_linux_stats.moc"
