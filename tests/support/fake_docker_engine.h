// A fake Docker Engine for tests and benchmarks: HTTP/1.1 on a Unix socket,
// in a thread of its own, serving canned Engine API JSON (GET /version,
// /containers/json, /containers/<id>/json, /containers/<id>/stats), versioned
// paths checked against its ApiVersion/MinAPIVersion as dockerd does, bodies
// chunked or sized, and faults on demand.
#pragma once
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace bucky3::test {

struct EngineData {
  std::string version;                         // GET /version body
  std::string containers;                      // GET /containers/json?all=true
  std::string sizes;                           // ... &size=true (falls back to `containers`)
  std::map<std::string, std::string> inspect;  // id → GET /containers/<id>/json (absent: 404)
  std::map<std::string, std::string> stats;    // id → GET /containers/<id>/stats
};

// <dir>/version.json, containers.json, sizes.json (optional), inspect/<id>.json.
EngineData load_engine_data(const std::string& dir);

enum class EngineFault {
  none,
  status_500,    // every answer: 500 {"message":"..."}
  truncated,     // bodies cut in half (sized: the connection closes early)
  garbage,       // 200 with a body that is not JSON
  hang,          // reads the request, never answers
  close_at_once  // accepts and closes without reading
};

class FakeDockerEngine {
 public:
  // Listens on `socket_path` (removed first) and serves until destroyed.
  FakeDockerEngine(std::string socket_path, EngineData data);
  ~FakeDockerEngine();
  FakeDockerEngine(const FakeDockerEngine&) = delete;
  FakeDockerEngine& operator=(const FakeDockerEngine&) = delete;

  const std::string& socket_path() const { return socket_path_; }
  // Applies to requests whose path contains `where` ("" = every request).
  void set_fault(EngineFault fault, std::string where = {});
  void set_chunked(bool chunked) {
    chunked_.store(chunked, std::memory_order_relaxed);
  }  // relaxed: a test knob
  void set_data(EngineData data);
  // Requests answered or refused so far, and the paths asked, in order.
  std::size_t requests() const;
  std::vector<std::string> paths() const;

 private:
  void accept_loop();
  void serve(int fd);
  struct Answer {
    int status = 200;
    std::string body;
  };
  Answer answer(const std::string& target);

  std::string socket_path_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;          // eventfd: readable once the engine is being destroyed
  mutable std::mutex mutex_;  // guards data_, fault_, fault_where_, paths_, workers_
  EngineData data_;
  EngineFault fault_ = EngineFault::none;
  std::string fault_where_;
  std::vector<std::string> paths_;
  // relaxed: a test knob read per answer; no other data depends on it.
  std::atomic<bool> chunked_{true};
  std::thread acceptor_;
  std::vector<std::thread> workers_;
};

}  // namespace bucky3::test
