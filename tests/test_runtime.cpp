// tests/test_runtime.cpp — what the runtime does to every metric a source sends:
// global metadata merged (the metric's own tags win), filters, add_timestamps; the
// flush schedule (the grid, skipped ticks, randomize_startup); a source's metrics in
// batches of chunk_size into every destination's ring (split when a batch outgrows
// half a ring); and a destination draining its rings at stop. Real shared memory,
// laid out as the supervisor lays it out; the loop runs in this process.
#include <QtTest>
#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <set>

#include "daemon/runtime/runtime.h"
#include "shm/batch_codec.h"
#include "shm/health.h"
#include "shm/segment.h"
#include "tests/support/agent.h"
#include "tests/support/instance_shm.h"

using namespace bucky3;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {
config::Config load(const std::string& yaml) {
  return config::load_config_text(yaml, "test.yaml");
}

Metric metric(std::string bucket, std::vector<Tag> tags,
              std::optional<std::int64_t> ts = std::nullopt) {
  Metric m;
  m.bucket = std::move(bucket);
  m.metadata = std::move(tags);
  normalize_metadata(m.metadata);
  m.timestamp_ms = ts;
  m.values = {{"", 1.0}};
  return m;
}

QString tags_of(const Metric& m) {
  QString out;
  for (const auto& t : m.metadata) out += QString::fromStdString(t.key + "=" + t.value + ";");
  return out;
}

using Instance = test::InstanceShm;

std::string tag_of(const shm::MetricView& m, std::string_view key) {
  for (const auto& t : m.metadata)
    if (t.key == key) return std::string(t.value);
  return {};
}

// Every record waiting in the ring of `source` in `segment`, taken out: the
// names of each record's metrics, record by record.
std::vector<std::vector<std::string>> take_records(shm::DestinationSegment& segment,
                                                   const std::string& source) {
  std::vector<std::vector<std::string>> out;
  shm::RingReader reader(segment, *segment.ring_index(source));
  shm::DecodedBatch batch;
  while (const auto record = reader.peek()) {
    if (shm::decode_batch(*record, batch)) {
      out.push_back({"<undecodable>"});
    } else {
      out.emplace_back();
      for (const auto& m : batch.metrics) out.back().push_back(tag_of(m, "name"));
    }
    reader.commit();
  }
  return out;
}

std::vector<Metric> named(const std::string& prefix, int from, int to,
                          const std::string& bucket = "x") {
  std::vector<Metric> out;
  for (int i = from; i < to; ++i)
    out.push_back(metric(bucket, {{"name", prefix + std::to_string(i)}}));
  return out;
}

std::vector<std::string> names(const std::string& prefix, int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

std::vector<std::size_t> sizes_of(const std::vector<std::vector<std::string>>& records) {
  std::vector<std::size_t> out;
  for (const auto& r : records) out.push_back(r.size());
  return out;
}

std::vector<std::string> flat(const std::vector<std::vector<std::string>>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.insert(out.end(), r.begin(), r.end());
  return out;
}

std::uint64_t counter_of(runtime::ModuleRuntime& rt, shm::Counter counter) {
  return rt.health().snapshot(rt.health_slot()).counters[std::size_t(counter)];
}

// One encoded batch of the metrics named prefix<from>..prefix<to - 1>.
std::vector<std::byte> record_of(const std::string& prefix, int from, int to) {
  std::vector<std::byte> record;
  const auto metrics = named(prefix, from, to);
  shm::encode_batch(metrics, record);
  return record;
}

const Clock::time_point S = Clock::time_point{} + 1000h;  // a grid start

}  // namespace

class TestRuntime : public QObject {
  Q_OBJECT
 private slots:
  void metadata_merge_metric_wins() {
    const auto config = load(
        "metadata: {host: h1, dc: eu, zone: a}\n"
        "modules:\n  s:\n    type: linux_stats\n    metadata: {zone: b}\n  d:\n    type: "
        "debug_output\n");
    const auto& source = *config.find("s");
    auto m = metric("x", {{"host", "own"}, {"app", "web"}});
    QVERIFY(runtime::prepare_metric(source, 1000, m));
    QCOMPARE(tags_of(m), QString("app=web;dc=eu;host=own;zone=b;"));
    QVERIFY(!m.timestamp_ms);
  }

  void add_timestamps_only_where_missing() {
    const auto config = load(
        "add_timestamps: true\nmodules:\n  s:\n    type: linux_stats\n  d:\n    type: "
        "debug_output\n");
    const auto& source = *config.find("s");
    auto without = metric("x", {});
    auto with = metric("x", {}, 5);
    QVERIFY(runtime::prepare_metric(source, 1234, without));
    QVERIFY(runtime::prepare_metric(source, 1234, with));
    QCOMPARE(*without.timestamp_ms, std::int64_t{1234});
    QCOMPARE(*with.timestamp_ms, std::int64_t{5});
  }

  void filters_see_merged_metadata() {
    // The filter matches a tag that only the global metadata brings.
    const auto config = load(
        "metadata: {env: dev}\n"
        "filters:\n"
        "  - match: {metadata: {env: \"^dev$\"}, bucket: \"^drop_me$\"}\n"
        "    drop: true\n"
        "  - match: {bucket: \"^rename$\"}\n"
        "    bucket: renamed\n"
        "    set_metadata: {tier: nonprod}\n"
        "    remove_metadata: [env]\n"
        "modules:\n  s:\n    type: linux_stats\n  d:\n    type: debug_output\n");
    const auto& source = *config.find("s");
    auto dropped = metric("drop_me", {});
    QVERIFY(!runtime::prepare_metric(source, 0, dropped));
    auto kept = metric("keep", {});
    QVERIFY(runtime::prepare_metric(source, 0, kept));
    auto renamed = metric("rename", {{"name", "n"}});
    QVERIFY(runtime::prepare_metric(source, 0, renamed));
    QCOMPARE(QString::fromStdString(renamed.bucket), QString("renamed"));
    QCOMPARE(tags_of(renamed), QString("name=n;tier=nonprod;"));
  }

  // --- the flush schedule ----------------------------------------------------
  void first_flush_is_one_interval_without_randomize_startup() {
    QCOMPARE(runtime::first_flush_delay(10, false, 1), Clock::duration(10s));
    QCOMPARE(runtime::first_flush_delay(0.5, false, 1), Clock::duration(500ms));
    // randomize_startup spreads only intervals over 3 s.
    QCOMPARE(runtime::first_flush_delay(2, true, 1), Clock::duration(2s));
    QCOMPARE(runtime::first_flush_delay(3, true, 1), Clock::duration(3s));
  }

  // Drawn in [0, min(interval, 15 s)), spread over all of it, the same for a seed.
  void randomized_first_flush_is_under_the_interval_and_15_s() {
    for (const double interval : {5.0, 15.0, 60.0}) {
      const auto cap = std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(std::min(interval, 15.0)));
      Clock::duration lowest = cap, highest{};
      std::set<Clock::rep> distinct;
      for (std::uint64_t seed = 0; seed < 1000; ++seed) {
        const auto delay = runtime::first_flush_delay(interval, true, seed);
        QVERIFY2(delay >= Clock::duration::zero() && delay < cap,
                 qPrintable(QString("interval %1, seed %2").arg(interval).arg(seed)));
        lowest = std::min(lowest, delay);
        highest = std::max(highest, delay);
        distinct.insert(delay.count());
        QCOMPARE(runtime::first_flush_delay(interval, true, seed), delay);
      }
      QVERIFY(lowest < cap / 10);
      QVERIFY(highest > cap - cap / 10);
      QVERIFY(distinct.size() > 900);
    }
  }

  void ticks_fall_on_the_grid() {
    const auto tick = runtime::next_flush_tick(S, 1s, 1, S + 300ms);
    QCOMPARE(tick.at, S + 1s);
    QCOMPARE(tick.index, std::uint64_t{1});
    const auto late = runtime::next_flush_tick(S, 10s, 5, S + 49'999ms);
    QCOMPARE(late.at, S + 50s);  // not 49.999 s + 10 s: no drift
    QCOMPARE(late.index, std::uint64_t{5});
  }

  // A tick whose handler overran skips the grid points it missed, no burst.
  void a_tick_that_overran_skips_the_missed_ones() {
    auto tick = runtime::next_flush_tick(S, 1s, 2, S + 3500ms);
    QCOMPARE(tick.at, S + 4s);
    QCOMPARE(tick.index, std::uint64_t{4});
    tick = runtime::next_flush_tick(S, 1s, 2, S + 2s);  // exactly on it: already due
    QCOMPARE(tick.at, S + 3s);
    QCOMPARE(tick.index, std::uint64_t{3});
    tick = runtime::next_flush_tick(S, 500ms, 7, S + 1h);
    QCOMPARE(tick.at, S + 1h + 500ms);
    QCOMPARE(tick.index, std::uint64_t{7201});
  }

  // However late each tick fires, the schedule stays on the grid.
  void late_ticks_never_drift() {
    std::uint64_t index = 0;
    Clock::time_point at = S;
    for (int i = 0; i < 1000; ++i) {
      const auto fired = at + 7ms;  // each handler runs 7 ms late
      const auto next = runtime::next_flush_tick(S, 100ms, index + 1, fired);
      index = next.index;
      at = next.at;
    }
    QCOMPARE(index, std::uint64_t{1000});
    QCOMPARE(at, S + 100s);
  }

  // The timer follows the schedule: the handler runs tick after tick until a stop,
  // with the wall-clock time of each, and never after the stop.
  void on_flush_ticks_until_stopped() {
    Instance instance(
        "  s:\n    type: linux_stats\n    flush_interval: 0.1\n    randomize_startup: false\n"
        "  d:\n    type: debug_output\n",
        "ring_size: 64KiB\n");
    runtime::ModuleRuntime rt(instance.config, instance.module("s"));
    std::vector<std::int64_t> ticks;
    rt.on_flush([&](std::int64_t now_ms) {
      ticks.push_back(now_ms);
      if (ticks.size() == 3) rt.request_stop();
    });
    const auto before = runtime::wall_clock_ms();
    QCOMPARE(rt.run(), 0);
    QCOMPARE(ticks.size(), std::size_t{3});
    QVERIFY(ticks[0] >= before);
    QVERIFY(std::is_sorted(ticks.begin(), ticks.end()));
    QVERIFY(rt.stopping());
  }

  // --- batching ----------------------------------------------------------------
  // 25 metrics, chunk_size 10: records of 10, 10 and 5, in order, in every
  // destination's ring; a multiple of chunk_size leaves no empty record.
  void metrics_go_in_batches_of_chunk_size_to_every_destination() {
    Instance instance(
        "  s:\n    type: linux_stats\n    chunk_size: 10\n    destinations: [d1, d2]\n"
        "  d1:\n    type: debug_output\n  d2:\n    type: debug_output\n",
        "ring_size: 64KiB\n");
    runtime::ModuleRuntime rt(instance.config, instance.module("s"));
    auto metrics = named("m", 0, 25);
    QCOMPARE(rt.send_metrics(metrics, 1000), std::size_t{25});
    QVERIFY(metrics.empty());  // consumed
    for (const auto* d : {"d1", "d2"}) {
      auto segment = instance.segment(d);
      const auto records = take_records(segment, "s");
      QCOMPARE(sizes_of(records), (std::vector<std::size_t>{10, 10, 5}));
      QCOMPARE(flat(records), names("m", 0, 25));
    }
    QCOMPARE(counter_of(rt, shm::Counter::metrics_out), std::uint64_t{25});
    QCOMPARE(counter_of(rt, shm::Counter::batches_out), std::uint64_t{6});  // 3 per destination

    auto twenty = named("n", 0, 20);
    QCOMPARE(rt.send_metrics(twenty, 2000), std::size_t{20});
    auto segment = instance.segment("d1");
    QCOMPARE(sizes_of(take_records(segment, "s")), (std::vector<std::size_t>{10, 10}));
  }

  // Filtered metrics take no place in a batch: chunks are of what is sent.
  void filtered_metrics_do_not_count_towards_a_batch() {
    Instance instance(
        "  s:\n    type: linux_stats\n    chunk_size: 4\n"
        "  d:\n    type: debug_output\n",
        "ring_size: 64KiB\nfilters:\n  - match: {bucket: \"^drop$\"}\n    drop: true\n");
    runtime::ModuleRuntime rt(instance.config, instance.module("s"));
    std::vector<Metric> metrics;
    for (int i = 0; i < 10; ++i) {
      metrics.push_back(metric("x", {{"name", "k" + std::to_string(i)}}));
      metrics.push_back(metric("drop", {{"name", "gone" + std::to_string(i)}}));
    }
    QCOMPARE(rt.send_metrics(metrics, 1000), std::size_t{10});
    auto segment = instance.segment("d");
    const auto records = take_records(segment, "s");
    QCOMPARE(sizes_of(records), (std::vector<std::size_t>{4, 4, 2}));
    QCOMPARE(flat(records), names("k", 0, 10));
    QCOMPARE(counter_of(rt, shm::Counter::metrics_out), std::uint64_t{10});
  }

  // A record may take at most half a ring: a batch encoding to more is split, in
  // order, rather than dropped.
  void a_batch_over_half_a_ring_is_split() {
    Instance instance(
        "  s:\n    type: linux_stats\n    chunk_size: 100\n  d:\n    type: debug_output\n",
        "ring_size: 64KiB\n");
    runtime::ModuleRuntime rt(instance.config, instance.module("s"));
    std::vector<Metric> metrics;
    const std::string long_tag(500, 'x');
    for (int i = 0; i < 100; ++i)
      metrics.push_back(metric("x", {{"name", "big" + std::to_string(i)}, {"t", long_tag}}));
    std::vector<std::byte> whole;
    shm::encode_batch(metrics, whole);
    auto segment = instance.segment("d");
    const auto limit = shm::max_record_bytes(segment.ring_capacity());
    QVERIFY2(whole.size() > limit && whole.size() < 2 * limit, "the batch outgrows half a ring");
    QCOMPARE(rt.send_metrics(metrics, 1000), std::size_t{100});
    const auto records = take_records(segment, "s");
    QCOMPARE(sizes_of(records), (std::vector<std::size_t>{50, 50}));
    QCOMPARE(flat(records), names("big", 0, 100));
    QCOMPARE(counter_of(rt, shm::Counter::drops_ring_full), std::uint64_t{0});
  }

  // A full ring drops the batch and counts its metrics; the next destination still gets it.
  void a_full_ring_drops_and_counts_the_batch() {
    Instance instance(
        "  s:\n    type: linux_stats\n    chunk_size: 10\n    destinations: [small, big]\n"
        "  small:\n    type: debug_output\n    ring_size: 64KiB\n"
        "  big:\n    type: debug_output\n",
        "ring_size: 1MiB\n");
    runtime::ModuleRuntime rt(instance.config, instance.module("s"));
    auto metrics = named("m", 0, 5000);
    QCOMPARE(rt.send_metrics(metrics, 1000), std::size_t{5000});
    auto small = instance.segment("small");
    auto big = instance.segment("big");
    const auto kept = flat(take_records(small, "s"));
    QVERIFY(!kept.empty() && kept.size() < 5000);
    QCOMPARE(counter_of(rt, shm::Counter::drops_ring_full), std::uint64_t(5000 - kept.size()));
    QCOMPARE(flat(take_records(big, "s")), names("m", 0, 5000));
  }

  // --- drain at stop -------------------------------------------------------------
  // What waits in a destination's rings when it is told to stop is handed on
  // before the loop ends, after the stop handlers ran, from every ring, in order.
  void a_destination_drains_its_rings_at_stop() {
    Instance instance(
        "  s1:\n    type: linux_stats\n  s2:\n    type: linux_stats\n"
        "  d:\n    type: debug_output\n",
        "ring_size: 256KiB\n");
    // More records than one drain pass takes (64), so the stop loops.
    auto segment = instance.segment("d");
    shm::RingWriter w1(segment, *segment.ring_index("s1"));
    shm::RingWriter w2(segment, *segment.ring_index("s2"));
    for (int i = 0; i < 150; ++i) {
      QVERIFY(w1.try_write(record_of("a", i, i + 1)));
      QVERIFY(w2.try_write(record_of("b", 2 * i, 2 * i + 2)));
    }
    runtime::ModuleRuntime rt(instance.config, instance.module("d"));
    std::vector<std::string> events;
    std::map<std::string, std::vector<std::string>> seen;
    rt.on_stop([&] { events.push_back("stop handler"); });
    // Queued before consume() starts the waiter, so the stop runs before any drain it posts.
    boost::asio::post(rt.io(), [&] { rt.request_stop(); });
    rt.consume([&](std::string_view source, const shm::DecodedBatch& batch) {
      if (events.empty() || events.back() != "batch") events.push_back("batch");
      for (const auto& m : batch.metrics) seen[std::string(source)].push_back(tag_of(m, "name"));
      return true;
    });
    QCOMPARE(rt.run(), 0);
    QCOMPARE(events, (std::vector<std::string>{"stop handler", "batch"}));
    QCOMPARE(seen["s1"], names("a", 0, 150));
    QCOMPARE(seen["s2"], names("b", 0, 300));
    QCOMPARE(counter_of(rt, shm::Counter::metrics_in), std::uint64_t{450});
    for (std::size_t ring = 0; ring < segment.ring_count(); ++ring) {
      const auto stats = segment.ring_stats(ring);
      QCOMPARE(stats.read_pos, stats.write_pos);
    }
  }

  // With self_report off, the providers' values reach the health slot on the
  // heartbeat (with it on, at each self-report: tests/test_e2e_remote_write.cpp).
  void module_values_reach_the_health_slot_without_self_report() {
    Instance instance("  d:\n    type: debug_output\n");
    runtime::ModuleRuntime rt(instance.config, instance.module("d"));
    std::int64_t calls = 0;
    rt.add_self_report_values([&](std::vector<Field>& values) {
      values.push_back({"calls", ++calls});
      values.push_back({"half", 2.5});  // a double is stored rounded
    });
    shm::HealthSnapshot seen;
    boost::asio::steady_timer poll(rt.io()), deadline(rt.io());
    std::function<void()> check = [&] {
      seen = rt.health().snapshot(rt.health_slot());
      if (seen.values_time_ms > 0) return rt.request_stop();
      poll.expires_after(20ms);
      poll.async_wait([&](const boost::system::error_code& ec) {
        if (!ec) check();
      });
    };
    check();
    deadline.expires_after(10s);
    deadline.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) rt.request_stop();
    });
    QCOMPARE(rt.run(), 0);
    QVERIFY2(seen.values_time_ms > 0, "no values within 10 s (the heartbeat is every second)");
    QCOMPARE(seen.values.size(), std::size_t{2});
    QCOMPARE(seen.values[0].name, std::string("calls"));
    QVERIFY(seen.values[0].value >= 1 && seen.values[0].value <= calls);
    QCOMPARE(seen.values[1], (shm::HealthValue{"half", 3}));
    QCOMPARE(seen.values_offered, 2u);
  }

  // A handler that refuses a batch at stop keeps it, and what follows, in the ring.
  void a_refused_batch_stays_in_the_ring_at_stop() {
    Instance instance("  s:\n    type: linux_stats\n  d:\n    type: debug_output\n",
                      "ring_size: 64KiB\n");
    auto segment = instance.segment("d");
    shm::RingWriter writer(segment, *segment.ring_index("s"));
    for (int i = 0; i < 10; ++i) QVERIFY(writer.try_write(record_of("r", i, i + 1)));
    runtime::ModuleRuntime rt(instance.config, instance.module("d"));
    int offered = 0;
    boost::asio::post(rt.io(), [&] { rt.request_stop(); });
    rt.consume([&](std::string_view, const shm::DecodedBatch&) {
      ++offered;
      return false;
    });
    QCOMPARE(rt.run(), 0);
    QCOMPARE(offered, 1);
    QCOMPARE(counter_of(rt, shm::Counter::metrics_in), std::uint64_t{0});
    QCOMPARE(take_records(segment, "s").size(), std::size_t{10});
  }
};

QTEST_GUILESS_MAIN(TestRuntime)
#include "test_runtime.moc"
