// tests/test_dump.cpp — the .b3dump writer and reader: round trips fed whole and
// byte by byte, a cut at every byte (mid-frame and at frame boundaries), a flip
// of every byte, and reading from a pipe while it is written.
#include <unistd.h>

#include <QtTest>
#include <cstring>
#include <sstream>
#include <thread>

#include "shm/batch_codec.h"
#include "shm/dump.h"

using namespace bucky3::shm;
using namespace bucky3::shm::dump;

namespace {

std::vector<std::byte> batch_of(int n) {
  std::vector<bucky3::Metric> metrics;
  for (int i = 0; i < n; ++i) {
    bucky3::Metric m;
    m.bucket = "stats_counters";
    m.metadata = {{"host", "web1"}, {"name", "requests_" + std::to_string(i)}};
    m.values = {{"count", double(i)}, {"rate", i / 10.0}};
    metrics.push_back(std::move(m));
  }
  std::vector<std::byte> out;
  encode_batch(metrics, out);
  return out;
}

Header test_header() {
  return {.instance = "default",
          .ring = "prometheus_exporter",
          .source = "",
          .host = "web1",
          .capture_start_ms = 1764100000000,
          .writer = "test"};
}

// A dump of `records` records, with a missed count after the third, and the
// byte offsets where frames end (frame_bytes small so there are several).
struct Sample {
  std::string bytes;
  std::vector<Item> items;  // what a reader must return, header to trailer
  std::vector<std::size_t> frame_ends;
};

Sample make_sample(int records, std::size_t frame_bytes = 2000, bool close = true) {
  Sample s;
  std::ostringstream out;
  Writer writer(out, test_header(), {.zstd_level = 1, .frame_bytes = frame_bytes});
  s.items.push_back(test_header());
  std::uint64_t frames = 0;
  const auto note_frame = [&] {
    if (writer.frames() != frames) {
      frames = writer.frames();
      s.frame_ends.push_back(out.str().size());
    }
  };
  s.frame_ends.push_back(out.str().size());  // after the header
  for (int i = 0; i < records; ++i) {
    Record r{1764100000000 + i * 100, i % 2 ? "statsd_server" : "linux_stats", batch_of(1 + i % 7)};
    writer.add_record(r.capture_time_ms, r.source, r.batch);
    s.items.push_back(r);
    note_frame();
    if (i == 2) {
      writer.add_missed(1764100000250, "statsd_server", 12, 34567);
      s.items.push_back(Missed{1764100000250, "statsd_server", 12, 34567});
      note_frame();
    }
  }
  writer.flush();
  note_frame();
  if (close) {
    writer.close(1764100009999);
    s.items.push_back(
        Trailer{1764100009999, writer.frames(), writer.records(), writer.missed_records()});
  }
  s.bytes = out.str();
  return s;
}

struct ReadResult {
  std::vector<Item> items;
  Reader::Status last = Reader::Status::need_more;
  std::string error;
  bool truncated = false;
};

ReadResult read_all(std::string_view bytes, std::size_t chunk) {
  Reader reader;
  ReadResult result;
  std::size_t pos = 0;
  for (;;) {
    Item item;
    const auto status = reader.next(item);
    if (status == Reader::Status::item) {
      result.items.push_back(std::move(item));
      continue;
    }
    if (status == Reader::Status::need_more) {
      if (pos == bytes.size()) {
        reader.finish();
        continue;
      }
      const auto n = std::min(chunk, bytes.size() - pos);
      reader.feed(std::as_bytes(std::span(bytes.data() + pos, n)));
      pos += n;
      continue;
    }
    result.last = status;
    result.error = reader.error();
    result.truncated = reader.truncated();
    return result;
  }
}

}  // namespace

class TestDump : public QObject {
  Q_OBJECT
 private slots:
  void round_trip_data() {
    QTest::addColumn<int>("records");
    QTest::addColumn<int>("chunk");
    QTest::newRow("empty, whole") << 0 << (1 << 20);
    QTest::newRow("one record, whole") << 1 << (1 << 20);
    QTest::newRow("many frames, whole") << 60 << (1 << 20);
    QTest::newRow("many frames, byte by byte") << 60 << 1;
    QTest::newRow("many frames, 7-byte pieces") << 60 << 7;
  }
  void round_trip() {
    QFETCH(int, records);
    QFETCH(int, chunk);
    const auto sample = make_sample(records);
    if (records > 10) QVERIFY(sample.frame_ends.size() > 4);
    const auto result = read_all(sample.bytes, static_cast<std::size_t>(chunk));
    QCOMPARE(int(result.last), int(Reader::Status::end));
    QVERIFY2(result.error.empty(), result.error.c_str());
    QCOMPARE(result.items.size(), sample.items.size());
    QVERIFY(result.items == sample.items);
  }

  void batches_survive_intact() {
    const auto sample = make_sample(5);
    const auto result = read_all(sample.bytes, 1 << 20);
    DecodedBatch decoded;
    int records = 0;
    for (const auto& item : result.items) {
      if (const auto* r = std::get_if<Record>(&item)) {
        QVERIFY(!decode_batch(r->batch, decoded));
        QCOMPARE(decoded.metrics.size(), std::size_t(1 + records % 7));
        ++records;
      }
    }
    QCOMPARE(records, 5);
  }

