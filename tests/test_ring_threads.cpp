// tests/test_ring_threads.cpp — producer, consumer and observer of one ring as
// three threads sharing one mapping, so ThreadSanitizer (which cannot see across
// processes) checks the memory orders of shm/ring.cpp; the CI builds this test
// alone with -fsanitize=thread (make tsan-test). Also a plain unit test.
#include <QtTest>
#include <atomic>
#include <cstring>
#include <thread>

#include "shm/segment.h"

using namespace bucky3::shm;
using namespace std::chrono_literals;

namespace {

// Record i: 8 bytes of i, then 8..263 bytes each equal to (i * 7) & 0xff, so a
// torn or misplaced record shows.
std::vector<std::byte> record(std::uint64_t i) {
  std::vector<std::byte> out(8 + 8 + (i * 31) % 256);
  std::memcpy(out.data(), &i, 8);
  std::memset(out.data() + 8, int((i * 7) & 0xff), out.size() - 8);
  return out;
}

bool intact(std::span<const std::byte> bytes, std::uint64_t& i) {
  if (bytes.size() < 16) return false;
  std::memcpy(&i, bytes.data(), 8);
  if (bytes.size() != 8 + 8 + (i * 31) % 256) return false;
  for (std::size_t k = 8; k < bytes.size(); ++k)
    if (bytes[k] != std::byte((i * 7) & 0xff)) return false;
  return true;
}

std::string instance() {
  return "tsan" + std::to_string(::getpid());
}

}  // namespace

class TestRingThreads : public QObject {
  Q_OBJECT
 private slots:
  void cleanup() { DestinationSegment::remove(instance(), "dest"); }

  void producer_consumer_observer_threads() {
    SegmentOptions options;
    options.ring_size_bytes = 16 << 10;  // small: the producer laps often
    auto segment = DestinationSegment::create(instance(), "dest", {"src"}, options);
    constexpr std::uint64_t kRecords = 200000;
    std::atomic<bool> done{
        false};  // release by the consumer, acquire by the observer: stop flag only
    std::uint64_t consumed = 0, out_of_order = 0, torn = 0;
    std::uint64_t observed = 0, observer_torn = 0, overruns = 0;

    std::thread producer([&] {
      RingWriter writer(segment, 0);
      for (std::uint64_t i = 0; i < kRecords; ++i) {
        const auto bytes = record(i);
        while (!writer.try_write(bytes)) std::this_thread::yield();  // full: wait for the consumer
      }
    });
    std::thread consumer([&] {
      RingReader reader(segment, 0);
      std::uint64_t expected = 0;
      while (expected < kRecords) {
        const auto got = reader.peek();
        if (!got) {
          segment.wait_for_data(10ms);
          continue;
        }
        std::uint64_t i = 0;
        if (!intact(*got, i)) ++torn;
        if (i != expected) ++out_of_order;
        expected = i + 1;
        ++consumed;
        reader.commit();
      }
      done.store(true, std::memory_order_release);
    });
    std::thread observer([&] {
      RingObserver follow(segment, 0);
      std::vector<std::byte> copy;
      while (!done.load(std::memory_order_acquire)) {
        switch (follow.next(copy)) {
          case RingObserver::Result::record: {
            std::uint64_t i = 0;
            if (!intact(copy, i)) ++observer_torn;
            ++observed;
            break;
          }
          case RingObserver::Result::none: std::this_thread::yield(); break;
          case RingObserver::Result::overrun: break;
        }
      }
      overruns = follow.overruns();
    });
    producer.join();
    consumer.join();
    observer.join();
    qInfo("consumer %llu records, observer %llu (%llu overruns)", (unsigned long long)consumed,
          (unsigned long long)observed, (unsigned long long)overruns);
    QCOMPARE(consumed, kRecords);
    QCOMPARE(out_of_order, std::uint64_t{0});
    QCOMPARE(torn, std::uint64_t{0});
    QCOMPARE(observer_torn, std::uint64_t{0});
    QVERIFY(observed > 0);
    const auto stats = segment.ring_stats(0);
    QCOMPARE(stats.records_written, kRecords);
    QCOMPARE(stats.read_pos, stats.write_pos);
  }
};

QTEST_GUILESS_MAIN(TestRingThreads)
#include "test_ring_threads.moc"
