// The fake Docker Engine; see fake_docker_engine.h. Plain POSIX sockets and a
// thread per connection: it must stay simple enough to trust as a test peer.
#include "tests/support/fake_docker_engine.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace bucky3::test {

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const auto sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(sent));
  }
  return true;
}

// "1.44" → 1044, so versions compare as numbers; -1 when unparsable.
int version_number(std::string_view text) {
  const auto dot = text.find('.');
  if (dot == std::string_view::npos) return -1;
  try {
    return std::stoi(std::string(text.substr(0, dot))) * 1000 +
           std::stoi(std::string(text.substr(dot + 1)));
  } catch (const std::exception&) {
    return -1;
  }
}

std::string json_string(const std::string& body, const char* key) {
  boost::system::error_code ec;
  const auto value = boost::json::parse(body, ec);
  if (ec || !value.is_object()) return {};
  const auto* member = value.get_object().if_contains(key);
  if (member == nullptr || !member->is_string()) return {};
  return std::string(member->get_string());
}

std::string error_body(const std::string& message) {
  return "{\"message\":\"" + message + "\"}\n";
}

}  // namespace

EngineData load_engine_data(const std::string& dir) {
  EngineData data;
  data.version = slurp(fs::path(dir) / "version.json");
  data.containers = slurp(fs::path(dir) / "containers.json");
  if (fs::exists(fs::path(dir) / "sizes.json")) data.sizes = slurp(fs::path(dir) / "sizes.json");
  if (fs::exists(fs::path(dir) / "inspect")) {
    for (const auto& entry : fs::directory_iterator(fs::path(dir) / "inspect")) {
      data.inspect[entry.path().stem().string()] = slurp(entry.path());
    }
  }
  return data;
}

FakeDockerEngine::FakeDockerEngine(std::string socket_path, EngineData data)
    : socket_path_(std::move(socket_path)), data_(std::move(data)) {
  ::unlink(socket_path_.c_str());
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path_.size() >= sizeof address.sun_path)
    throw std::runtime_error("socket path too long");
  std::memcpy(address.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listen_fd_, 64) != 0) {
    throw std::runtime_error("cannot listen on " + socket_path_ + ": " + std::strerror(errno));
  }
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeDockerEngine::~FakeDockerEngine() {
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto written = ::write(stop_fd_, &one, sizeof one);
  acceptor_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mutex_);
    workers.swap(workers_);
  }
  for (auto& worker : workers) worker.join();
  ::close(listen_fd_);
  ::close(stop_fd_);
  ::unlink(socket_path_.c_str());
}

void FakeDockerEngine::set_fault(EngineFault fault, std::string where) {
  std::lock_guard lock(mutex_);
  fault_ = fault;
  fault_where_ = std::move(where);
}

void FakeDockerEngine::set_data(EngineData data) {
  std::lock_guard lock(mutex_);
  data_ = std::move(data);
}

std::size_t FakeDockerEngine::requests() const {
  std::lock_guard lock(mutex_);
  return paths_.size();
}

std::vector<std::string> FakeDockerEngine::paths() const {
  std::lock_guard lock(mutex_);
  return paths_;
}

void FakeDockerEngine::accept_loop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents) return;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lock(mutex_);
    workers_.emplace_back([this, fd] {
      serve(fd);
      ::close(fd);
    });
  }
}

