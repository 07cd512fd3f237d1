// tests/test_log.cpp — common/log: the line format written to stderr, the level
// threshold, level names, and RateLimiter (at most `burst` events a window of
// `period` per limiter, the window opening at the first event after the last one
// passed, and the count of what was dropped handed to the next event let through),
// on an injected clock.
#include <unistd.h>

#include <QtTest>
#include <chrono>
#include <string>
#include <thread>

#include "common/log.h"
#include "tests/support/stderr_capture.h"

using namespace bucky3;
using namespace std::chrono_literals;
using bucky3::test::StderrCapture;
using Clock = std::chrono::steady_clock;

namespace {

// Far enough from the clock's zero that a first window never reaches back to it.
const Clock::time_point t0 = Clock::time_point{} + 24h;

// How many of `events` calls at `now` the limiter lets through.
int allowed_of(log::RateLimiter& limiter, int events, Clock::time_point now) {
  int allowed = 0;
  std::uint64_t suppressed = 0;
  for (int i = 0; i < events; ++i) allowed += limiter.allow(suppressed, now) ? 1 : 0;
  return allowed;
}

}  // namespace

class TestLog : public QObject {
  Q_OBJECT
 private slots:
  void init() { log::init("test_log", log::Level::info); }

  void a_line_is_prefix_level_and_message() {
    StderrCapture capture;
    log::init("statsd", log::Level::debug);
    log::warning("queue at ", 3, " of ", 4.5);
    const auto pid = std::to_string(::getpid());
    QCOMPARE(capture.text(), "statsd[" + pid + "]: warning: queue at 3 of 4.5\n");
  }

  void lines_under_the_level_are_not_written() {
    StderrCapture capture;
    log::init("m", log::Level::warning);
    log::debug("d");
    log::info("i");
    log::warning("w");
    log::error("e");
    log::set_level(log::Level::error);
    log::warning("w2");
    QCOMPARE(log::level(), log::Level::error);
    const auto pid = std::to_string(::getpid());
    QCOMPARE(capture.text(), "m[" + pid + "]: warning: w\nm[" + pid + "]: error: e\n");
  }

  void level_names_round_trip() {
    for (const auto level :
         {log::Level::debug, log::Level::info, log::Level::warning, log::Level::error})
      QCOMPARE(log::parse_level(log::to_string(level)), std::optional(level));
    QCOMPARE(log::parse_level("warn"), std::optional(log::Level::warning));
    QCOMPARE(log::parse_level("WARNING"), std::optional<log::Level>());
    QCOMPARE(log::parse_level(""), std::optional<log::Level>());
  }

  // The defaults: 10 events per 10 s.
  void default_is_ten_a_ten_seconds() {
    log::RateLimiter limiter;
    QCOMPARE(allowed_of(limiter, 25, t0), 10);
    QCOMPARE(allowed_of(limiter, 25, t0 + 9999ms), 0);
    QCOMPARE(allowed_of(limiter, 25, t0 + 10s), 10);
  }

  void burst_then_nothing_until_the_window_has_passed() {
    log::RateLimiter limiter(3, 1s);
    std::uint64_t suppressed = 99;
    for (int i = 0; i < 3; ++i) {
      QVERIFY(limiter.allow(suppressed, t0 + std::chrono::milliseconds(100 * i)));
      QCOMPARE(suppressed, std::uint64_t{0});
    }
    QVERIFY(!limiter.allow(suppressed, t0 + 500ms));
    QVERIFY(!limiter.allow(suppressed, t0 + 999ms));
    QVERIFY(limiter.allow(suppressed, t0 + 1s));  // the window is [t0, t0 + 1 s)
  }

