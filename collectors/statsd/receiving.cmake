# collectors/statsd, receiving half: decompression (pure, fuzzed: no Boost, no Qt)
# and the UDP/TCP/Unix socket receiver the module glue plugs into.
add_library(bucky3_statsd_decompress STATIC ${CMAKE_CURRENT_LIST_DIR}/decompress.cpp)
target_include_directories(bucky3_statsd_decompress PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(bucky3_statsd_decompress PRIVATE PkgConfig::ZSTD ZLIB::ZLIB)

bucky3_add_test(decompress
  SOURCES ${PROJECT_SOURCE_DIR}/tests/test_decompress.cpp
  LIBS bucky3_statsd_decompress PkgConfig::ZSTD ZLIB::ZLIB
  LABELS unit)

bucky3_add_fuzzer(decompress
  SOURCES ${PROJECT_SOURCE_DIR}/fuzz/fuzz_decompress.cpp
  LIBS bucky3_statsd_decompress)

add_library(bucky3_statsd_receiver STATIC ${CMAKE_CURRENT_LIST_DIR}/receiver.cpp)
target_include_directories(bucky3_statsd_receiver PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(bucky3_statsd_receiver
  PRIVATE bucky3_statsd_decompress bucky3_common Boost::headers Threads::Threads)

bucky3_add_test(statsd_receiver
  SOURCES ${PROJECT_SOURCE_DIR}/tests/test_statsd_receiver.cpp
  LIBS bucky3_statsd_receiver Boost::headers PkgConfig::ZSTD ZLIB::ZLIB
  LABELS unit)

bucky3_add_bench(udp_ceiling
  SOURCES ${PROJECT_SOURCE_DIR}/bench/udp_ceiling.cpp
  LIBS bucky3_statsd_receiver bucky3_common Boost::headers)
