// tests/test_decompress.cpp — detect_compression() and decompress(): every format,
// concatenated streams, truncated and corrupt input, the size cap and bombs.
#include <sys/resource.h>

#include <QtTest>
#include <string>

#include "collectors/statsd/decompress.h"
#include "tests/support/compression.h"

using namespace bucky3::statsd;
using namespace bucky3::test;

Q_DECLARE_METATYPE(Compression)

namespace {

std::span<const char> span_of(const QByteArray& bytes) {
  return {bytes.constData(), std::size_t(bytes.size())};
}

QByteArray zlib_of(const QByteArray& text) {
  return deflate_stream(text, 1, 15);
}
QByteArray gzip_of(const QByteArray& text) {
  return deflate_stream(text, 1, 31);
}

// One-shot: the frame header carries the content size.
QByteArray zstd_of(const QByteArray& text) {
  return zstd_frame(text, 3);
}

QByteArray compress(Compression compression, const QByteArray& text) {
  switch (compression) {
    case Compression::none: return text;
    case Compression::zlib: return zlib_of(text);
    case Compression::gzip: return gzip_of(text);
    case Compression::zstd: return zstd_of(text);
  }
  return {};
}

QByteArray lines(int count) {
  QByteArray text;
  for (int i = 0; i < count; ++i)
    text += "app.requests,host=web" + QByteArray::number(i % 7) + ":1|c\n";
  return text;
}

long max_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

}  // namespace

class TestDecompress : public QObject {
  Q_OBJECT
 private slots:
  void detects_by_magic_data() {
    QTest::addColumn<QByteArray>("data");
    QTest::addColumn<Compression>("expected");
    QTest::newRow("plain line") << QByteArray("foo:1|c") << Compression::none;
    QTest::newRow("plain starting with x") << QByteArray("x:1|c") << Compression::none;
    QTest::newRow("empty") << QByteArray() << Compression::none;
    QTest::newRow("one byte 0x78") << QByteArray("\x78", 1) << Compression::none;
    QTest::newRow("zlib fastest") << QByteArray("\x78\x01", 2) << Compression::zlib;
    QTest::newRow("zlib fast") << QByteArray("\x78\x5e", 2) << Compression::zlib;
    QTest::newRow("zlib default") << QByteArray("\x78\x9c", 2) << Compression::zlib;
    QTest::newRow("zlib best") << QByteArray("\x78\xda", 2) << Compression::zlib;
    QTest::newRow("0x78 bad FLG") << QByteArray("\x78\x9d", 2) << Compression::none;
    QTest::newRow("gzip") << QByteArray("\x1f\x8b\x08", 3) << Compression::gzip;
    QTest::newRow("zstd") << QByteArray("\x28\xb5\x2f\xfd", 4) << Compression::zstd;
    QTest::newRow("zstd cut") << QByteArray("\x28\xb5\x2f", 3) << Compression::none;
    QTest::newRow("real zlib") << zlib_of("a:1|c") << Compression::zlib;
    QTest::newRow("real gzip") << gzip_of("a:1|c") << Compression::gzip;
    QTest::newRow("real zstd") << zstd_of("a:1|c") << Compression::zstd;
  }
  void detects_by_magic() {
    QFETCH(QByteArray, data);
    QFETCH(Compression, expected);
    QCOMPARE(detect_compression(span_of(data)), expected);
  }

