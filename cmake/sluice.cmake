# Helpers to declare a component library, its unit tests and its micro-benchmarks.

# sluice_component(NAME SOURCES... [DEPS targets...])
# Builds static library sluice_<NAME>, aliased sluice::<NAME>, with src/ on the include path.
function(sluice_component name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(sluice_${name} STATIC ${ARG_SOURCES})
  add_library(sluice::${name} ALIAS sluice_${name})
  target_include_directories(sluice_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(sluice_${name} PUBLIC ${ARG_DEPS})
endfunction()

# sluice_test(NAME SOURCES... DEPS targets... [LABELS label])
# One GoogleTest executable; each test case becomes a ctest test carrying the label.
# Only one label survives gtest_discover_tests' PROPERTIES; a test that needs several (e.g.
# e2e and slow) is registered with add_test and set_tests_properties (see tests/e2e).
function(sluice_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  gtest_discover_tests(${name}
    PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
    DISCOVERY_TIMEOUT 60)
endfunction()

# sluice_bench(NAME SOURCES... DEPS targets...): a Google Benchmark executable (not run by ctest).
function(sluice_bench name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} benchmark::benchmark)
endfunction()
