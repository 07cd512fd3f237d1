// tests/test_segment.cpp — destination segments in /dev/shm: names, modes, layout
// checks on open, read-only mappings that fault on write, and the doorbell.
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <QtTest>
#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include "shm/health.h"
#include "shm/layout.h"
#include "shm/segment.h"
#include "tests/support/shm_access.h"

using namespace bucky3::shm;
using namespace std::chrono_literals;

namespace {

// Fixed at start-up: forked children must name the same segments as their parent.
const std::string& test_instance() {
  static const std::string instance = "test_segment_" + std::to_string(getpid());
  return instance;
}

SegmentOptions ring_of(std::uint64_t bytes) {
  SegmentOptions options;
  options.ring_size_bytes = bytes;
  return options;
}

std::string shm_path(const std::string& name) {
  return "/dev/shm/" + name;
}

mode_t file_mode(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 0777;
}

gid_t file_gid(const std::string& path) {
  struct stat st {};
  stat(path.c_str(), &st);
  return st.st_gid;
}

// Overwrites bytes of a segment file as a foreign writer would.
void poke(const std::string& path, std::size_t offset, const void* bytes, std::size_t size) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(static_cast<const char*>(bytes), static_cast<std::streamsize>(size));
}

QString open_error(const std::string& instance, const std::string& destination) {
  try {
    DestinationSegment::open(instance, destination, Access::read_only);
  } catch (const ShmError& e) {
    return QString::fromUtf8(e.what());
  }
  return {};
}

}  // namespace

class TestSegment : public QObject {
  Q_OBJECT
 private slots:
  void cleanup();
  void names_the_file();
  void creates_with_rings_per_source();
  void replaces_a_stale_segment();
  void mode_is_0600_by_default();
  void mode_is_0640_with_group();
  void unknown_group_is_an_error();
  void rejects_bad_names_data();
  void rejects_bad_names();
  void refuses_foreign_segments_data();
  void refuses_foreign_segments();
  void refuses_a_health_block();
  void read_only_mapping_faults_on_write();
  void read_only_cannot_make_a_writer_or_reader();
  void survives_a_move();
  void wait_returns_at_once_with_data();
  void wait_times_out_when_idle();
  void producer_in_another_process_wakes_the_consumer();
  void read_only_wait_sees_a_new_record();
  void remove_is_quiet_when_absent();
};

void TestSegment::cleanup() {
  DestinationSegment::remove(test_instance(), "dest");
  HealthBlock::remove(test_instance());
}

void TestSegment::names_the_file() {
  QCOMPARE(segment_name("default", "prometheus_exporter"),
           std::string("bucky3.default.prometheus_exporter"));
  QCOMPARE(segment_name("a", "health"), std::string("bucky3.a.health"));
}

void TestSegment::creates_with_rings_per_source() {
  auto segment = DestinationSegment::create(test_instance(), "dest", {"statsd", "linux"}, {});
  QVERIFY(QFile::exists(QString::fromStdString(shm_path(segment_name(test_instance(), "dest")))));
  QCOMPARE(segment.destination(), std::string_view("dest"));
  QCOMPARE(segment.ring_count(), std::size_t{2});
  QCOMPARE(segment.ring_capacity(), std::uint64_t{8 << 20});
  QCOMPARE(segment.source_name(1), std::string_view("linux"));
  QCOMPARE(segment.ring_index("linux"), std::optional<std::size_t>(1));
  QCOMPARE(segment.ring_index("docker"), std::optional<std::size_t>());

  auto opened = DestinationSegment::open(test_instance(), "dest", Access::read_only);
  QCOMPARE(opened.ring_count(), std::size_t{2});
  QCOMPARE(opened.source_name(0), std::string_view("statsd"));
  const auto stats = opened.ring_stats(0);
  QCOMPARE(stats.capacity, std::uint64_t{8 << 20});
  QCOMPARE(stats.write_pos, std::uint64_t{0});
  QVERIFY_EXCEPTION_THROWN(opened.ring_stats(2), ShmError);
}

