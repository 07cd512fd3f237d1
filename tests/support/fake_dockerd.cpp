// fake_dockerd: the tests' fake Docker Engine as a program, for end-to-end tests
// with a real bucky3 process. Serves <dir>/version.json, containers.json,
// sizes.json and inspect/<id>.json on --socket until SIGTERM or SIGINT.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "tests/support/fake_docker_engine.h"

int main(int argc, char** argv) {
  std::string socket_path, data_dir, fault;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--socket") == 0)
      socket_path = argv[i + 1];
    else if (std::strcmp(argv[i], "--data") == 0)
      data_dir = argv[i + 1];
    else if (std::strcmp(argv[i], "--fault") == 0)
      fault = argv[i + 1];
  }
  if (socket_path.empty() || data_dir.empty()) {
    std::fprintf(stderr, "usage: fake_dockerd --socket PATH --data DIR [--fault hang|500]\n");
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before the engine's threads start
  bucky3::test::FakeDockerEngine engine(socket_path, bucky3::test::load_engine_data(data_dir));
  if (fault == "hang") engine.set_fault(bucky3::test::EngineFault::hang);
  if (fault == "500") engine.set_fault(bucky3::test::EngineFault::status_500);
  std::fprintf(stderr, "fake_dockerd: listening on %s\n", socket_path.c_str());
  int received = 0;
  sigwait(&signals, &received);
  return 0;
}
