// libFuzzer target: the Engine API JSON parsers on arbitrary bytes. The first
// byte picks the parser; nothing may crash, hang or read out of bounds. Boost.JSON
// is compiled in here (src.hpp), so its parser is instrumented too.
#include <boost/json/src.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "collectors/docker/engine_json.h"

using namespace bucky3::docker;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0: {
      const auto version = parse_version(body);
      if (const auto* engine = std::get_if<EngineVersion>(&version))
        (void)negotiate_api_version(*engine);
      break;
    }
    case 1: (void)parse_container_list(body); break;
    case 2: (void)parse_inspect(body); break;
    case 3: (void)error_message(body); break;
    case 4: (void)parse_api_version(body); break;
  }
  return 0;
}