  void round_trips_data() {
    QTest::addColumn<Compression>("compression");
    QTest::addColumn<QByteArray>("text");
    for (auto c : {Compression::none, Compression::zlib, Compression::gzip, Compression::zstd}) {
      const auto name = to_string(c);
      QTest::addRow("%s one line", name.data()) << c << QByteArray("foo:1|c");
      QTest::addRow("%s 20k lines", name.data()) << c << lines(20000);
      QTest::addRow("%s empty", name.data()) << c << QByteArray();
    }
  }
  void round_trips() {
    QFETCH(Compression, compression);
    QFETCH(QByteArray, text);
    const auto packed = compress(compression, text);
    if (compression != Compression::none && !text.isEmpty()) {
      QCOMPARE(detect_compression(span_of(packed)), compression);
    }
    std::string out = "stale bytes from the previous datagram";
    const auto error = decompress(span_of(packed), compression, 1 << 20, out);
    QVERIFY2(!error, error ? error->reason.data() : "");
    QCOMPARE(QByteArray::fromStdString(out), text);
  }

  void concatenated_streams() {
    std::string out;
    const auto gzip = gzip_of("a:1|c\n") + gzip_of("b:2|c\n");
    QVERIFY(!decompress(span_of(gzip), Compression::gzip, 1024, out));
    QCOMPARE(out, std::string("a:1|c\nb:2|c\n"));
    const auto zstd = zstd_of("a:1|c\n") + zstd_of("b:2|c\n");
    QVERIFY(!decompress(span_of(zstd), Compression::zstd, 1024, out));
    QCOMPARE(out, std::string("a:1|c\nb:2|c\n"));
  }

  void rejects_bad_input_data() {
    QTest::addColumn<Compression>("compression");
    QTest::addColumn<QByteArray>("data");
    QTest::addColumn<QString>("reason");
    const auto text = lines(200);
    for (auto c : {Compression::zlib, Compression::gzip, Compression::zstd}) {
      const auto name = to_string(c);
      const auto packed = compress(c, text);
      QTest::addRow("%s truncated by half", name.data())
          << c << packed.left(packed.size() / 2) << "truncated compressed data";
      QTest::addRow("%s missing last byte", name.data())
          << c << packed.left(packed.size() - 1) << "truncated compressed data";
      QTest::addRow("%s magic only", name.data())
          << c << packed.left(c == Compression::zstd ? 4 : 2) << "truncated compressed data";
      auto corrupt = packed;
      // Past the headers, inside the compressed blocks.
      for (int i = 12; i < 40 && i < corrupt.size(); ++i) corrupt[i] = char(corrupt[i] ^ 0x5a);
      QTest::addRow("%s corrupt body", name.data())
          << c << corrupt << QString("corrupt %1 data").arg(name.data());
    }
    auto bad_checksum = zlib_of(text);
    bad_checksum[bad_checksum.size() - 1] = char(bad_checksum.back() ^ 1);
    QTest::newRow("zlib adler32 mismatch")
        << Compression::zlib << bad_checksum << "corrupt zlib data";
    auto bad_crc = gzip_of(text);
    bad_crc[bad_crc.size() - 5] = char(bad_crc[bad_crc.size() - 5] ^ 1);
    QTest::newRow("gzip crc mismatch") << Compression::gzip << bad_crc << "corrupt gzip data";
    QTest::newRow("zlib trailing garbage") << Compression::zlib << zlib_of(text) + "junk"
                                           << "trailing bytes after compressed data";
    QTest::newRow("gzip trailing garbage") << Compression::gzip << gzip_of(text) + "junk"
                                           << "trailing bytes after compressed data";
    QTest::newRow("zstd trailing garbage") << Compression::zstd << zstd_of(text) + "junk"
                                           << "corrupt zstd data";
  }
  void rejects_bad_input() {
    QFETCH(Compression, compression);
    QFETCH(QByteArray, data);
    QFETCH(QString, reason);
    std::string out;
    const auto error = decompress(span_of(data), compression, 1 << 20, out);
    QVERIFY(error);
    QCOMPARE(QString::fromLatin1(error->reason.data(), int(error->reason.size())), reason);
  }