void FakeDockerEngine::serve(int fd) {
  std::string pending;
  char buffer[4096];
  for (;;) {
    // One request head (GETs carry no body).
    std::size_t end;
    while ((end = pending.find("\r\n\r\n")) == std::string::npos) {
      pollfd fds[2] = {{fd, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents) return;
      const auto got = ::recv(fd, buffer, sizeof buffer, 0);
      if (got <= 0) return;
      pending.append(buffer, static_cast<std::size_t>(got));
    }
    const std::string head = pending.substr(0, end);
    pending.erase(0, end + 4);
    const auto first_space = head.find(' ');
    const auto second_space = head.find(' ', first_space + 1);
    if (first_space == std::string::npos || second_space == std::string::npos) return;
    const std::string target = head.substr(first_space + 1, second_space - first_space - 1);
    const bool client_closes = head.find("Connection: close") != std::string::npos;

    EngineFault fault;
    {
      std::lock_guard lock(mutex_);
      paths_.push_back(target);
      fault = (fault_where_.empty() || target.find(fault_where_) != std::string::npos)
                  ? fault_
                  : EngineFault::none;
    }
    if (fault == EngineFault::close_at_once) return;
    if (fault == EngineFault::hang) {
      // Hold the connection until the client gives up or the engine stops.
      for (;;) {
        pollfd fds[2] = {{fd, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) continue;
        if (fds[1].revents) return;
        if (::recv(fd, buffer, sizeof buffer, 0) <= 0) return;
      }
    }
    auto reply = answer(target);
    if (fault == EngineFault::status_500) {
      reply.status = 500;
      reply.body = error_body("fake engine: internal error");
    } else if (fault == EngineFault::garbage) {
      reply.body = "<html>this is not the engine you are looking for</html>";
    }
    const bool truncate = fault == EngineFault::truncated;
    const bool chunked = chunked_.load(std::memory_order_relaxed);
    const char* reason = reply.status == 200 ? "OK" : reply.status == 404 ? "Not Found" : "Error";
    std::string out =
        "HTTP/1.1 " + std::to_string(reply.status) + " " + reason +
        "\r\nApi-Version: 1.52\r\nContent-Type: application/json\r\nServer: fake-docker\r\n";
    const std::string_view body =
        truncate ? std::string_view(reply.body).substr(0, reply.body.size() / 2)
                 : std::string_view(reply.body);
    if (chunked) {
      out += "Transfer-Encoding: chunked\r\n\r\n";
      // Small chunks, so a body arrives in many pieces.
      for (std::size_t at = 0; at < body.size(); at += 700) {
        const auto piece = body.substr(at, 700);
        char size_line[32];
        std::snprintf(size_line, sizeof size_line, "%zx\r\n", piece.size());
        out.append(size_line).append(piece).append("\r\n");
      }
      if (!truncate) out += "0\r\n\r\n";
    } else {
      out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n\r\n";
      out.append(body);
    }
    if (!send_all(fd, out) || truncate || client_closes) return;
  }
}

FakeDockerEngine::Answer FakeDockerEngine::answer(const std::string& target) {
  std::lock_guard lock(mutex_);
  const auto question = target.find('?');
  std::string path = target.substr(0, question);
  const std::string query = question == std::string::npos ? "" : target.substr(question + 1);
  if (path.starts_with("/v") && path.size() > 2 &&
      std::isdigit(static_cast<unsigned char>(path[2]))) {
    const auto slash = path.find('/', 1);
    const std::string asked =
        path.substr(2, slash == std::string::npos ? std::string::npos : slash - 2);
    const auto api = json_string(data_.version, "ApiVersion");
    const auto minimum = json_string(data_.version, "MinAPIVersion");
    const int number = version_number(asked);
    if (number < 0) return {400, error_body("invalid API version " + asked)};
    if (!minimum.empty() && number < version_number(minimum)) {
      return {400, error_body("client version " + asked +
                              " is too old. Minimum supported API version is " + minimum +
                              ", please upgrade your client to a newer version")};
    }
    if (number > version_number(api)) {
      return {400, error_body("client version " + asked +
                              " is too new. Maximum supported API version is " + api)};
    }
    path = slash == std::string::npos ? "/" : path.substr(slash);
  }
  if (path == "/version") return {200, data_.version};
  if (path == "/containers/json") {
    const bool size =
        query.find("size=true") != std::string::npos || query.find("size=1") != std::string::npos;
    return {200, size && !data_.sizes.empty() ? data_.sizes : data_.containers};
  }
  if (path.starts_with("/containers/")) {
    const auto rest = path.substr(12);
    const auto slash = rest.find('/');
    const auto id = rest.substr(0, slash);
    const auto what = slash == std::string::npos ? "" : rest.substr(slash);
    const auto& table = what == "/json" ? data_.inspect : data_.stats;
    if (what == "/json" || what == "/stats") {
      const auto found = table.find(id);
      if (found != table.end()) return {200, found->second};
      return {404, error_body("No such container: " + id)};
    }
  }
  return {404, error_body("page not found")};
}

}  // namespace bucky3::test