  // A cut anywhere is an error that says "truncated", and everything before the
  // last complete frame is still returned, intact.
  void cut_at_every_byte() {
    const auto sample = make_sample(30);
    const auto& bytes = sample.bytes;
    for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
      const auto result = read_all(std::string_view(bytes).substr(0, cut), 13);
      QVERIFY2(result.last == Reader::Status::error, qPrintable(QString::number(cut)));
      QVERIFY2(result.truncated, qPrintable(QString::number(cut) + ": " + result.error.c_str()));
      QVERIFY2(result.error.starts_with("truncated: "), result.error.c_str());
      // Items returned are a prefix of the real ones.
      QVERIFY(result.items.size() < sample.items.size());
      for (std::size_t i = 0; i < result.items.size(); ++i)
        QVERIFY(result.items[i] == sample.items[i]);
      const bool at_boundary = std::find(sample.frame_ends.begin(), sample.frame_ends.end(), cut) !=
                               sample.frame_ends.end();
      if (at_boundary && cut > 0) {
        QVERIFY2(result.error.find("without its trailer") != std::string::npos,
                 result.error.c_str());
        QVERIFY2(result.error.find("frame boundary") != std::string::npos, result.error.c_str());
      }
      if (cut > sample.frame_ends.front() && !at_boundary) {
        const bool inside = result.error.find("inside") != std::string::npos;
        QVERIFY2(inside, result.error.c_str());
      }
    }
  }

  void cut_at_a_frame_boundary_keeps_every_record() {
    const auto sample = make_sample(30, 2000, /*close=*/false);
    const auto result = read_all(sample.bytes, 1 << 20);
    QCOMPARE(int(result.last), int(Reader::Status::error));
    QVERIFY(result.truncated);
    QVERIFY2(result.error.find("without its trailer") != std::string::npos, result.error.c_str());
    QCOMPARE(result.items.size(), sample.items.size());  // no trailer item was expected
  }

  // Any single flipped byte is an error, never a clean end or a crash.
  void flipped_byte_anywhere() {
    const auto sample = make_sample(12);
    for (std::size_t at = 0; at < sample.bytes.size(); ++at) {
      for (const unsigned char mask : {0x01, 0x80, 0xff}) {
        auto bytes = sample.bytes;
        bytes[at] = static_cast<char>(bytes[at] ^ mask);
        const auto result = read_all(bytes, 4096);
        QVERIFY2(result.last == Reader::Status::error,
                 qPrintable(QString("byte %1 mask %2").arg(at).arg(mask)));
        QVERIFY(!result.error.empty());
      }
    }
  }

  void refuses_data_after_the_trailer() {
    const auto sample = make_sample(3);
    const auto result = read_all(sample.bytes + "x", 1 << 20);
    QCOMPARE(int(result.last), int(Reader::Status::error));
    QVERIFY2(result.error.find("follow the trailer") != std::string::npos, result.error.c_str());
  }

  void names_what_it_refuses_data() {
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<QString>("message");
    QTest::newRow("empty") << QByteArray() << "the input is empty";
    QTest::newRow("text") << QByteArray("hello world\n")
                          << "not a .b3dump file: it starts with 68 65";
    QTest::newRow("crlf mangled") << QByteArray("B3DUMP\n\x01\x00", 9) << "text-mode copy";
    auto v2 = QByteArray::fromStdString(make_sample(1).bytes);
    v2[8] = 2;
    QTest::newRow("version 2") << v2 << "dump format version 2, this build reads version 1";
    auto crc = QByteArray::fromStdString(make_sample(1).bytes);
    crc[20] = char(crc[20] ^ 1);
    QTest::newRow("header bit") << crc << "corrupt: ";
  }
  void names_what_it_refuses() {
    QFETCH(QByteArray, input);
    QFETCH(QString, message);
    const auto result = read_all(std::string_view(input.constData(), input.size()), 1 << 20);
    QCOMPARE(int(result.last), int(Reader::Status::error));
    QVERIFY2(QString::fromStdString(result.error).contains(message), result.error.c_str());
  }

  void reads_a_pipe_while_it_is_written() {
    int fds[2];
    QCOMPARE(::pipe(fds), 0);
    const auto sample = make_sample(40);
    std::thread writer([&] {
      // Odd-sized pieces with pauses, as a live capture arrives.
      std::size_t pos = 0;
      while (pos < sample.bytes.size()) {
        const auto n = std::min<std::size_t>(333, sample.bytes.size() - pos);
        if (::write(fds[1], sample.bytes.data() + pos, n) != static_cast<ssize_t>(n)) break;
        pos += n;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
      ::close(fds[1]);
    });
    FdReader reader(fds[0]);
    std::vector<Item> items;
    Item item;
    Reader::Status status;
    while ((status = reader.next(item)) == Reader::Status::item) items.push_back(item);
    writer.join();
    ::close(fds[0]);
    QCOMPARE(int(status), int(Reader::Status::end));
    QVERIFY(items == sample.items);
  }

  void writer_reports_a_failing_stream() {
    std::ostringstream out;
    Writer writer(out, test_header());
    out.setstate(std::ios::badbit);
    const auto batch = batch_of(3);
    bool threw = false;
    try {
      writer.add_record(1, "statsd_server", batch);
      writer.flush();
    } catch (const WriteError&) {
      threw = true;
    }
    QVERIFY(threw);
  }

  void writer_refuses_use_after_close() {
    std::ostringstream out;
    Writer writer(out, test_header());
    writer.close(2);
    QVERIFY_THROWS_EXCEPTION(WriteError, writer.add_record(3, "s", batch_of(1)));
  }
};

QTEST_GUILESS_MAIN(TestDump)
#include "test_dump.moc"
