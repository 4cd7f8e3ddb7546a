# zeroflow_bench_core: the harness's plain parts (points and sizes, interleaved rounds, CPU
# topology), shared by `zeroflow bench` (tools/, which includes this file, so it exists even
# with ZEROFLOW_BUILD_BENCHMARKS=OFF) and by zeroflow_bench_harness.
if(NOT TARGET zeroflow_bench_core)
    set(_bench_harness ${CMAKE_CURRENT_LIST_DIR})
    add_library(zeroflow_bench_core STATIC ${_bench_harness}/src/point.cpp
                                           ${_bench_harness}/src/interleave.cpp)
    target_include_directories(zeroflow_bench_core PUBLIC
        $<BUILD_INTERFACE:${_bench_harness}/include>)
    target_compile_features(zeroflow_bench_core PUBLIC cxx_std_23)
    target_link_libraries(zeroflow_bench_core PRIVATE nlohmann_json::nlohmann_json zeroflow_warnings)
endif()
