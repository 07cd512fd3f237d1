// tests/test_runtime.cpp — what the runtime does to every metric a source sends:
// global metadata merged (the metric's own tags win), filters, add_timestamps.
#include <QtTest>

#include "daemon/runtime/runtime.h"

using namespace bucky3;

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
};

QTEST_GUILESS_MAIN(TestRuntime)
#include "test_runtime.moc"
