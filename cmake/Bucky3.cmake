# Helpers shared by every component's CMakeLists.txt.

# GCC 12 with -fsanitize reports a false -Wmaybe-uninitialized inside libstdc++'s
# std::regex compiler (std::function in _State); used where regexes are built.
set(BUCKY3_REGEX_WARNING_FIX $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>)

# A listed source that does not exist is a configure error: a lost file must never
# silently drop a test, a fuzzer or a benchmark.
function(bucky3_require_sources)
  foreach(src ${ARGN})
    if(NOT IS_ABSOLUTE ${src})
      set(src ${CMAKE_CURRENT_SOURCE_DIR}/${src})
    endif()
    if(NOT EXISTS ${src})
      message(FATAL_ERROR "${src} is listed as a source but does not exist")
    endif()
  endforeach()
endfunction()

# bucky3_add_test(NAME SOURCES a.cpp ... LIBS lib ... [LABELS l ...] [TIMEOUT s])
# One QtTest executable test_<NAME>, registered with CTest as <NAME>.
# The test sees BUCKY3_SOURCE_DIR and BUCKY3_BUILD_DIR in its environment, so it
# can find tests/data and the built binaries (bucky3, bucky3-ring) without paths
# compiled in.
function(bucky3_add_test name)
  if(BUCKY3_FUZZ)
    return()
  endif()
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  bucky3_require_sources(${T_SOURCES})
  add_executable(test_${name} ${T_SOURCES})
  target_link_libraries(test_${name} PRIVATE Qt6::Test ${T_LIBS})
  set_target_properties(test_${name} PROPERTIES AUTOMOC ON)
  add_test(NAME ${name} COMMAND test_${name})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  set_tests_properties(${name} PROPERTIES
    TIMEOUT ${T_TIMEOUT}
    LABELS "${T_LABELS}"
    ENVIRONMENT "QT_QPA_PLATFORM=offscreen;BUCKY3_SOURCE_DIR=${PROJECT_SOURCE_DIR};BUCKY3_BUILD_DIR=${PROJECT_BINARY_DIR}")
endfunction()

# bucky3_add_fuzzer(NAME SOURCES a.cpp ... LIBS lib ...): libFuzzer target fuzz_<NAME>,
# built only with -DBUCKY3_FUZZ=ON (clang).
function(bucky3_add_fuzzer name)
  if(NOT BUCKY3_FUZZ)
    return()
  endif()
  cmake_parse_arguments(F "" "" "SOURCES;LIBS" ${ARGN})
  bucky3_require_sources(${F_SOURCES})
  add_executable(fuzz_${name} ${F_SOURCES})
  target_link_libraries(fuzz_${name} PRIVATE ${F_LIBS})
  target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
  add_dependencies(fuzzers fuzz_${name})
endfunction()

# bucky3_add_bench(NAME SOURCES a.cpp ... LIBS lib ...): benchmark program bench_<NAME>
# (Google Benchmark is available as benchmark::benchmark), built with -DBUCKY3_BENCH=ON.
function(bucky3_add_bench name)
  if(NOT BUCKY3_BENCH OR BUCKY3_FUZZ)
    return()
  endif()
  cmake_parse_arguments(B "" "" "SOURCES;LIBS" ${ARGN})
  bucky3_require_sources(${B_SOURCES})
  add_executable(bench_${name} ${B_SOURCES})
  target_link_libraries(bench_${name} PRIVATE ${B_LIBS})
endfunction()
