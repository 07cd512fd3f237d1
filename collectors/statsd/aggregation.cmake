# collectors/statsd: the line parser and the per-interval aggregator (pure, no I/O).
add_library(bucky3_statsd_core STATIC
  ${CMAKE_CURRENT_LIST_DIR}/line_parser.cpp
  ${CMAKE_CURRENT_LIST_DIR}/aggregator.cpp)
target_link_libraries(bucky3_statsd_core PUBLIC bucky3_metric bucky3_common)

bucky3_add_test(line_parser SOURCES ${PROJECT_SOURCE_DIR}/tests/test_line_parser.cpp
  LIBS bucky3_statsd_core LABELS unit)
bucky3_add_test(aggregator SOURCES ${PROJECT_SOURCE_DIR}/tests/test_aggregator.cpp
  LIBS bucky3_statsd_core LABELS unit)
bucky3_add_bench(statsd_parse SOURCES ${PROJECT_SOURCE_DIR}/bench/statsd_parse.cpp
  LIBS bucky3_statsd_core benchmark::benchmark)
bucky3_add_fuzzer(line_parser SOURCES ${PROJECT_SOURCE_DIR}/fuzz/fuzz_line_parser.cpp
  LIBS bucky3_statsd_core)
