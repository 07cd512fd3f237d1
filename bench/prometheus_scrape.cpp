// bench/prometheus_scrape.cpp — one full scrape of N series (3 tags each), unchanged and
// after changes, plain and gzip, beside a memcpy of the same bytes and zlib's own deflate;
// end to end over loopback HTTP; memory per held series.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <boost/asio.hpp>
#include <cstring>
#include <optional>
#include <thread>

#include "exporters/prometheus/http_server.h"
#include "exporters/prometheus/series_store.h"

using namespace bucky3;
using namespace bucky3::prometheus;

namespace {

constexpr int kSeries = 100'000;
const std::string kTail = "bucky3_exporter_scrapes_total 1\n";

Metric series_metric(int i, double value) {
  Metric m;
  m.bucket = "stats_gauges";
  m.metadata = {{"env", "prod"},
                {"host", "host-" + std::to_string(i % 50)},
                {"name", "app.metric_" + std::to_string(i)}};
  m.values = {{"", value}};
  return m;
}

SeriesStore& filled_store() {
  static SeriesStore store = [] {
    SeriesStore s;
    const auto now = SeriesStore::Clock::now();
    for (int i = 0; i < kSeries; ++i) s.apply(series_metric(i, i + 0.5), now);
    return s;
  }();
  return store;
}

// Heap in use; large blocks (the page) are mmap'ed and counted apart by glibc.
std::size_t heap_bytes() {
  const auto info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

void report(benchmark::State& state, std::size_t bytes) {
  state.SetBytesProcessed(std::int64_t(state.iterations() * bytes));
  state.counters["series/s"] =
      benchmark::Counter(double(state.iterations()) * kSeries, benchmark::Counter::kIsRate);
  state.counters["page_MB"] = double(bytes) / 1e6;
}

// Ceiling: copying the page's bytes once.
void BM_memcpy_ceiling(benchmark::State& state) {
  const auto text = *filled_store().text() + kTail;
  std::string copy(text.size(), '\0');
  for (auto _ : state) {
    std::memcpy(copy.data(), text.data(), text.size());
    benchmark::DoNotOptimize(copy.data());
    benchmark::ClobberMemory();
  }
  report(state, text.size());
}

// What a scrape costs the exporter when nothing changed: the cached page plus the tail,
// gathered into one buffer (the server itself sends the chunks without even that copy).
void BM_scrape_unchanged(benchmark::State& state) {
  auto& store = filled_store();
  std::string out;
  for (auto _ : state) {
    const auto page = store.page(false, kTail);
    out.clear();
    for (const auto& chunk : page.chunks) out += *chunk;
    benchmark::DoNotOptimize(out.data());
  }
  report(state, out.size());
}

// 1% of the series got a new value since the last scrape: the page is rebuilt.
void BM_scrape_after_changes(benchmark::State& state) {
  auto& store = filled_store();
  const auto now = SeriesStore::Clock::now();
  std::size_t size = 0;
  double value = 1;
  for (auto _ : state) {
    state.PauseTiming();
    for (int i = 0; i < kSeries; i += 100) store.apply(series_metric(i, value), now);
    value += 1;
    state.ResumeTiming();
    const auto page = store.page(false, kTail);
    size = page.size();
    benchmark::DoNotOptimize(page.chunks.data());
  }
  report(state, size);
}

// Ceiling for gzip: zlib's deflate (level 1, as the store uses) over the same bytes.
void BM_zlib_deflate_ceiling(benchmark::State& state) {
  const auto text = *filled_store().text() + kTail;
  std::string out(compressBound(uLong(text.size())), '\0');
  for (auto _ : state) {
    z_stream stream{};
    deflateInit2(&stream, 1, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY);
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    stream.avail_in = uInt(text.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = uInt(out.size());
    deflate(&stream, Z_FINISH);
    deflateEnd(&stream);
    benchmark::DoNotOptimize(out.data());
  }
  report(state, text.size());
}

void BM_scrape_gzip_unchanged(benchmark::State& state) {
  auto& store = filled_store();
  store.page(true, kTail);  // the first scrape compresses the text once
  for (auto _ : state) {
    const auto page = store.page(true, kTail);
    benchmark::DoNotOptimize(page.chunks.data());
  }
  report(state, store.text()->size() + kTail.size());
}

void BM_scrape_gzip_after_changes(benchmark::State& state) {
  auto& store = filled_store();
  const auto now = SeriesStore::Clock::now();
  double value = 1;
  for (auto _ : state) {
    state.PauseTiming();
    for (int i = 0; i < kSeries; i += 100) store.apply(series_metric(i, value), now);
    value += 1;
    state.ResumeTiming();
    const auto page = store.page(true, kTail);
    benchmark::DoNotOptimize(page.chunks.data());
  }
  report(state, store.text()->size() + kTail.size());
}

// Ingest: one flush's worth of updates (every series gets a new value).
void BM_apply_metrics(benchmark::State& state) {
  auto& store = filled_store();
  std::vector<Metric> batch;
  for (int i = 0; i < kSeries; ++i) batch.push_back(series_metric(i, 0));
  const auto now = SeriesStore::Clock::now();
  double value = 0;
  for (auto _ : state) {
    value += 1;
    for (auto& m : batch) {
      m.values[0].value = value;
      store.apply(m, now);
    }
  }
  state.counters["metrics/s"] =
      benchmark::Counter(double(state.iterations()) * kSeries, benchmark::Counter::kIsRate);
}

// Stands in for the ring consumer: on the server's own loop, 1,000 metrics every
// 10 ms (100,000 metrics/s) refresh series, so every scrape finds a changed page.
class Ingest {
 public:
  Ingest(boost::asio::io_context& io, SeriesStore& store) : timer_(io), store_(store) { tick(); }
  void stop() {
    stopped_ = true;
    timer_.cancel();
  }

 private:
  void tick() {
    const auto now = SeriesStore::Clock::now();
    for (int k = 0; k < 1000; ++k, next_ = (next_ + 1) % kSeries) {
      store_.apply(series_metric(next_, value_), now);
    }
    value_ += 1;
    timer_.expires_after(std::chrono::milliseconds(10));
    timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec && !stopped_) tick();
    });
  }
  boost::asio::steady_timer timer_;
  SeriesStore& store_;
  int next_ = 0;
  double value_ = 1;
  bool stopped_ = false;
};

