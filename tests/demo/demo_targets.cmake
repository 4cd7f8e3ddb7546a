# cmake -P script of the demo build-set test: configures SOURCE_DIR into a fresh WORK_DIR and asks
# Ninja what `--target demo` would build (ninja -n), then checks that list.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(
    COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR} -G ${GENERATOR}
            -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=RelWithDebInfo
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "configuring a fresh build directory failed:\n${out}${err}")
endif()
execute_process(
    COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR} --target demo -- -n
    RESULT_VARIABLE rc OUTPUT_VARIABLE plan ERROR_VARIABLE err)
file(REMOVE_RECURSE ${WORK_DIR})
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "`cmake --build --target demo -- -n` failed:\n${plan}${err}")
endif()

set(problems "")
# What must be built: the binaries the demo runs.
foreach(needed "tools/zeroflow" "daemon/zeroflowd" "examples/camera_node" "examples/filter_node"
        "examples/sink_node" "libzeroflow_runtime")
    string(FIND "${plan}" "${needed}" at)
    if(at EQUAL -1)
        set(problems "${problems}\n- ${needed} is not built")
    endif()
endforeach()
# What must not: any test, benchmark or peer (their sources live in these folders or end so).
string(REGEX MATCHALL "[^\n]*(_test|_fuzz|benchmarks/|tests/|iceoryx|gtest|hello_|dynamic_)[^\n]*"
       extra "${plan}")
# The CLI's own `zeroflow bench` compiles the harness core (benchmarks/harness/src): part of the CLI.
list(FILTER extra EXCLUDE REGEX "zeroflow_bench_core")
if(extra)
    string(REPLACE ";" "\n  " extra "${extra}")
    set(problems "${problems}\n- it builds more than the demo needs:\n  ${extra}")
endif()
string(REGEX MATCHALL "\n\\[[0-9]+/[0-9]+\\]" steps "\n${plan}")
list(LENGTH steps count)
if(problems)
    message(FATAL_ERROR "`make demo`'s build set (${count} steps):${problems}\nThe plan:\n${plan}")
endif()
message(STATUS "the demo target builds ${count} steps, no test or benchmark")