void TestSegment::replaces_a_stale_segment() {
  {
    auto stale = DestinationSegment::create(test_instance(), "dest", {"a"}, ring_of(4096));
    RingWriter writer(stale, 0);
    const std::byte record[16]{};
    QVERIFY(writer.try_write(record));
  }
  auto fresh = DestinationSegment::create(test_instance(), "dest", {"a", "b"}, ring_of(8192));
  auto opened = DestinationSegment::open(test_instance(), "dest", Access::read_write);
  QCOMPARE(opened.ring_count(), std::size_t{2});
  QCOMPARE(opened.ring_capacity(), std::uint64_t{8192});
  QCOMPARE(opened.ring_stats(0).write_pos, std::uint64_t{0});
}

void TestSegment::mode_is_0600_by_default() {
  const auto old_umask = umask(0);  // the mode must not depend on the umask
  auto segment = DestinationSegment::create(test_instance(), "dest", {"a"}, {});
  umask(old_umask);
  QCOMPARE(file_mode(shm_path(segment.name())), mode_t(0600));
  auto health = HealthBlock::create(test_instance(), {{"statsd", "statsd_server"}}, std::nullopt);
  QCOMPARE(file_mode(shm_path(segment_name(test_instance(), "health"))), mode_t(0600));
}

void TestSegment::mode_is_0640_with_group() {
  const auto* group = getgrgid(getgid());
  QVERIFY(group != nullptr);
  SegmentOptions options;
  options.shm_group = group->gr_name;
  auto segment = DestinationSegment::create(test_instance(), "dest", {"a"}, options);
  QCOMPARE(file_mode(shm_path(segment.name())), mode_t(0640));
  QCOMPARE(file_gid(shm_path(segment.name())), getgid());
  auto health = HealthBlock::create(test_instance(), {{"statsd", "statsd_server"}}, group->gr_name);
  QCOMPARE(file_mode(shm_path(segment_name(test_instance(), "health"))), mode_t(0640));
}

void TestSegment::unknown_group_is_an_error() {
  SegmentOptions options;
  options.shm_group = "no_such_group_bucky3";
  try {
    DestinationSegment::create(test_instance(), "dest", {"a"}, options);
    QFAIL("created with an unknown group");
  } catch (const ShmError& e) {
    QVERIFY2(std::strstr(e.what(), "no_such_group_bucky3"), e.what());
  }
}

void TestSegment::rejects_bad_names_data() {
  QTest::addColumn<QString>("destination");
  QTest::addColumn<QString>("source");
  QTest::addColumn<qulonglong>("ring_size");
  QTest::newRow("empty destination") << ""
                                     << "a" << qulonglong(4096);
  QTest::newRow("slash") << "a/b"
                         << "a" << qulonglong(4096);
  QTest::newRow("long source") << "dest" << QString(64, 'x') << qulonglong(4096);
  QTest::newRow("tiny ring") << "dest"
                             << "a" << qulonglong(100);
}

void TestSegment::rejects_bad_names() {
  QFETCH(QString, destination);
  QFETCH(QString, source);
  QFETCH(qulonglong, ring_size);
  QVERIFY_EXCEPTION_THROWN(DestinationSegment::create(test_instance(), destination.toStdString(),
                                                      {source.toStdString()}, ring_of(ring_size)),
                           ShmError);
}

void TestSegment::refuses_foreign_segments_data() {
  QTest::addColumn<int>("offset");
  QTest::addColumn<QByteArray>("bytes");
  QTest::addColumn<QString>("message");
  const std::uint32_t version = 3;
  QTest::newRow("bad magic") << 0 << QByteArray("XXXXXXXX") << "bad magic";
  QTest::newRow("not initialised") << 0 << QByteArray(8, '\0') << "not initialised";
  QTest::newRow("layout version") << 8 << QByteArray(reinterpret_cast<const char*>(&version), 4)
                                  << "layout version 3, this build reads 1";
  QTest::newRow("size") << 16 << QByteArray("\x01\x02\x03\x04", 4) << "truncated or damaged";
}

