// fuzz/fuzz_http_request.cpp — any bytes as what a client sends to the exporter's
// HttpServer (one in-process server on 127.0.0.1, its io_context on a thread),
// in up to three writes, then a half-close. The server must answer only whole
// HTTP/1.1 responses with a known status and close within 5 s; a crash, a
// sanitizer report or a hang is a bug.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "exporters/prometheus/http_server.h"

namespace {

using namespace bucky3::prometheus;

struct Server {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{io.get_executor()};
  std::unique_ptr<HttpServer> server;
  std::thread thread;

  Server() {
    HttpOptions options;
    options.local_host = "127.0.0.1:0";
    options.max_header_bytes = 2048;  // small, so the fuzzer reaches the limit
    server = std::make_unique<HttpServer>(io, options, [](bool gzip) {
      ScrapePage page;
      page.chunks.push_back(std::make_shared<const std::string>("# TYPE x gauge\nx 1\n"));
      if (gzip) {
        const auto prefix = gzip_prefix("# TYPE x gauge\n");
        page.chunks = {prefix.bytes,
                       std::make_shared<const std::string>(gzip_finish(prefix, "x 1\n"))};
        page.gzip = true;
      }
      return page;
    });
    thread = std::thread([this] { io.run(); });
  }
};

Server& server() {
  static Server* instance = new Server();  // never destroyed: libFuzzer exits with _exit
  return *instance;
}

bool known_status(int status) {
  switch (status) {
    case 200:
    case 400:
    case 404:
    case 405:
    case 413:
    case 431:
    case 500:
    case 505: return true;
    default: return false;
  }
}

// Every response in `bytes` is a status line with a known code, headers and,
// with Content-Length, that many bytes of body.
void check_responses(const std::string& bytes, bool head_only) {
  std::size_t at = 0;
  while (at < bytes.size()) {
    if (bytes.compare(at, 9, "HTTP/1.1 ") != 0) {
      std::fprintf(stderr, "not a status line at %zu\n", at);
      std::abort();
    }
    const int status = std::atoi(bytes.c_str() + at + 9);
    if (!known_status(status)) {
      std::fprintf(stderr, "unexpected status %d\n", status);
      std::abort();
    }
    const auto end = bytes.find("\r\n\r\n", at);
    if (end == std::string::npos) {
      std::fprintf(stderr, "headers not ended\n");
      std::abort();
    }
    std::size_t length = 0;
    const auto field = bytes.find("Content-Length: ", at);
    if (field != std::string::npos && field < end)
      length = std::strtoull(bytes.c_str() + field + 16, nullptr, 10);
    at = end + 4;
    // A HEAD answer carries the length of a body it does not send; the server
    // closes a connection whose requests it could not tell apart, so stop there.
    if (head_only) return;
    at += length;
  }
}

// A connected socket to the server, or -1 when the harness itself cannot get
// one (the client side out of ports or descriptors: a few thousand inputs a
// second leave each client port in TIME_WAIT for a minute). The source address
// cycles over 127.0.0.1-127.0.0.254, so each has its own ports; a failed attempt
// is retried with a pause. A harness failure is not a finding: the caller skips
// that input and says so, it never aborts.
int connect_to(std::uint16_t port) {
  static std::uint32_t next_source = 0;
  int last_errno = 0;
  for (int attempt = 0; attempt < 50; ++attempt) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last_errno = errno;
    } else {
      sockaddr_in source{};
      source.sin_family = AF_INET;
      source.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1 + next_source++ % 254);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(port);
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source) == 0 &&
          ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        return fd;
      }
      last_errno = errno;
      ::close(fd);
    }
    ::usleep(1000 * (attempt + 1));
  }
  static unsigned long skipped = 0;
  std::fprintf(stderr, "fuzz_http_request: harness could not connect (%s), input %lu skipped\n",
               std::strerror(last_errno), ++skipped);
  return -1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Server& s = server();
  const int fd = connect_to(s.server->port());
  if (fd < 0) return 0;
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  const std::string input(reinterpret_cast<const char*>(data), size);
  // The first byte picks where the input is split into writes.
  const std::size_t cut1 = size ? data[0] % (size + 1) : 0;
  const std::size_t cut2 = cut1 + (size > cut1 ? (size - cut1) / 2 : 0);
  for (const auto& piece :
       {input.substr(0, cut1), input.substr(cut1, cut2 - cut1), input.substr(cut2)}) {
    // The server may close early (a bad request): the rest is then refused.
    if (!piece.empty() && ::send(fd, piece.data(), piece.size(), MSG_NOSIGNAL) < 0) break;
  }
  ::shutdown(fd, SHUT_WR);
  std::string response;
  char buffer[65536];
  bool clean_close = false;
  while (true) {
    const auto n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n > 0) {
      response.append(buffer, std::size_t(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      std::fprintf(stderr, "the server neither answered nor closed within 5 s\n");
      std::abort();
    }
    clean_close = n == 0;
    break;
  }
  ::close(fd);
  // A reset (the server closed on bytes it had not read) may cut what it sent.
  if (clean_close) check_responses(response, input.find("HEAD") != std::string::npos);
  return 0;
}