// End to end: a client on loopback reads one whole scrape from the HttpServer on a
// kept-alive connection; plain or gzip, with or without 100,000 metrics/s of ingest.
void BM_http_scrape(benchmark::State& state) {
  const bool gzip = state.range(0) != 0;
  const bool ingest = state.range(1) != 0;
  auto& store = filled_store();
  boost::asio::io_context io;
  HttpServer server(io, {.local_host = "127.0.0.1:0"},
                    [&store](bool gz) { return store.page(gz, kTail); });
  const auto port = server.port();
  std::optional<Ingest> ingest_load;
  if (ingest) ingest_load.emplace(io, store);
  std::thread thread([&io] { io.run(); });

  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    state.SkipWithError("connect failed");
  }
  const std::string request = std::string("GET /metrics HTTP/1.1\r\nHost: x\r\n") +
                              (gzip ? "Accept-Encoding: gzip\r\n" : "") + "\r\n";
  std::vector<char> buffer(1 << 20);
  std::size_t body_size = 0;
  for (auto _ : state) {
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string head;
    std::size_t length = 0;
    std::size_t received = 0;
    bool have_head = false;
    while (!have_head || received < length) {
      const auto n = ::recv(fd, buffer.data(), buffer.size(), 0);
      if (n <= 0) {
        state.SkipWithError("connection lost");
        break;
      }
      if (have_head) {
        received += std::size_t(n);
        continue;
      }
      head.append(buffer.data(), std::size_t(n));
      const auto end = head.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      const auto at = head.find("Content-Length: ");
      length = std::stoull(head.substr(at + 16));
      received = head.size() - end - 4;
      have_head = true;
    }
    body_size = length;
  }
  ::close(fd);
  boost::asio::post(io, [&] {
    server.stop();
    if (ingest_load) ingest_load->stop();
  });
  thread.join();
  report(state, gzip ? store.text()->size() + kTail.size() : body_size);
  state.counters["wire_MB"] = double(body_size) / 1e6;
}

// Ceiling for the HTTP scrape: the same bytes sent by a plain loopback TCP socket
// (write on a one-byte request, read them all), no HTTP at all.
void BM_loopback_ceiling(benchmark::State& state) {
  const auto text = *filled_store().text() + kTail;
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::listen(listener, 1);
  socklen_t length = sizeof address;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  std::thread sender([&] {
    const int fd = ::accept(listener, nullptr, nullptr);
    char byte;
    while (::recv(fd, &byte, 1, 0) == 1) ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
    ::close(fd);
  });
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  std::vector<char> buffer(1 << 20);
  for (auto _ : state) {
    ::send(fd, "x", 1, MSG_NOSIGNAL);
    std::size_t received = 0;
    while (received < text.size()) {
      const auto n = ::recv(fd, buffer.data(), buffer.size(), 0);
      if (n <= 0) break;
      received += std::size_t(n);
    }
  }
  ::close(fd);
  sender.join();
  ::close(listener);
  report(state, text.size());
}

// Heap bytes per held series, cached lines and the cached page (and its gzip) included.
void BM_memory_per_series(benchmark::State& state) {
  const auto series = int(state.range(0));
  for (auto _ : state) {
    const auto before = heap_bytes();
    {
      SeriesStore store({.values_timeout = std::chrono::seconds(60), .max_series = 2'000'000});
      const auto now = SeriesStore::Clock::now();
      for (int i = 0; i < series; ++i) store.apply(series_metric(i, i + 0.5), now);
      const auto without_page = heap_bytes();
      store.page(true, kTail);
      store.page(false, kTail);
      const auto with_page = heap_bytes();
      state.counters["B/series"] = double(with_page - before) / series;
      state.counters["B/series_no_page"] = double(without_page - before) / series;
      state.counters["text_B/series"] = double(store.stats().text_bytes) / series;
    }
  }
}

}  // namespace

BENCHMARK(BM_memcpy_ceiling)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_scrape_unchanged)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_scrape_after_changes)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_zlib_deflate_ceiling)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_scrape_gzip_unchanged)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_scrape_gzip_after_changes)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_apply_metrics)->Unit(benchmark::kMillisecond);
// Two threads (client and server): wall-clock time, not the client's CPU time.
BENCHMARK(BM_loopback_ceiling)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_http_scrape)
    ->ArgNames({"gzip", "ingest"})
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({0, 1})
    ->Args({1, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_memory_per_series)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
