# Aggregate functions for windows and group-bys (docs/aggregates.md). Included from the stream
# component's CMakeLists.txt; its own library so it builds and tests without the rest of stream.
# Paths are relative to this file so the include works from any directory.
set(_agg ${CMAKE_CURRENT_LIST_DIR})
sluice_component(stream_aggregates
  SOURCES ${_agg}/aggregate.cc ${_agg}/aggregate_row.cc ${_agg}/hyperloglog.cc
    ${_agg}/quantile_sketch.cc ${_agg}/internal/aggregate_codec.cc
    ${_agg}/internal/aggregate_slot.cc ${_agg}/internal/aggregate_heavy.cc
  DEPS sluice::model sluice::base)
sluice_test(stream_aggregates_test
  SOURCES ${_agg}/aggregate_test.cc ${_agg}/aggregate_row_test.cc ${_agg}/hyperloglog_test.cc
    ${_agg}/quantile_sketch_test.cc
  DEPS sluice::stream_aggregates LABELS stream)
sluice_bench(aggregate_bench SOURCES ${_agg}/aggregate_bench.cc DEPS sluice::stream_aggregates)