  void caps_output_data() {
    QTest::addColumn<Compression>("compression");
    QTest::addColumn<int>("size");
    QTest::addColumn<int>("cap");
    QTest::addColumn<bool>("accepted");
    for (auto c : {Compression::none, Compression::zlib, Compression::gzip, Compression::zstd}) {
      const auto name = to_string(c);
      QTest::addRow("%s at the cap", name.data()) << c << 5000 << 5000 << true;
      QTest::addRow("%s one over", name.data()) << c << 5001 << 5000 << false;
      QTest::addRow("%s far over", name.data()) << c << 300000 << 5000 << false;
      QTest::addRow("%s cap 0, empty", name.data()) << c << 0 << 0 << true;
    }
  }
  void caps_output() {
    QFETCH(Compression, compression);
    QFETCH(int, size);
    QFETCH(int, cap);
    QFETCH(bool, accepted);
    const QByteArray text(size, 'a');
    const auto packed = compress(compression, text);
    std::string out;
    const auto error = decompress(span_of(packed), compression, std::size_t(cap), out);
    QCOMPARE(!error, accepted);
    if (accepted) {
      QCOMPARE(out.size(), std::size_t(size));
    } else {
      QCOMPARE(error->reason, kOverMaxDatagramSize);
      QVERIFY(out.size() <= std::size_t(cap) + 1);
    }
  }

  // 100 MB of zeros in ~100 KB (deflate) or ~3 KB (zstd): dropped after at most
  // max_output bytes of output, and peak RSS barely moves.
  void bomb_costs_bounded_memory_data() {
    QTest::addColumn<Compression>("compression");
    QTest::addColumn<QByteArray>("bomb");
    const QByteArray mib(1 << 20, '\0');
    QTest::newRow("zlib") << Compression::zlib << deflate_stream(mib, 100, 15);
    QTest::newRow("gzip") << Compression::gzip << deflate_stream(mib, 100, 31);
    QTest::newRow("zstd, size unknown") << Compression::zstd << zstd_stream(mib, 100);
  }
  void bomb_costs_bounded_memory() {
    QFETCH(Compression, compression);
    QFETCH(QByteArray, bomb);
    QVERIFY(bomb.size() < 200 * 1024);
    QCOMPARE(detect_compression(span_of(bomb)), compression);
    const long before_kib = max_rss_kib();
    std::string out;
    const auto error = decompress(span_of(bomb), compression, 1 << 20, out);
    QVERIFY(error);
    QCOMPARE(error->reason, kOverMaxDatagramSize);
    QVERIFY(out.size() <= (1 << 20) + 1);
    // The output buffer (1 MiB) plus a decoder window (zstd: at most 8 MiB);
    // 64 MiB leaves room for ASan's shadow memory.
    const long grown_kib = max_rss_kib() - before_kib;
    QVERIFY2(grown_kib < 64 * 1024, qPrintable(QString("peak RSS grew %1 KiB").arg(grown_kib)));
  }

  // A zstd header announcing more than the cap is refused before decoding.
  void zstd_declared_size_over_cap() {
    const QByteArray big(2 << 20, 'z');
    const auto packed = zstd_of(big);
    QVERIFY(ZSTD_getFrameContentSize(packed.constData(), packed.size()) == std::size_t(big.size()));
    std::string out;
    const auto error = decompress(span_of(packed), Compression::zstd, 1 << 20, out);
    QVERIFY(error);
    QCOMPARE(error->reason, kOverMaxDatagramSize);
  }

  // The same buffer serves datagram after datagram, errors in between.
  void reuses_output_buffer() {
    std::string out;
    const auto good = zlib_of(lines(100));
    const auto bad = good.left(good.size() / 2);
    for (int i = 0; i < 50; ++i) {
      QVERIFY(!decompress(span_of(good), Compression::zlib, 1 << 20, out));
      QCOMPARE(QByteArray::fromStdString(out), lines(100));
      QVERIFY(decompress(span_of(bad), Compression::zlib, 1 << 20, out));
    }
  }
};

QTEST_GUILESS_MAIN(TestDecompress)
#include "test_decompress.moc"