void TestSegment::refuses_foreign_segments() {
  QFETCH(int, offset);
  QFETCH(QByteArray, bytes);
  QFETCH(QString, message);
  auto segment = DestinationSegment::create(test_instance(), "dest", {"a"}, ring_of(4096));
  poke(shm_path(segment.name()), offset, bytes.constData(), bytes.size());
  const auto error = open_error(test_instance(), "dest");
  QVERIFY2(error.contains(message), qPrintable(error));
  QVERIFY2(error.contains(QString::fromStdString(segment.name())), qPrintable(error));
}

void TestSegment::refuses_a_health_block() {
  auto health = HealthBlock::create(test_instance(), {{"statsd", "statsd_server"}}, std::nullopt);
  const auto error = open_error(test_instance(), "health");
  QVERIFY2(error.contains("is a health block, not a destination segment"), qPrintable(error));
  QVERIFY(open_error(test_instance(), "absent").contains("cannot open"));
  auto segment = DestinationSegment::create(test_instance(), "dest", {"a"}, ring_of(4096));
  // And the other way round: a destination segment is no health block.
  std::rename(shm_path(segment.name()).c_str(),
              shm_path(segment_name(test_instance() + "x", "health")).c_str());
  try {
    HealthBlock::open(test_instance() + "x", Access::read_only);
    QFAIL("opened a destination segment as a health block");
  } catch (const ShmError& e) {
    QVERIFY2(std::strstr(e.what(), "is a destination segment, not a health block"), e.what());
  }
  HealthBlock::remove(test_instance() + "x");
}

void TestSegment::read_only_mapping_faults_on_write() {
  auto segment = DestinationSegment::create(test_instance(), "dest", {"a"}, ring_of(4096));
  const pid_t child = fork();
  if (child == 0) {
    // In the child: a write through the read-only mapping must kill us with SIGSEGV.
    // (ASan would catch SIGSEGV itself; CMake sets ASAN_OPTIONS=handle_segv=0 for this test.)
    signal(SIGSEGV, SIG_DFL);
    try {
      auto observer = DestinationSegment::open(test_instance(), "dest", Access::read_only);
      SegmentTestAccess::ring_header(observer, 0).write_pos.store(99, std::memory_order_relaxed);
    } catch (...) {
      _exit(3);
    }
    _exit(0);
  }
  int status = 0;
  QCOMPARE(waitpid(child, &status, 0), child);
  QVERIFY2(WIFSIGNALED(status), "the write through a read-only mapping did not fault");
  QCOMPARE(WTERMSIG(status), SIGSEGV);
  QCOMPARE(segment.ring_stats(0).write_pos, std::uint64_t{0});
}

void TestSegment::read_only_cannot_make_a_writer_or_reader() {
  auto segment = DestinationSegment::create(test_instance(), "dest", {"a"}, ring_of(4096));
  auto observer = DestinationSegment::open(test_instance(), "dest", Access::read_only);
  QVERIFY_EXCEPTION_THROWN(RingWriter(observer, 0), ShmError);
  QVERIFY_EXCEPTION_THROWN(RingReader(observer, 0), ShmError);
  RingObserver cursor(observer, 0);
  std::vector<std::byte> copy;
  QCOMPARE(cursor.next(copy), RingObserver::Result::none);
}

void TestSegment::survives_a_move() {
  auto first = DestinationSegment::create(test_instance(), "dest", {"a"}, ring_of(4096));
  RingWriter writer(first, 0);
  DestinationSegment moved = std::move(first);
  const std::byte record[3]{std::byte{1}, std::byte{2}, std::byte{3}};
  QVERIFY(writer.try_write(record));
  RingReader reader(moved, 0);
  const auto peeked = reader.peek();
  QVERIFY(peeked);
  QCOMPARE(peeked->size(), std::size_t{3});
}

