// argv rewriting for module processes; see process_title.h.
#include "daemon/process_title.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

extern char** environ;

namespace bucky3::daemon {
namespace {
char* g_area = nullptr;       // start of argv[0]
std::size_t g_area_size = 0;  // contiguous bytes of argv and environ strings
}  // namespace

void init_process_title(int argc, char** argv) {
  if (argc <= 0 || argv == nullptr || argv[0] == nullptr) return;
  char* end = argv[0] + std::strlen(argv[0]) + 1;
  for (int i = 1; i < argc; ++i) {
    if (argv[i] != end) break;  // not contiguous: use what we have
    end = argv[i] + std::strlen(argv[i]) + 1;
  }
  // The environment strings usually follow argv; copy them to the heap so
  // their bytes can be reused for a title longer than argv[0].
  std::size_t env_count = 0;
  while (environ != nullptr && environ[env_count] != nullptr) ++env_count;
  char** new_environ = static_cast<char**>(std::calloc(env_count + 1, sizeof(char*)));
  if (new_environ == nullptr) return;
  for (std::size_t i = 0; i < env_count; ++i) {
    if (environ[i] == end) end = environ[i] + std::strlen(environ[i]) + 1;
    new_environ[i] = ::strdup(environ[i]);
  }
  environ = new_environ;
  // argv[1..] keep pointing at the old bytes; callers read arguments before
  // they set a title, and only the forked module process sets one.
  g_area = argv[0];
  g_area_size = static_cast<std::size_t>(end - argv[0]);
}

void set_process_title(std::string_view title) {
  if (g_area != nullptr && g_area_size > 1) {
    const std::size_t n = std::min(title.size(), g_area_size - 1);
    std::memcpy(g_area, title.data(), n);
    std::memset(g_area + n, 0, g_area_size - n);
  }
  char comm[16] = {};
  std::memcpy(comm, title.data(), std::min<std::size_t>(title.size(), 15));
  ::prctl(PR_SET_NAME, comm, 0, 0, 0);
}

}  // namespace bucky3::daemon
