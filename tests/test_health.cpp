// tests/test_health.cpp — the health block: slots, supervisor and module fields,
// the error ring, layout checks, and snapshots taken while another process writes.
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <QtTest>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <new>

#include "shm/health.h"

using namespace bucky3::shm;

namespace {

const std::string& test_instance() {
  static const std::string instance = "test_health_" + std::to_string(getpid());
  return instance;
}

std::vector<HealthBlock::SlotSpec> modules() {
  return {{"statsd", "statsd_server"}, {"linux", "linux_stats"}, {"prom", "prometheus_exporter"}};
}

int wait_exit(pid_t child) {
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// What race_a_writer saw.
struct Race {
  bool writer_alive = true;  // false: it died before it wrote anything
  int exit_code = -1;        // the writer's, once told to stop
  int while_writing = 0, checked = 0, torn = 0, inconsistent = 0;
};

// Forks a writer that calls write(block, i) on its own mapping for i = 1, 2, ...
// without pause until told to stop, and takes snapshots of `slot` until 20,000 were
// taken while it wrote (`started`: no timing assumption). A torn snapshot (the
// reader gave up after its retries) is only counted; `mixed` counts what is wrong
// in every other one.
template <class Write, class Started, class Mixed>
Race race_a_writer(const HealthBlock& block, std::size_t slot, Write write, Started started,
                   Mixed mixed) {
  void* shared = mmap(nullptr, sizeof(std::atomic<int>), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) qFatal("mmap: %s", std::strerror(errno));
  auto* stop = new (shared) std::atomic<int>(0);
  const pid_t writer = fork();
  if (writer == 0) {
    try {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      auto mine = HealthBlock::open(test_instance(), Access::read_write);
      // acquire: pairs with the reader's release store; nothing else is ordered by it.
      for (int i = 1; i < 1'000'000'000 && stop->load(std::memory_order_acquire) == 0; ++i) {
        write(mine, i);
      }
      _exit(0);
    } catch (...) {
      _exit(3);
    }
  }
  Race race;
  while (race.while_writing < 20000) {
    const auto snap = block.snapshot(slot);
    const bool writing = started(snap);
    if (writing) ++race.while_writing;  // the writer started and writes until told to stop
    if (snap.torn) {
      ++race.torn;
    } else {
      ++race.checked;
      race.inconsistent += mixed(snap);
    }
    if (!writing && waitpid(writer, nullptr, WNOHANG) == writer) {
      race.writer_alive = false;
      break;
    }
  }
  if (race.writer_alive) {
    // release: pairs with the writer's acquire load.
    stop->store(1, std::memory_order_release);
    race.exit_code = wait_exit(writer);
  }
  munmap(shared, sizeof(std::atomic<int>));
  return race;
}

}  // namespace

class TestHealth : public QObject {
  Q_OBJECT
 private slots:
  void cleanup();
  void creates_one_slot_per_module();
  void supervisor_fields();
  void counters_add_and_set_data();
  void counters_add_and_set();
  void counter_names();
  void keeps_the_last_16_errors();
  void cuts_long_errors_data();
  void cuts_long_errors();
  void module_in_another_process_writes_its_slot();
  void snapshots_are_consistent_while_written();
  void writer_killed_mid_update_does_not_wedge_readers();
  void read_only_open_sees_updates();
  void refuses_other_layouts();
  void named_values_round_trip();
  void more_than_64_values_say_how_many_were_offered();
  void values_consistent_while_written();
  void values_left_mid_update_read_as_torn();
  void restarted_writer_ends_a_dead_writers_sections();
};

void TestHealth::cleanup() {
  HealthBlock::remove(test_instance());
}

void TestHealth::creates_one_slot_per_module() {
  auto block = HealthBlock::create(test_instance(), modules(), std::nullopt);
  QCOMPARE(block.slot_count(), std::size_t{3});
  QCOMPARE(block.find("linux"), std::optional<std::size_t>(1));
  QCOMPARE(block.find("docker"), std::optional<std::size_t>());
  const auto snap = block.snapshot(2);
  QCOMPARE(snap.name, std::string("prom"));
  QCOMPARE(snap.type, std::string("prometheus_exporter"));
  QCOMPARE(snap.state, ModuleState::empty);
  QCOMPARE(snap.pid, 0);
  QVERIFY(snap.errors.empty());
  for (auto c : snap.counters) QCOMPARE(c, std::uint64_t{0});
  QVERIFY_EXCEPTION_THROWN(block.snapshot(3), ShmError);
}

void TestHealth::supervisor_fields() {
  auto block = HealthBlock::create(test_instance(), modules(), std::nullopt);
  block.set_process(1, 4242, ModuleState::running, 1764100000123, 2);
  block.set_state(1, ModuleState::backoff);
  const auto snap = block.snapshot(1);
  QCOMPARE(snap.pid, 4242);
  QCOMPARE(snap.state, ModuleState::backoff);
  QCOMPARE(snap.start_time_ms, std::int64_t{1764100000123});
  QCOMPARE(snap.restarts, std::uint32_t{2});
  QCOMPARE(block.snapshot(0).pid, 0);  // other slots untouched
  QCOMPARE(to_string(ModuleState::backoff), std::string_view("backoff"));
}

void TestHealth::counters_add_and_set_data() {
  QTest::addColumn<int>("counter");
  for (std::size_t i = 0; i < counter_count; ++i) {
    QTest::newRow(std::string(to_string(Counter(i))).c_str()) << int(i);
  }
}

void TestHealth::counters_add_and_set() {
  QFETCH(int, counter);
  auto block = HealthBlock::create(test_instance(), modules(), std::nullopt);
  const auto c = Counter(counter);
  block.add(0, c, 5);
  block.add(0, c, 7);
  QCOMPARE(block.snapshot(0).counters[counter], std::uint64_t{12});
  block.set(0, c, 3);
  QCOMPARE(block.snapshot(0).counters[counter], std::uint64_t{3});
  // Neighbours stay zero: each counter has its own word.
  for (std::size_t i = 0; i < counter_count; ++i) {
    if (int(i) != counter) QCOMPARE(block.snapshot(0).counters[i], std::uint64_t{0});
  }
  block.heartbeat(0, 99);
  QCOMPARE(block.snapshot(0).last_heartbeat_ms, std::int64_t{99});
}

void TestHealth::counter_names() {
  QCOMPARE(to_string(Counter::lines_in), std::string_view("lines_in"));
  QCOMPARE(to_string(Counter::drops_ring_full), std::string_view("drops_ring_full"));
  QCOMPARE(to_string(Counter::series), std::string_view("series"));
}

void TestHealth::keeps_the_last_16_errors() {
  auto block = HealthBlock::create(test_instance(), modules(), std::nullopt);
  for (int i = 0; i < 20; ++i) {
    block.record_error(0, 1000 + i, "value is not a number", "line " + std::to_string(i));
  }
  const auto snap = block.snapshot(0);
  QCOMPARE(snap.errors.size(), std::size_t{16});
  QCOMPARE(snap.errors_total, std::uint64_t{20});
  QCOMPARE(snap.errors.front().text, std::string("line 4"));  // oldest first
  QCOMPARE(snap.errors.front().time_ms, std::int64_t{1004});
  QCOMPARE(snap.errors.back().text, std::string("line 19"));
  QCOMPARE(snap.errors.back().reason, std::string("value is not a number"));
  QVERIFY(block.snapshot(1).errors.empty());
}

void TestHealth::cuts_long_errors_data() {
  QTest::addColumn<QByteArray>("text");
  QTest::addColumn<QByteArray>("kept");
  QTest::newRow("short") << QByteArray("abc") << QByteArray("abc");
  QTest::newRow("exactly 200") << QByteArray(200, 'x') << QByteArray(200, 'x');
  QTest::newRow("201") << QByteArray(201, 'x') << QByteArray(200, 'x');
  // 199 ASCII bytes then a 2-byte "é": the cut does not split it.
  QTest::newRow("utf-8 boundary") << QByteArray(199, 'x') + QByteArray("\xc3\xa9zz")
                                  << QByteArray(199, 'x');
  QTest::newRow("NUL inside") << QByteArray("a\0b", 3) << QByteArray("a\0b", 3);
}

void TestHealth::cuts_long_errors() {
  QFETCH(QByteArray, text);
  QFETCH(QByteArray, kept);
  auto block = HealthBlock::create(test_instance(), modules(), std::nullopt);
  block.record_error(0, 1, std::string(100, 'r'), std::string_view(text.constData(), text.size()));
  const auto snap = block.snapshot(0);
  QCOMPARE(snap.errors.size(), std::size_t{1});
  QCOMPARE(QByteArray::fromStdString(snap.errors[0].text), kept);
  QCOMPARE(snap.errors[0].reason, std::string(63, 'r'));
}

void TestHealth::module_in_another_process_writes_its_slot() {
  auto block = HealthBlock::create(test_instance(), modules(), std::nullopt);
  const pid_t child = fork();
  if (child == 0) {
    try {
      auto mine = HealthBlock::open(test_instance(), Access::read_write);
      const auto slot = *mine.find("linux");
      mine.heartbeat(slot, 555);
      mine.add(slot, Counter::metrics_out, 300);
      mine.record_error(slot, 556, "cannot read", "/proc/stat: permission denied");
      _exit(0);
    } catch (...) {
      _exit(3);
    }
  }
  QCOMPARE(wait_exit(child), 0);
  const auto snap = block.snapshot(1);
  QCOMPARE(snap.last_heartbeat_ms, std::int64_t{555});
  QCOMPARE(snap.counters[std::size_t(Counter::metrics_out)], std::uint64_t{300});
  QCOMPARE(snap.errors.size(), std::size_t{1});
  QCOMPARE(snap.errors[0].text, std::string("/proc/stat: permission denied"));
}

void TestHealth::snapshots_are_consistent_while_written() {
  // A writer process stores errors whose reason and text carry the same number,
  // and process facts that agree with each other, without pause, until the
  // reader has taken 20,000 snapshots while it was writing (no timing assumption:
  // the writer runs until told to stop). A snapshot not marked torn never shows
  // a mix; a torn one (the reader gave up after its retries) is only counted.
  auto block = HealthBlock::create(test_instance(), modules(), std::nullopt);
  const auto write = [](HealthBlock& mine, int i) {
    const auto n = std::to_string(i);
    mine.record_error(0, i, "reason " + n, "text " + n + std::string(i % 150, '.') + n);
    mine.set_process(0, i, ModuleState::running, i, static_cast<std::uint32_t>(i));
  };
  const auto mixed = [](const HealthSnapshot& snap) {
    int bad = 0;
    if (snap.pid != snap.start_time_ms || std::uint32_t(snap.pid) != snap.restarts) ++bad;
    std::int64_t previous = 0;
    for (const auto& e : snap.errors) {
      const auto n = std::to_string(e.time_ms);
      if (e.reason != "reason " + n ||
          e.text != "text " + n + std::string(e.time_ms % 150, '.') + n || e.time_ms <= previous) {
        ++bad;
      }
      previous = e.time_ms;
    }
    return bad;
  };
  const auto race = race_a_writer(
      block, 0, write, [](const HealthSnapshot& snap) { return snap.pid > 0; }, mixed);
  QVERIFY(race.writer_alive);  // else it died before writing
  QCOMPARE(race.exit_code, 0);
  const auto last = block.snapshot(0);
  qInfo("%d snapshots while written: %d checked, %d torn; last write %d", race.while_writing,
        race.checked, race.torn, last.pid);
  QVERIFY(!last.torn);
  QCOMPARE(mixed(last), 0);
  QVERIFY(last.pid > 0);
  QCOMPARE(last.errors_total, std::uint64_t(last.pid));
  QVERIFY(race.checked > 0);
  QCOMPARE(race.inconsistent, 0);
}

void TestHealth::writer_killed_mid_update_does_not_wedge_readers() {
  // A module killed while it records an error may leave the seqlock odd; the
  // reader must still return, and the restarted module's next error must be
  // read back whole.
  auto block = HealthBlock::create(test_instance(), modules(), std::nullopt);
  for (int round = 0; round < 10; ++round) {
    const pid_t child = fork();
    if (child == 0) {
      auto mine = HealthBlock::open(test_instance(), Access::read_write);
      for (std::int64_t i = 0;; ++i) mine.record_error(0, i, "flood", std::string(150, 'f'));
    }
    usleep(1000 + round * 300);
    kill(child, SIGKILL);
    QCOMPARE(wait_exit(child), 128 + SIGKILL);
    (void)block.snapshot(0);  // returns, whatever the sequence was left at
    // The restarted module attaches: readers see whole errors at once, before it
    // records anything (the entry the dead writer was filling says "lost").
    auto restarted = HealthBlock::open(test_instance(), Access::read_write);
    restarted.attach_writer(0);
    auto snap = block.snapshot(0);
    QVERIFY(!snap.torn);
    for (const auto& error : snap.errors) {
      if (error.reason == "lost" || error.reason == "restarted") continue;  // earlier rounds'
      QCOMPARE(error.reason, std::string("flood"));
      QCOMPARE(error.text, std::string(150, 'f'));
    }
    restarted.record_error(0, -round, "restarted", "round " + std::to_string(round));
    snap = block.snapshot(0);
    QVERIFY(!snap.torn);
    QCOMPARE(snap.errors.back().reason, std::string("restarted"));
    QCOMPARE(snap.errors.back().text, "round " + std::to_string(round));
    QCOMPARE(snap.errors.back().time_ms, std::int64_t{-round});
  }
}

void TestHealth::read_only_open_sees_updates() {
  auto block = HealthBlock::create(test_instance(), modules(), std::nullopt);
  auto observer = HealthBlock::open(test_instance(), Access::read_only);
  QCOMPARE(observer.slot_count(), std::size_t{3});
  block.add(2, Counter::bytes_out, 1234);
  block.set_process(2, 77, ModuleState::stopping, 5, 0);
  const auto snap = observer.snapshot(2);
  QCOMPARE(snap.counters[std::size_t(Counter::bytes_out)], std::uint64_t{1234});
  QCOMPARE(snap.state, ModuleState::stopping);
}

void TestHealth::refuses_other_layouts() {
  auto block = HealthBlock::create(test_instance(), modules(), std::nullopt);
  {
    FILE* f = std::fopen(("/dev/shm/" + segment_name(test_instance(), "health")).c_str(), "r+b");
    QVERIFY(f);
    const std::uint32_t version = 9;
    std::fseek(f, 8, SEEK_SET);
    std::fwrite(&version, 4, 1, f);
    std::fclose(f);
  }
  try {
    HealthBlock::open(test_instance(), Access::read_only);
    QFAIL("opened a health block of another layout");
  } catch (const ShmError& e) {
    QVERIFY2(std::strstr(e.what(), "layout version 9, this build reads 3"), e.what());
    QVERIFY2(std::strstr(e.what(), "health"), e.what());
  }
  HealthBlock::remove(test_instance());
  QVERIFY_EXCEPTION_THROWN(HealthBlock::open(test_instance(), Access::read_only), ShmError);
}

void TestHealth::named_values_round_trip() {
  auto block = HealthBlock::create(test_instance(), modules(), std::nullopt);
  auto observer = HealthBlock::open(test_instance(), Access::read_only);
  auto snap = observer.snapshot(2);
  QVERIFY(snap.values.empty());
  QCOMPARE(snap.values_offered, 0u);
  QCOMPARE(snap.values_time_ms, std::int64_t{0});
  // A 48-byte name is kept whole; a longer one is cut to 48 bytes, not inside the
  // two-byte "é" that straddles byte 48.
  const std::string long48(48, 'n');
  const std::string straddles = std::string(47, 'x') + "\xc3\xa9" + "tail";
  const std::vector<HealthValue> values{{"url0_samples_sent", 123456789012345},
                                        {"url0_last_status", -1},
                                        {"min", INT64_MIN},
                                        {long48, 7},
                                        {straddles, 8}};
  block.set_values(2, 1764100000999, values);
  snap = observer.snapshot(2);
  QVERIFY(!snap.torn);
  QCOMPARE(snap.values_offered, 5u);
  QCOMPARE(snap.values_time_ms, std::int64_t{1764100000999});
  QCOMPARE(snap.values.size(), std::size_t{5});
  for (std::size_t i = 0; i < 4; ++i) QVERIFY(snap.values[i] == values[i]);
  QCOMPARE(snap.values[4].name, std::string(47, 'x'));
  QCOMPARE(snap.values[4].value, std::int64_t{8});
  // A shorter set replaces the whole set; other slots are untouched.
  block.set_values(2, 1764100001999, {{"only", 1}});
  snap = observer.snapshot(2);
  QCOMPARE(snap.values.size(), std::size_t{1});
  QVERIFY((snap.values[0] == HealthValue{"only", 1}));
  QCOMPARE(snap.values_offered, 1u);
  QVERIFY(observer.snapshot(1).values.empty());
  block.set_values(2, 1764100002999, {});
  QVERIFY(observer.snapshot(2).values.empty());
  QCOMPARE(observer.snapshot(2).values_time_ms, std::int64_t{1764100002999});
}

void TestHealth::more_than_64_values_say_how_many_were_offered() {
  auto block = HealthBlock::create(test_instance(), modules(), std::nullopt);
  std::vector<HealthValue> values;
  for (int i = 0; i < 70; ++i) values.push_back({"v" + std::to_string(i), i * 10});
  block.set_values(0, 5, values);
  const auto snap = block.snapshot(0);
  QCOMPARE(snap.values_offered, 70u);
  QCOMPARE(snap.values.size(), health_value_slots);
  for (std::size_t i = 0; i < health_value_slots; ++i) QVERIFY(snap.values[i] == values[i]);
}

void TestHealth::values_consistent_while_written() {
  // A writer process stores sets whose size and every value carry the write's
  // number, without pause, until the reader has taken 20,000 snapshots while it
  // wrote. A snapshot not marked torn never mixes two sets.
  auto block = HealthBlock::create(test_instance(), modules(), std::nullopt);
  const auto write = [values = std::vector<HealthValue>()](HealthBlock& mine, int i) mutable {
    values.assign(1 + i % 70, HealthValue{});
    for (std::size_t k = 0; k < values.size(); ++k)
      values[k] = {"value_" + std::to_string(i) + "_" + std::to_string(k), i};
    mine.set_values(1, i, values);
  };
  const auto mixed = [](const HealthSnapshot& snap) {
    const auto i = snap.values_time_ms;
    if (i == 0) return snap.values.empty() ? 0 : 1;
    const auto offered = 1 + i % 70;
    if (snap.values_offered != offered ||
        snap.values.size() != std::min<std::size_t>(offered, health_value_slots))
      return 1;
    for (std::size_t k = 0; k < snap.values.size(); ++k) {
      if (snap.values[k].value != i ||
          snap.values[k].name != "value_" + std::to_string(i) + "_" + std::to_string(k))
        return 1;
    }
    return 0;
  };
  const auto race = race_a_writer(
      block, 1, write, [](const HealthSnapshot& snap) { return snap.values_time_ms > 0; }, mixed);
  QVERIFY(race.writer_alive);  // else it died before writing
  QCOMPARE(race.exit_code, 0);
  const auto last = block.snapshot(1);
  qInfo("%d snapshots while written: %d checked, %d torn", race.while_writing, race.checked,
        race.torn);
  QVERIFY(!last.torn);
  QCOMPARE(mixed(last), 0);
  QVERIFY(race.checked > 0);
  QCOMPARE(race.inconsistent, 0);
}

void TestHealth::values_left_mid_update_read_as_torn() {
  // A module killed inside set_values leaves the values' sequence odd (here set
  // by hand at its pinned offset: slot 1 starts at 64 + 9216, values_seq at 5056
  // in it). The reader returns, marks the copy torn (the other groups are fine),
  // and the next set_values of the restarted module is read whole again.
  auto block = HealthBlock::create(test_instance(), modules(), std::nullopt);
  block.set_values(1, 10, {{"a", 1}});
  {
    FILE* f = std::fopen(("/dev/shm/" + segment_name(test_instance(), "health")).c_str(), "r+b");
    QVERIFY(f);
    const std::uint32_t odd = 3;
    std::fseek(f, 64 + 9216 + 5056, SEEK_SET);
    std::fwrite(&odd, 4, 1, f);
    std::fclose(f);
  }
  QVERIFY(block.snapshot(1).torn);
  QVERIFY(!block.snapshot(0).torn);
  block.set_values(1, 11, {{"b", 2}});
  const auto snap = block.snapshot(1);
  QVERIFY(!snap.torn);
  QCOMPARE(snap.values.size(), std::size_t{1});
  QVERIFY((snap.values[0] == HealthValue{"b", 2}));
}

void TestHealth::restarted_writer_ends_a_dead_writers_sections() {
  // A module killed inside record_error and inside set_values (both sequences of
  // slot 1 set odd by hand at their pinned offsets: the slot at 64 + 9216,
  // errors_seq at 384 and values_seq at 5056 in it). Without attach_writer its
  // readers said `torn` until the restarted module next wrote each group (the
  // errors: maybe never). The restarted module attaches: readers at once see
  // whole data, the writes that follow are read whole, the other slots are untouched.
  auto block = HealthBlock::create(test_instance(), modules(), std::nullopt);
  auto observer = HealthBlock::open(test_instance(), Access::read_only);
  for (int i = 0; i < 17; ++i) {  // wrapped: the entry being written is the oldest shown
    block.record_error(0, i, "zero", "slot 0 #" + std::to_string(i));
    block.record_error(1, i, "one", "slot 1 #" + std::to_string(i));
  }
  block.set_values(0, 20, {{"a", 1}});
  block.set_values(1, 21, {{"b", 2}, {"c", 3}});
  const auto slot0 = observer.snapshot(0);
  const auto set_odd = [](long offset) {
    FILE* f = std::fopen(("/dev/shm/" + segment_name(test_instance(), "health")).c_str(), "r+b");
    QVERIFY(f);
    const std::uint32_t odd = 2 * 17 + 1;
    std::fseek(f, offset, SEEK_SET);
    std::fwrite(&odd, 4, 1, f);
    std::fclose(f);
  };
  set_odd(64 + 9216 + 384);
  set_odd(64 + 9216 + 5056);
  QVERIFY(observer.snapshot(1).torn);

  auto restarted = HealthBlock::open(test_instance(), Access::read_write);
  restarted.attach_writer(1);
  auto snap = observer.snapshot(1);
  QVERIFY(!snap.torn);
  QCOMPARE(snap.errors_total, std::uint64_t{17});
  QCOMPARE(snap.errors.size(), std::size_t{16});
  QCOMPARE(snap.errors.front().reason, std::string("lost"));
  for (std::size_t k = 1; k < 16; ++k) {
    QCOMPARE(snap.errors[k].reason, std::string("one"));
    QCOMPARE(snap.errors[k].text, "slot 1 #" + std::to_string(k + 1));
    QCOMPARE(snap.errors[k].time_ms, std::int64_t(k + 1));
  }
  QVERIFY(snap.values.empty());
  QCOMPARE(snap.values_offered, 0u);
  QCOMPARE(snap.values_time_ms, std::int64_t{0});

  // The restarted writer's updates: even when done, so read whole (an odd count
  // kept by a plain increment would make readers refuse them).
  restarted.record_error(1, 99, "restarted", "whole");
  restarted.set_values(1, 100, {{"d", 4}});
  snap = observer.snapshot(1);
  QVERIFY(!snap.torn);
  QCOMPARE(snap.errors_total, std::uint64_t{18});
  QCOMPARE(snap.errors.back().reason, std::string("restarted"));
  QCOMPARE(snap.errors.back().text, std::string("whole"));
  QCOMPARE(snap.errors.back().time_ms, std::int64_t{99});
  QCOMPARE(snap.values.size(), std::size_t{1});
  QVERIFY((snap.values[0] == HealthValue{"d", 4}));
  QCOMPARE(snap.values_time_ms, std::int64_t{100});

  // Attaching to a slot left even changes nothing; a read-only block cannot attach.
  restarted.attach_writer(0);
  const auto again = observer.snapshot(0);
  QVERIFY(!again.torn);
  QCOMPARE(again.errors.size(), slot0.errors.size());
  for (std::size_t k = 0; k < again.errors.size(); ++k)
    QCOMPARE(again.errors[k].text, slot0.errors[k].text);
  QVERIFY(again.values == slot0.values);
  QVERIFY_EXCEPTION_THROWN(observer.attach_writer(1), ShmError);
}

QTEST_GUILESS_MAIN(TestHealth)
#include "test_health.moc"