void TestSegment::wait_returns_at_once_with_data() {
  auto segment = DestinationSegment::create(test_instance(), "dest", {"a", "b"}, ring_of(4096));
  RingWriter writer(segment, 1);
  const std::byte record[8]{};
  QVERIFY(writer.try_write(record));
  // Nobody slept, so the producer did not ring (no syscall on the hot path).
  QCOMPARE(SegmentTestAccess::layout(segment).doorbell.sequence.load(), std::uint32_t{0});
  // A 1-hour timeout: the test would hang (and time out) if it slept.
  QVERIFY(segment.wait_for_data(std::chrono::hours(1)));
}

void TestSegment::wait_times_out_when_idle() {
  auto segment = DestinationSegment::create(test_instance(), "dest", {"a"}, ring_of(4096));
  QVERIFY(!segment.wait_for_data(20ms));
  auto observer = DestinationSegment::open(test_instance(), "dest", Access::read_only);
  QVERIFY(!observer.wait_for_data(20ms));
}

void TestSegment::producer_in_another_process_wakes_the_consumer() {
  auto segment = DestinationSegment::create(test_instance(), "dest", {"a"}, ring_of(4096));
  int go[2];
  QCOMPARE(pipe(go), 0);
  const pid_t child = fork();
  if (child == 0) {
    close(go[1]);
    try {
      auto producer_side = DestinationSegment::open(test_instance(), "dest", Access::read_write);
      RingWriter writer(producer_side, 0);
      char byte;
      if (read(go[0], &byte, 1) != 1) _exit(2);
      // Wait until the consumer sleeps, so the wake-up path (not the early return) is tested.
      while (SegmentTestAccess::layout(producer_side).doorbell.sleepers.load() == 0) usleep(1000);
      const std::byte record[8]{};
      _exit(writer.try_write(record) ? 0 : 1);
    } catch (...) {
      _exit(3);
    }
  }
  close(go[0]);
  QCOMPARE(write(go[1], "g", 1), ssize_t{1});
  // Without the futex wake this would sleep for the whole hour and the test times out.
  QVERIFY(segment.wait_for_data(std::chrono::hours(1)));
  // The producer saw the sleeper and rang exactly once; the consumer is up again.
  QCOMPARE(SegmentTestAccess::layout(segment).doorbell.sequence.load(), std::uint32_t{1});
  QCOMPARE(SegmentTestAccess::layout(segment).doorbell.sleepers.load(), std::uint32_t{0});
  int status = 0;
  QCOMPARE(waitpid(child, &status, 0), child);
  QVERIFY(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(go[1]);
}

void TestSegment::read_only_wait_sees_a_new_record() {
  auto segment = DestinationSegment::create(test_instance(), "dest", {"a", "b"}, ring_of(4096));
  auto observer = DestinationSegment::open(test_instance(), "dest", Access::read_only);
  std::thread producer([&] {
    RingWriter writer(segment, 1);
    std::this_thread::sleep_for(10ms);  // usually after the observer started waiting
    const std::byte record[8]{};
    static_cast<void>(writer.try_write(record));  // checked below, by records_written
  });
  // Polls (it cannot ring the doorbell); the hour is never reached.
  QVERIFY(observer.wait_for_data(std::chrono::hours(1)));
  producer.join();
  QCOMPARE(observer.ring_stats(1).records_written, std::uint64_t{1});
}

void TestSegment::remove_is_quiet_when_absent() {
  DestinationSegment::remove(test_instance(), "never_created");
  HealthBlock::remove(test_instance() + "never");
}

QTEST_GUILESS_MAIN(TestSegment)
#include "test_segment.moc"