  // What was dropped is handed, once, to the next event let through: a flood
  // costs one line a period, and that line says how much it stood for.
  void the_next_event_let_through_carries_the_dropped_count() {
    log::RateLimiter limiter(2, 10s);
    std::uint64_t suppressed = 0;
    QVERIFY(limiter.allow(suppressed, t0));
    QVERIFY(limiter.allow(suppressed, t0));
    for (int i = 0; i < 7; ++i) {
      suppressed = 1234;
      QVERIFY(!limiter.allow(suppressed, t0 + 5s));
      QCOMPARE(suppressed, std::uint64_t{1234});  // left as it is when dropped
    }
    QVERIFY(limiter.allow(suppressed, t0 + 10s));
    QCOMPARE(suppressed, std::uint64_t{7});
    QVERIFY(limiter.allow(suppressed, t0 + 10s));
    QCOMPARE(suppressed, std::uint64_t{0});  // counted once
    QVERIFY(!limiter.allow(suppressed, t0 + 11s));
    QVERIFY(limiter.allow(suppressed, t0 + 30s));
    QCOMPARE(suppressed, std::uint64_t{1});
  }

  // Drops in several windows add up until an event gets through.
  void drops_add_up_across_windows_until_one_is_let_through() {
    log::RateLimiter limiter(1, 1s);
    std::uint64_t suppressed = 0;
    QVERIFY(limiter.allow(suppressed, t0));
    QVERIFY(!limiter.allow(suppressed, t0 + 100ms));
    QVERIFY(!limiter.allow(suppressed, t0 + 200ms));
    QVERIFY(limiter.allow(suppressed, t0 + 1s));
    QCOMPARE(suppressed, std::uint64_t{2});
    QVERIFY(!limiter.allow(suppressed, t0 + 1500ms));
    QVERIFY(limiter.allow(suppressed, t0 + 2s));
    QCOMPARE(suppressed, std::uint64_t{1});
  }

  // No fixed grid: after a quiet spell the window opens at the next event.
  void the_window_opens_at_the_first_event_after_a_quiet_spell() {
    log::RateLimiter limiter(2, 10s);
    QCOMPARE(allowed_of(limiter, 2, t0), 2);
    // 15 s later: a new window [t0 + 15 s, t0 + 25 s), not [t0 + 10 s, t0 + 20 s).
    QCOMPARE(allowed_of(limiter, 3, t0 + 15s), 2);
    QCOMPARE(allowed_of(limiter, 3, t0 + 21s), 0);
    QCOMPARE(allowed_of(limiter, 3, t0 + 24999ms), 0);
    QCOMPARE(allowed_of(limiter, 3, t0 + 25s), 2);
  }

  // The limit is per limiter: callers keep one per kind of event (per host, per socket).
  void limiters_are_independent() {
    log::RateLimiter a(1, 10s), b(1, 10s);
    std::uint64_t suppressed = 0;
    QVERIFY(a.allow(suppressed, t0));
    QVERIFY(!a.allow(suppressed, t0));
    QVERIFY(b.allow(suppressed, t0));
    QCOMPARE(suppressed, std::uint64_t{0});
    QVERIFY(!b.allow(suppressed, t0 + 1s));
    QVERIFY(a.allow(suppressed, t0 + 10s));
    QCOMPARE(suppressed, std::uint64_t{1});  // a's drop, not b's
  }

  // A burst of 0 lets nothing through and counts everything.
  void burst_zero_suppresses_everything() {
    log::RateLimiter limiter(0, 1s);
    QCOMPARE(allowed_of(limiter, 5, t0), 0);
    QCOMPARE(allowed_of(limiter, 5, t0 + 1h), 0);
  }

  // The overload on the real clock: a window surely not over within the test, and
  // one surely over after a sleep longer than it (no timing is asserted).
  void real_clock() {
    log::RateLimiter hour(2, 1h);
    std::uint64_t suppressed = 0;
    QVERIFY(hour.allow(suppressed));
    QVERIFY(hour.allow(suppressed));
    QVERIFY(!hour.allow(suppressed));
    log::RateLimiter short_window(1, 20ms);
    QVERIFY(short_window.allow(suppressed));
    std::this_thread::sleep_for(30ms);
    QVERIFY(short_window.allow(suppressed));
  }
};

QTEST_GUILESS_MAIN(TestLog)
#include "test_log.moc"
