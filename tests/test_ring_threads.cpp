// tests/test_ring_threads.cpp — producer, consumer and observer of one ring as
// three threads sharing one mapping, so ThreadSanitizer (which cannot see across
// processes) checks the memory orders of shm/ring.cpp; the CI builds this test
// alone with -fsanitize=thread (make tsan-test). Also a plain unit test.
#include <pthread.h>
#include <sched.h>

#include <QtTest>
#include <atomic>
#include <cstring>
#include <random>
#include <thread>

#include "shm/segment.h"
#include "shm/wait_stats.h"

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

// Pins the calling thread to one CPU (modulo the CPUs there are), so producer and
// consumer run at the same time instead of taking turns on one core.
void pin_to_cpu(unsigned cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu % std::max(1u, std::thread::hardware_concurrency()), &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
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

  // The doorbell never loses a wake. One record in flight at a time: the producer
  // publishes record i (alternating two rings), after a random pause that lands
  // its publish anywhere in the consumer's cycle (while it drains, spins, stores
  // `sleepers`, takes its last look, enters FUTEX_WAIT or sleeps), and waits until
  // the consumer took it. Every wait is woken by that record's doorbell, so a wait
  // that ends by its (long) timeout with the record there is a lost wake: counted
  // (WaitStats::timeouts_with_data), not timed. The producer maps the segment a
  // second time, so the futex word sits at two addresses of one file, as it does
  // between processes.
  void no_wake_is_lost() {
    SegmentOptions options;
    options.ring_size_bytes = 64 << 10;
    auto segment = DestinationSegment::create(instance(), "dest", {"a", "b"}, options);
    constexpr std::uint64_t kRecords = 8000;
    constexpr auto kTimeout = 2000ms;  // far beyond any wake-up; only a lost wake reaches it
    constexpr std::uint64_t kGiveUpAfter = 3;  // lost wakes before we stop (each costs kTimeout)
    // release by the consumer after each commit, acquire by the producer: record i
    // is gone before i + 1 comes. Also the stop flag when the consumer gives up.
    std::atomic<std::uint64_t> consumed{0};
    std::atomic<bool> gave_up{false};  // release by the consumer, acquire by the producer
    std::uint64_t published = 0, failed_writes = 0;
    std::thread producer([&] {
      pin_to_cpu(0);
      auto mapping = DestinationSegment::open(instance(), "dest", Access::read_write);
      RingWriter a(mapping, 0), b(mapping, 1);
      std::mt19937 rng(17);
      for (std::uint64_t i = 0; i < kRecords; ++i) {
        switch (rng() % 5) {
          case 0: break;  // at once: the consumer is still draining or spinning
          case 1:
          case 2:  // a few hundred ns to tens of us: around `sleepers = 1` and FUTEX_WAIT
            for (auto n = rng() % 4000; n > 0; --n) __builtin_ia32_pause();
            break;
          case 3: std::this_thread::yield(); break;
          case 4: std::this_thread::sleep_for(std::chrono::microseconds(rng() % 200)); break;
        }
        if (!(i % 2 ? b : a).try_write(record(i))) ++failed_writes;
        ++published;
        // Spin (yield only now and then), so the next publish follows the consumer's
        // commit closely enough to land in its spin, its last look or its futex call.
        for (std::uint64_t spins = 1; consumed.load(std::memory_order_acquire) <= i; ++spins) {
          if (gave_up.load(std::memory_order_acquire)) return;
          __builtin_ia32_pause();
          if (spins % 4096 == 0) std::this_thread::yield();
        }
      }
    });
    std::uint64_t got = 0, out_of_order = 0, torn = 0;
    WaitStats stats;
    std::thread consumer([&] {
      pin_to_cpu(1);
      RingReader a(segment, 0), b(segment, 1);
      thread_wait_stats() = {};
      while (got < kRecords) {
        for (auto* reader : {&a, &b}) {
          while (const auto record = reader->peek()) {
            std::uint64_t i = 0;
            if (!intact(*record, i)) ++torn;
            if (i != got) ++out_of_order;
            reader->commit();
            ++got;
            consumed.store(got, std::memory_order_release);
          }
        }
        if (got == kRecords) break;
        if (thread_wait_stats().timeouts_with_data >= kGiveUpAfter) {
          gave_up.store(true, std::memory_order_release);
          break;
        }
        segment.wait_for_data(kTimeout);
      }
      stats = thread_wait_stats();
    });
    producer.join();
    consumer.join();
    qInfo(
        "%llu records; %llu waits: %llu found one before sleeping, %llu at the last look, "
        "%llu slept (%llu woken, %llu word changed, %llu interrupted, %llu timeouts, %llu "
        "timeouts with a record waiting)",
        (unsigned long long)got, (unsigned long long)stats.calls, (unsigned long long)stats.early,
        (unsigned long long)stats.last_look, (unsigned long long)stats.sleeps,
        (unsigned long long)stats.woken, (unsigned long long)stats.word_changed,
        (unsigned long long)stats.interrupted, (unsigned long long)stats.timeouts,
        (unsigned long long)stats.timeouts_with_data);
    QCOMPARE(stats.timeouts_with_data, std::uint64_t{0});
    QCOMPARE(got, kRecords);
    QCOMPARE(published, kRecords);
    QCOMPARE(failed_writes, std::uint64_t{0});
    QCOMPARE(out_of_order, std::uint64_t{0});
    QCOMPARE(torn, std::uint64_t{0});
    // The sleeping path was taken, and woken by the doorbell.
    QVERIFY(stats.sleeps > 0);
    QVERIFY(stats.woken > 0);
  }
};

QTEST_GUILESS_MAIN(TestRingThreads)
#include "test_ring_threads.moc"
