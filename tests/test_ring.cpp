// tests/test_ring.cpp — the SPSC record ring: framing, wrap-around, full and
// oversized records, drop counting, restarts, the observer cursor, and forked
// producers and consumers (millions of records, kill -9 of either side).
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <QtTest>
#include <algorithm>
#include <atomic>
#include <cstring>
#include <random>
#include <thread>

#include "shm/layout.h"
#include "shm/segment.h"
#include "tests/support/shm_access.h"

using namespace bucky3::shm;
using namespace std::chrono_literals;

namespace {

const std::string& test_instance() {
  static const std::string instance = "test_ring_" + std::to_string(getpid());
  return instance;
}

SegmentOptions ring_of(std::uint64_t bytes) {
  SegmentOptions options;
  options.ring_size_bytes = bytes;
  return options;
}

DestinationSegment make_segment(std::uint64_t ring_bytes) {
  return DestinationSegment::create(test_instance(), "dest", {"src"}, ring_of(ring_bytes));
}

std::uint64_t fnv1a(const std::byte* data, std::size_t size,
                    std::uint64_t hash = 14695981039346656037ULL) {
  for (std::size_t i = 0; i < size; ++i) {
    hash ^= static_cast<std::uint8_t>(data[i]);
    hash *= 1099511628211ULL;
  }
  return hash;
}

// A checkable record: u64 sequence, filler bytes derived from it, u64 checksum.
std::vector<std::byte> make_record(std::uint64_t seq, std::size_t size) {
  size = std::max<std::size_t>(size, 16);
  std::vector<std::byte> record(size);
  std::memcpy(record.data(), &seq, 8);
  for (std::size_t i = 8; i < size - 8; ++i)
    record[i] = static_cast<std::byte>((seq * 31 + i) & 0xff);
  const auto sum = fnv1a(record.data(), size - 8);
  std::memcpy(record.data() + size - 8, &sum, 8);
  return record;
}

// The record's sequence number, or nullopt when the record is torn or damaged.
std::optional<std::uint64_t> check_record(std::span<const std::byte> record) {
  if (record.size() < 16) return std::nullopt;
  std::uint64_t seq = 0, sum = 0;
  std::memcpy(&seq, record.data(), 8);
  std::memcpy(&sum, record.data() + record.size() - 8, 8);
  if (fnv1a(record.data(), record.size() - 8) != sum) return std::nullopt;
  for (std::size_t i = 8; i < record.size() - 8; ++i) {
    if (record[i] != static_cast<std::byte>((seq * 31 + i) & 0xff)) return std::nullopt;
  }
  return seq;
}

// Record sizes vary with the sequence so that records straddle the ring's end
// at every offset.
std::size_t size_for(std::uint64_t seq, std::size_t max) {
  return 16 + (seq * 7919) % (max - 16);
}

// Memory shared with forked children, for their results.
template <class T>
T* shared_anonymous(std::size_t count = 1) {
  void* p =
      mmap(nullptr, sizeof(T) * count, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : new (p) T[count]();
}

int wait_exit(pid_t child) {
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Kills and reaps a forked child when a test leaves early (a failed QCOMPARE
// returns), so no producer outlives its test.
struct ChildGuard {
  pid_t pid;
  ~ChildGuard() {
    if (pid > 0 && kill(pid, SIGKILL) == 0) waitpid(pid, nullptr, 0);
  }
};

// The child's exit status if it has exited (reaping it), else nullopt.
std::optional<int> exit_status_if_done(pid_t child) {
  int status = 0;
  if (waitpid(child, &status, WNOHANG) != child) return std::nullopt;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// A producer that retries until each record fits (lossless, for counting tests).
// Runs in a forked child; never returns.
[[noreturn]] void produce_forever_from(std::uint64_t first, std::uint64_t end,
                                       std::size_t max_size) {
  try {
    auto segment = DestinationSegment::open(test_instance(), "dest", Access::read_write);
    RingWriter writer(segment, 0);
    for (auto seq = first; seq < end; ++seq) {
      const auto record = make_record(seq, size_for(seq, max_size));
      while (!writer.try_write(record)) std::this_thread::yield();
    }
    _exit(0);
  } catch (...) {
    _exit(3);
  }
}

// Pages of [data, data + bytes) that are in memory (mincore), whole pages only.
std::size_t resident_pages(const std::byte* data, std::size_t bytes) {
  const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto first = (reinterpret_cast<std::uintptr_t>(data) + page - 1) / page * page;
  const auto last = (reinterpret_cast<std::uintptr_t>(data) + bytes) / page * page;
  std::vector<unsigned char> resident((last - first) / page);
  if (mincore(reinterpret_cast<void*>(first), last - first, resident.data()) != 0) return 0;
  return std::size_t(std::count_if(resident.begin(), resident.end(),
                                   [](unsigned char r) { return (r & 1) != 0; }));
}

}  // namespace

class TestRing : public QObject {
  Q_OBJECT
 private slots:
  void cleanup();
  void writes_peeks_and_commits();
  void empty_record();
  void wraps_around_data();
  void wraps_around();
  void exactly_full();
  void oversized_records_are_dropped_data();
  void oversized_records_are_dropped();
  void max_record_bytes_fits_the_header();
  void largest_record_fits_at_every_offset();
  void restarted_producer_appends();
  void restarted_consumer_resumes();
  void unpublished_bytes_stay_invisible();
  void observer_follows_newest_records();
  void observer_detects_being_lapped();
  void observer_detects_overwrite_while_copying();
  void forked_producer_and_consumer_move_millions();
  void observer_never_returns_a_torn_record();
  void producer_killed_mid_stream_leaves_nothing_torn();
  void consumer_killed_and_restarted_loses_nothing();
  void observer_keeps_a_torn_header_inside_the_ring();
  void writer_and_reader_fault_in_their_ring_at_once();
};

void TestRing::cleanup() {
  DestinationSegment::remove(test_instance(), "dest");
}

void TestRing::writes_peeks_and_commits() {
  auto segment = make_segment(4096);
  RingWriter writer(segment, 0);
  RingReader reader(segment, 0);
  QVERIFY(!reader.peek());
  reader.commit();  // without a peek: nothing happens
  const auto a = make_record(1, 100), b = make_record(2, 33);
  QVERIFY(writer.try_write(a));
  QVERIFY(writer.try_write(b));
  auto peeked = reader.peek();
  QVERIFY(peeked);
  QCOMPARE(check_record(*peeked), std::optional<std::uint64_t>(1));
  // Peeking again without a commit gives the same record: at-least-once.
  QCOMPARE(reader.peek()->data(), peeked->data());
  QCOMPARE(segment.ring_stats(0).read_pos, std::uint64_t{0});
  reader.commit();
  QCOMPARE(segment.ring_stats(0).read_pos, std::uint64_t{8 + 104});
  peeked = reader.peek();
  QVERIFY(peeked);
  QCOMPARE(peeked->size(), std::size_t{33});
  QCOMPARE(check_record(*peeked), std::optional<std::uint64_t>(2));
  reader.commit();
  QVERIFY(!reader.peek());
  const auto stats = segment.ring_stats(0);
  QCOMPARE(stats.records_written, std::uint64_t{2});
  QCOMPARE(stats.bytes_written, std::uint64_t{133});
  QCOMPARE(stats.records_dropped, std::uint64_t{0});
  QCOMPARE(stats.write_pos, stats.read_pos);
}

void TestRing::empty_record() {
  auto segment = make_segment(4096);
  RingWriter writer(segment, 0);
  RingReader reader(segment, 0);
  QVERIFY(writer.try_write({}));
  const auto peeked = reader.peek();
  QVERIFY(peeked);
  QCOMPARE(peeked->size(), std::size_t{0});
  reader.commit();
  QVERIFY(!reader.peek());
}

void TestRing::wraps_around_data() {
  QTest::addColumn<int>("ring_bytes");
  QTest::addColumn<int>("max_record");
  QTest::addColumn<int>("batch");  // records written before the reader catches up
  QTest::newRow("small records, one at a time") << 4096 << 64 << 1;
  QTest::newRow("small records, bursts") << 4096 << 64 << 20;
  QTest::newRow("large records") << 4096 << 2040 << 1;
  QTest::newRow("mixed, bursts") << 65536 << 3000 << 10;
}

void TestRing::wraps_around() {
  QFETCH(int, ring_bytes);
  QFETCH(int, max_record);
  QFETCH(int, batch);
  auto segment = make_segment(ring_bytes);
  RingWriter writer(segment, 0);
  RingReader reader(segment, 0);
  std::uint64_t written = 0, read = 0;
  while (segment.ring_stats(0).write_pos < std::uint64_t(ring_bytes) * 20) {
    for (int i = 0; i < batch; ++i) {
      if (!writer.try_write(make_record(written, size_for(written, max_record)))) break;
      ++written;
    }
    while (auto record = reader.peek()) {
      QCOMPARE(check_record(*record), std::optional<std::uint64_t>(read));
      QCOMPARE(record->size(), std::max<std::size_t>(16, size_for(read, max_record)));
      reader.commit();
      ++read;
    }
    QCOMPARE(read, written);
  }
  QVERIFY(written > 20);
}

void TestRing::exactly_full() {
  auto segment = make_segment(4096);
  RingWriter writer(segment, 0);
  RingReader reader(segment, 0);
  // 1016 payload bytes frame to exactly 1024: four fill the ring to the byte.
  for (std::uint64_t seq = 0; seq < 4; ++seq) QVERIFY(writer.try_write(make_record(seq, 1016)));
  QCOMPARE(segment.ring_stats(0).write_pos, std::uint64_t{4096});
  QVERIFY(!writer.try_write(make_record(4, 1016)));
  QVERIFY(!writer.try_write(make_record(4, 1)));  // not even the smallest record
  auto stats = segment.ring_stats(0);
  QCOMPARE(stats.records_dropped, std::uint64_t{2});
  QCOMPARE(stats.bytes_dropped, std::uint64_t{1016 + 16});
  QCOMPARE(stats.records_written, std::uint64_t{4});
  // One consumed makes room for exactly one more.
  QVERIFY(reader.peek());
  reader.commit();
  QVERIFY(writer.try_write(make_record(4, 1016)));
  QVERIFY(!writer.try_write(make_record(5, 16)));
  for (std::uint64_t seq = 1; seq < 5; ++seq) {
    const auto record = reader.peek();
    QVERIFY(record);
    QCOMPARE(check_record(*record), std::optional<std::uint64_t>(seq));
    reader.commit();
  }
  QVERIFY(!reader.peek());
}

void TestRing::oversized_records_are_dropped_data() {
  QTest::addColumn<int>("size");
  QTest::addColumn<bool>("fits");
  QTest::newRow("max") << int(max_record_bytes(4096)) << true;
  QTest::newRow("max + 1") << int(max_record_bytes(4096)) + 1 << false;
  QTest::newRow("capacity") << 4096 << false;
  QTest::newRow("huge") << (1 << 20) << false;
}

void TestRing::oversized_records_are_dropped() {
  QFETCH(int, size);
  QFETCH(bool, fits);
  auto segment = make_segment(4096);
  RingWriter writer(segment, 0);
  QCOMPARE(writer.try_write(make_record(0, size)), fits);
  QCOMPARE(segment.ring_stats(0).records_dropped, std::uint64_t{fits ? 0u : 1u});
}

void TestRing::max_record_bytes_fits_the_header() {
  QCOMPARE(max_record_bytes(4096), std::size_t{2040});
  QCOMPARE(max_record_bytes(8 << 20), std::size_t{(4 << 20) - 8});
  QVERIFY(max_record_bytes(std::uint64_t{64} << 30) <= 0xffffffffULL);
}

void TestRing::largest_record_fits_at_every_offset() {
  auto segment = make_segment(4096);
  RingWriter writer(segment, 0);
  RingReader reader(segment, 0);
  const auto largest = make_record(7, max_record_bytes(4096));
  // Move the write position through every 8-byte offset; at each, once the
  // consumer has caught up, the largest record must fit.
  for (int offset = 0; offset < 4096 / 8; ++offset) {
    QVERIFY2(writer.try_write(largest), qPrintable(QString("offset %1").arg(offset * 8)));
    QVERIFY(reader.peek());
    QCOMPARE(check_record(*reader.peek()), std::optional<std::uint64_t>(7));
    reader.commit();
    QVERIFY(writer.try_write({}));  // an empty record is 8 bytes: moves us one offset on
    QVERIFY(reader.peek());
    reader.commit();
  }
}

void TestRing::restarted_producer_appends() {
  auto segment = make_segment(4096);
  {
    RingWriter first(segment, 0);
    for (std::uint64_t seq = 0; seq < 3; ++seq) QVERIFY(first.try_write(make_record(seq, 100)));
  }
  auto reopened = DestinationSegment::open(test_instance(), "dest", Access::read_write);
  RingWriter second(reopened, 0);
  for (std::uint64_t seq = 3; seq < 5; ++seq) QVERIFY(second.try_write(make_record(seq, 100)));
  RingReader reader(segment, 0);
  for (std::uint64_t seq = 0; seq < 5; ++seq) {
    const auto record = reader.peek();
    QVERIFY(record);
    QCOMPARE(check_record(*record), std::optional<std::uint64_t>(seq));
    reader.commit();
  }
  QVERIFY(!reader.peek());
  QCOMPARE(segment.ring_stats(0).records_written, std::uint64_t{5});
}

void TestRing::restarted_consumer_resumes() {
  auto segment = make_segment(4096);
  RingWriter writer(segment, 0);
  for (std::uint64_t seq = 0; seq < 4; ++seq) QVERIFY(writer.try_write(make_record(seq, 50)));
  {
    RingReader first(segment, 0);
    QVERIFY(first.peek());
    first.commit();         // record 0 handed off
    QVERIFY(first.peek());  // record 1 peeked, never committed: the consumer "dies"
  }
  RingReader second(segment, 0);
  const auto record = second.peek();
  QVERIFY(record);
  QCOMPARE(check_record(*record), std::optional<std::uint64_t>(1));  // delivered again
}

void TestRing::unpublished_bytes_stay_invisible() {
  // What a producer killed mid-write leaves: a claim and bytes past write_pos.
  auto segment = make_segment(4096);
  RingWriter writer(segment, 0);
  QVERIFY(writer.try_write(make_record(0, 64)));
  auto& header = SegmentTestAccess::ring_header(segment, 0);
  const auto write = header.write_pos.load();
  const RecordHeader torn{500, record_type_data};
  std::memcpy(SegmentTestAccess::ring_data(segment, 0) + write, &torn, sizeof torn);
  std::memset(SegmentTestAccess::ring_data(segment, 0) + write + 8, 0xee, 100);
  header.claim_pos.store(write + 508);
  RingReader reader(segment, 0);
  QVERIFY(reader.peek());
  reader.commit();
  QVERIFY(!reader.peek());  // the torn record is not visible
  RingWriter restarted(segment, 0);
  QVERIFY(restarted.try_write(make_record(1, 40)));
  const auto record = reader.peek();
  QVERIFY(record);
  QCOMPARE(check_record(*record), std::optional<std::uint64_t>(1));
}

void TestRing::observer_follows_newest_records() {
  auto segment = make_segment(4096);
  RingWriter writer(segment, 0);
  QVERIFY(writer.try_write(make_record(0, 64)));  // before the observer: not seen
  auto read_only = DestinationSegment::open(test_instance(), "dest", Access::read_only);
  RingObserver observer(read_only, 0);
  std::vector<std::byte> copy;
  QCOMPARE(observer.next(copy), RingObserver::Result::none);
  RingReader reader(segment, 0);
  std::uint64_t seen = 1;
  for (std::uint64_t seq = 1; seq < 200; ++seq) {
    QVERIFY(writer.try_write(make_record(seq, size_for(seq, 300))));
    while (reader.peek()) reader.commit();
    if (seq % 3 == 0) {
      while (observer.next(copy) == RingObserver::Result::record) {
        QCOMPARE(check_record(copy), std::optional<std::uint64_t>(seen));
        ++seen;
      }
    }
  }
  while (observer.next(copy) == RingObserver::Result::record) ++seen;
  QCOMPARE(seen, std::uint64_t{200});
  QCOMPARE(observer.overruns(), std::uint64_t{0});
  // The observer wrote nothing: the consumer's position is its own.
  QCOMPARE(segment.ring_stats(0).read_pos, segment.ring_stats(0).write_pos);
}

void TestRing::observer_detects_being_lapped() {
  auto segment = make_segment(4096);
  RingWriter writer(segment, 0);
  RingReader reader(segment, 0);
  RingObserver observer(segment, 0);
  for (std::uint64_t seq = 0; seq < 100; ++seq) {
    QVERIFY(writer.try_write(make_record(seq, 200)));
    QVERIFY(reader.peek());
    reader.commit();
  }
  std::vector<std::byte> copy;
  QCOMPARE(observer.next(copy), RingObserver::Result::overrun);
  QCOMPARE(observer.position(), segment.ring_stats(0).write_pos);
  QCOMPARE(observer.next(copy), RingObserver::Result::none);
  QVERIFY(writer.try_write(make_record(100, 200)));
  QCOMPARE(observer.next(copy), RingObserver::Result::record);
  QCOMPARE(check_record(copy), std::optional<std::uint64_t>(100));
}

void TestRing::observer_detects_overwrite_while_copying() {
  // The observer is behind by less than the capacity, but the producer has
  // claimed (and may be writing) the bytes of the record it copies.
  auto segment = make_segment(4096);
  RingWriter writer(segment, 0);
  RingReader reader(segment, 0);
  RingObserver observer(segment, 0);
  QVERIFY(writer.try_write(make_record(0, 1016)));
  QVERIFY(reader.peek());
  reader.commit();
  auto& header = SegmentTestAccess::ring_header(segment, 0);
  header.claim_pos.store(4096 + 16);  // a write in progress over the first 16 bytes
  std::vector<std::byte> copy;
  QCOMPARE(observer.next(copy), RingObserver::Result::overrun);
  QCOMPARE(observer.overruns(), std::uint64_t{1});
  // A claim that ends exactly at the record's start plus the capacity is fine.
  RingObserver second(segment, 0);
  QVERIFY(writer.try_write(make_record(1, 16)));
  header.claim_pos.store(second.position() + 4096);
  QCOMPARE(second.next(copy), RingObserver::Result::record);
}

void TestRing::forked_producer_and_consumer_move_millions() {
  constexpr std::uint64_t total = 2'000'000;
  auto segment = make_segment(1 << 20);
  const pid_t producer = fork();
  if (producer == 0) produce_forever_from(0, total, 200);
  ChildGuard guard{producer};
  RingReader reader(segment, 0);
  std::uint64_t received = 0, damaged = 0, out_of_order = 0;
  std::optional<int> producer_status;
  // Until the producer is gone and the ring is drained: a broken ring that
  // loses records makes this test fail, not hang.
  for (;;) {
    auto record = reader.peek();
    if (!record) {
      if (producer_status) break;
      producer_status = exit_status_if_done(producer);
      if (producer_status)
        guard.pid = 0;
      else
        segment.wait_for_data(100ms);
      continue;
    }
    const auto seq = check_record(*record);
    if (!seq)
      ++damaged;
    else if (*seq != received)
      ++out_of_order;
    ++received;
    reader.commit();
  }
  QCOMPARE(*producer_status, 0);
  QCOMPARE(damaged, std::uint64_t{0});
  QCOMPARE(out_of_order, std::uint64_t{0});
  QCOMPARE(received, total);  // nothing lost, nothing duplicated
  QCOMPARE(segment.ring_stats(0).records_written, total);
}

void TestRing::observer_never_returns_a_torn_record() {
  // A small ring and a fast producer lap the observer all the time; every
  // record it returns must still be intact, and it must notice the laps.
  constexpr std::uint64_t total = 300'000;
  auto segment = make_segment(8192);
  auto* done = shared_anonymous<std::atomic<int>>();
  QVERIFY(done);
  const pid_t producer = fork();
  if (producer == 0) produce_forever_from(0, total, 1500);
  ChildGuard producer_guard{producer};
  const pid_t observer_child = fork();
  if (observer_child == 0) {
    auto read_only = DestinationSegment::open(test_instance(), "dest", Access::read_only);
    RingObserver observer(read_only, 0);
    std::vector<std::byte> copy;
    std::uint64_t records = 0, last = 0;
    for (;;) {
      const bool finished = done->load() != 0;  // loaded before the last look
      const auto result = observer.next(copy);
      if (result == RingObserver::Result::record) {
        const auto seq = check_record(copy);
        if (!seq) _exit(1);                         // torn
        if (records > 0 && *seq <= last) _exit(2);  // went backwards
        last = *seq;
        ++records;
      } else if (result == RingObserver::Result::none && finished) {
        break;
      }
    }
    _exit(records > 0 && observer.overruns() > 0 ? 0 : 4);
  }
  ChildGuard observer_guard{observer_child};
  RingReader reader(segment, 0);
  std::uint64_t consumed = 0;
  std::optional<int> producer_status;
  for (;;) {
    if (reader.peek()) {
      reader.commit();
      ++consumed;
    } else if (producer_status) {
      break;
    } else {
      producer_status = exit_status_if_done(producer);
      if (!producer_status) segment.wait_for_data(100ms);
    }
  }
  producer_guard.pid = 0;
  done->store(1);
  QCOMPARE(*producer_status, 0);
  QCOMPARE(consumed, total);
  const int observer_status = wait_exit(observer_child);
  observer_guard.pid = 0;
  QVERIFY2(observer_status == 0,
           qPrintable(QString("observer child exited %1 (1 torn, 2 backwards, 4 no laps)")
                          .arg(observer_status)));
  munmap(done, sizeof(std::atomic<int>));
}

void TestRing::producer_killed_mid_stream_leaves_nothing_torn() {
  // Large records in a ring the consumer keeps nearly empty: the producer
  // spends most of its time inside memcpy, where the kill usually lands.
  auto segment = make_segment(1 << 20);
  RingReader reader(segment, 0);
  std::uint64_t next_seq = 0;
  std::mt19937 rng(3);
  for (int round = 0; round < 8; ++round) {
    // A restarted producer numbers on from the records published so far.
    const auto first = segment.ring_stats(0).records_written;
    QCOMPARE(first, next_seq);
    const pid_t producer = fork();
    if (producer == 0) produce_forever_from(first, UINT64_MAX, 200'000);
    ChildGuard guard{producer};
    // Let it publish a few records, then kill it at an arbitrary moment.
    const auto target = first + 5 + rng() % 20;
    while (next_seq < target) {
      if (auto record = reader.peek()) {
        QCOMPARE(check_record(*record), std::optional<std::uint64_t>(next_seq));
        reader.commit();
        ++next_seq;
      } else {
        segment.wait_for_data(100ms);
      }
    }
    usleep(rng() % 2000);
    kill(producer, SIGKILL);
    QCOMPARE(wait_exit(producer), 128 + SIGKILL);
    guard.pid = 0;
    // Drain: everything published is whole and in order, nothing more appears.
    while (auto record = reader.peek()) {
      QCOMPARE(check_record(*record), std::optional<std::uint64_t>(next_seq));
      reader.commit();
      ++next_seq;
    }
    QCOMPARE(segment.ring_stats(0).records_written, next_seq);
  }
}

void TestRing::consumer_killed_and_restarted_loses_nothing() {
  // The consumer child counts every record it hands off in shared memory,
  // then commits. A kill between the two makes that one record come again,
  // so each kill may add one duplicate, of the record in hand at the kill.
  constexpr std::uint64_t total = 200'000;
  constexpr int kills = 6;
  auto segment = make_segment(64 << 10);
  auto* deliveries = shared_anonymous<std::atomic<std::uint32_t>>(total);
  QVERIFY(deliveries);
  const pid_t producer = fork();
  if (producer == 0) produce_forever_from(0, total, 300);
  ChildGuard producer_guard{producer};
  auto start_consumer = [&] {
    const pid_t child = fork();
    if (child == 0) {
      try {
        auto consumer_side = DestinationSegment::open(test_instance(), "dest", Access::read_write);
        RingReader reader(consumer_side, 0);
        std::uint64_t handled = 0;
        while (handled < total) {
          auto record = reader.peek();
          if (!record) {
            consumer_side.wait_for_data(100ms);
            continue;
          }
          const auto seq = check_record(*record);
          if (!seq || *seq >= total) _exit(1);
          deliveries[*seq].fetch_add(1);  // hand-off
          reader.commit();
          if (*seq == total - 1) _exit(0);
          ++handled;
        }
        _exit(0);
      } catch (...) {
        _exit(3);
      }
    }
    return child;
  };
  std::mt19937 rng(11);
  for (int k = 0; k < kills; ++k) {
    const pid_t consumer = start_consumer();
    // Wait until this consumer has made progress, then kill it wherever it is.
    const auto start = segment.ring_stats(0).read_pos;
    while (segment.ring_stats(0).read_pos < start + 20'000 && deliveries[total - 1].load() == 0) {
      usleep(200);
    }
    usleep(rng() % 1000);
    kill(consumer, SIGKILL);
    wait_exit(consumer);
  }
  const pid_t last = start_consumer();
  ChildGuard last_guard{last};
  QCOMPARE(wait_exit(last), 0);
  last_guard.pid = 0;
  QCOMPARE(wait_exit(producer), 0);
  producer_guard.pid = 0;
  std::uint64_t missing = 0, duplicates = 0, triples = 0;
  for (std::uint64_t seq = 0; seq < total; ++seq) {
    const auto n = deliveries[seq].load();
    if (n == 0) ++missing;
    if (n == 2) ++duplicates;
    if (n > 2) ++triples;
  }
  QCOMPARE(missing, std::uint64_t{0});
  QCOMPARE(triples, std::uint64_t{0});
  QVERIFY2(duplicates <= kills,
           qPrintable(QString("%1 duplicates after %2 kills").arg(duplicates).arg(kills)));
  munmap(deliveries, sizeof(std::atomic<std::uint32_t>) * total);
}

void TestRing::observer_keeps_a_torn_header_inside_the_ring() {
  // An observer lapped while it reads may find, at its cursor near the ring's
  // end, bytes of a newer record that look like a data header whose payload
  // runs past the end. A record never wraps: that is an overrun, not a copy
  // from beyond the ring.
  auto segment = make_segment(4096);
  RingWriter writer(segment, 0);
  RingReader reader(segment, 0);
  for (int i = 0; i < 2; ++i) {  // 2 x 2016 framed bytes: the cursor lands at 4032
    QVERIFY(writer.try_write(make_record(std::uint64_t(i), 2008)));
    QVERIFY(reader.peek());
    reader.commit();
  }
  RingObserver observer(segment, 0);
  QCOMPARE(observer.position(), std::uint64_t{4032});
  const RecordHeader fake{1024, record_type_data};
  std::memcpy(SegmentTestAccess::ring_data(segment, 0) + 4032, &fake, sizeof fake);
  auto& header = SegmentTestAccess::ring_header(segment, 0);
  header.write_pos.store(4032 + 2000);
  header.claim_pos.store(4032 + 2000);
  std::vector<std::byte> copy;
  QCOMPARE(observer.next(copy), RingObserver::Result::overrun);
}

// A ring's pages are faulted in when its writer or reader starts, not one by one
// as records first reach them: a slow source's RSS then grew for hours until the
// whole ring had been written once (issue 17's soak, linux_stats +16.7 %).
void TestRing::writer_and_reader_fault_in_their_ring_at_once() {
  {
    // MADV_POPULATE_READ/WRITE came with Linux 5.14; before it nothing is faulted in.
    const auto page = std::size_t(sysconf(_SC_PAGESIZE));
    void* probe = mmap(nullptr, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    QVERIFY(probe != MAP_FAILED);
    const bool supported = madvise(probe, page, 22 /* MADV_POPULATE_READ */) == 0;
    munmap(probe, page);
    if (!supported) QSKIP("this kernel has no MADV_POPULATE_READ (Linux 5.14+)");
  }
  const std::uint64_t ring_bytes = 1 << 20;
  for (const bool writer_side : {true, false}) {
    auto segment =
        DestinationSegment::create(test_instance(), "dest", {"src", "other"}, ring_of(ring_bytes));
    const auto* data = SegmentTestAccess::ring_data(segment, 0);
    const auto pages = resident_pages(data, ring_bytes);
    QVERIFY2(pages < 4, std::to_string(pages).c_str());  // a fresh segment is sparse
    if (writer_side) {
      RingWriter writer(segment, 0);
    } else {
      RingReader reader(segment, 0);
    }
    const auto whole_pages = ring_bytes / std::size_t(sysconf(_SC_PAGESIZE)) - 1;
    QVERIFY2(resident_pages(data, ring_bytes) >= whole_pages,
             std::to_string(resident_pages(data, ring_bytes)).c_str());
    // Only that ring: the other source's stays sparse.
    QVERIFY(resident_pages(SegmentTestAccess::ring_data(segment, 1), ring_bytes) < 4);
    DestinationSegment::remove(test_instance(), "dest");
  }
}

QTEST_GUILESS_MAIN(TestRing)
#include "test_ring.moc"
