// tests/test_remote_write_module.cpp — remote_write_client run in this process on a
// real ModuleRuntime (shared memory laid out as the supervisor lays it out): what it
// counts in the health block and the names of the values it self_reports.
#include <QtTest>
#include <boost/asio/post.hpp>
#include <cstdio>
#include <set>
#include <sstream>

#include "daemon/runtime/runtime.h"
#include "exporters/remote_write/module.h"
#include "shm/batch_codec.h"
#include "tests/support/instance_shm.h"

using namespace bucky3;

namespace {

std::vector<std::byte> record_of(int metrics, std::int64_t time_ms) {
  std::vector<Metric> batch;
  for (int i = 0; i < metrics; ++i) {
    Metric m;
    m.bucket = "stats_counters";
    m.metadata = {{"name", "c" + std::to_string(i)}};
    m.timestamp_ms = time_ms;
    m.values = {{"count", std::int64_t{i}}, {"rate", 0.5 * i}};
    batch.push_back(std::move(m));
  }
  std::vector<std::byte> record;
  shm::encode_batch(batch, record);
  return record;
}

std::uint64_t counter_of(runtime::ModuleRuntime& rt, shm::Counter counter) {
  return rt.health().snapshot(rt.health_slot()).counters[std::size_t(counter)];
}

std::int64_t value_of(const std::vector<Field>& values, const std::string& name) {
  for (const auto& f : values)
    if (f.name == name) return std::get<std::int64_t>(f.value);
  return -1;
}

std::string rw_config(const std::string& urls) {
  return "  s:\n    type: linux_stats\n    destinations: [rw]\n"
         "  rw:\n    type: remote_write_client\n    remote_urls: [" +
         urls + "]\n";
}

}  // namespace

class TestRemoteWriteModule : public QObject {
  Q_OBJECT
 private slots:
  // bytes_in is what the runtime read from the rings, once: the module added the
  // protobuf bytes of every request to it as well (so it read about twice the ring).
  void bytes_in_counts_the_ring_bytes_once() {
    test::InstanceShm instance(rw_config("\"http://127.0.0.1:9/api/v1/write\""));
    auto segment = instance.segment("rw");
    shm::RingWriter writer(segment, *segment.ring_index("s"));
    const auto first = record_of(40, 1'796'161'645'000), second = record_of(7, 1'796'161'646'000);
    QVERIFY(writer.try_write(first));
    QVERIFY(writer.try_write(second));
    runtime::ModuleRuntime rt(instance.config, instance.module("rw"));
    std::ostringstream replay;  // nothing is sent: the requests are written here
    rt.set_replay_output(&replay);
    std::vector<Field> values;
    // Runs first on the loop: the stop drains both records through the module.
    boost::asio::post(rt.io(), [&] {
      rt.request_stop();
      values = rt.module_values();
    });
    QCOMPARE(remote_write::run_remote_write_client(rt), 0);
    QCOMPARE(counter_of(rt, shm::Counter::metrics_in), std::uint64_t{47});
    QCOMPARE(counter_of(rt, shm::Counter::bytes_in), std::uint64_t(first.size() + second.size()));
    QCOMPARE(value_of(values, "samples_encoded"), std::int64_t{94});
    // The protobuf bytes have their own value: the sum of the requests' sizes.
    std::int64_t replayed = 0;
    std::istringstream lines(replay.str());
    for (std::string line; std::getline(lines, line);) {
      long long samples = 0, bytes = 0;
      if (std::sscanf(line.c_str(), "# remote_write request: %lld samples, %lld bytes", &samples,
                      &bytes) == 2)
        replayed += bytes;
    }
    QVERIFY(replayed > 0);
    QCOMPARE(value_of(values, "uncompressed_bytes"), replayed);
  }

  // Every value the module self_reports has its own name, none the name of a
  // counter or of the runtime's own values (the runtime reports those in the same
  // metric): a global "retries" collided with Counter::retries. Per URL: samples
  // and requests sent, retries, last status, queue.
  void self_report_values_have_unique_names() {
    const int closed = test::free_port(false);  // nothing listens: nothing is sent
    const auto url = "\"http://127.0.0.1:" + std::to_string(closed) + "/api/v1/write\"";
    test::InstanceShm instance(rw_config(url + ", " + url));
    runtime::ModuleRuntime rt(instance.config, instance.module("rw"));
    std::vector<Field> values;
    boost::asio::post(rt.io(), [&] {
      values = rt.module_values();
      rt.request_stop();
    });
    QCOMPARE(remote_write::run_remote_write_client(rt), 0);
    std::set<std::string> taken{"cpu_seconds", "max_rss_bytes", "uptime_seconds"};
    for (std::size_t c = 0; c < shm::counter_count; ++c)
      taken.insert(std::string(shm::to_string(static_cast<shm::Counter>(c))));
    std::set<std::string> names;
    for (const auto& f : values) {
      QVERIFY2(!taken.count(f.name), ("collides with the runtime's: " + f.name).c_str());
      QVERIFY2(names.insert(f.name).second, ("twice: " + f.name).c_str());
      QVERIFY2(f.name.size() <= shm::health_value_name_bytes, f.name.c_str());
    }
    for (const std::string url_index : {"url0_", "url1_"}) {
      for (const char* what :
           {"samples_sent", "requests_sent", "retries", "last_status", "queued_samples"})
        QVERIFY2(names.count(url_index + what), (url_index + what).c_str());
    }
    QCOMPARE(value_of(values, "url0_samples_sent"), std::int64_t{0});
    QCOMPARE(value_of(values, "url1_last_status"), std::int64_t{-1});
    QVERIFY(values.size() <= shm::health_value_slots);
  }
};

QTEST_GUILESS_MAIN(TestRemoteWriteModule)
#include "test_remote_write_module.moc"
