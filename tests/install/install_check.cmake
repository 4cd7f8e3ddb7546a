# cmake -P script of the install test: install BUILD_DIR into WORK_DIR/prefix, then build and run
# the consumer project with find_package and with pkg-config. Collects every problem, then fails
# with the list.
set(prefix ${WORK_DIR}/prefix)
set(problems "")
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(step name)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    set(step_rc ${rc} PARENT_SCOPE)
    set(step_out "${out}" PARENT_SCOPE)
    if(NOT rc EQUAL 0)
        set(problems "${problems}\n- ${name} failed (${rc}):\n${out}${err}" PARENT_SCOPE)
    endif()
endfunction()

set(config_args "")
if(CONFIG)
    set(config_args --config ${CONFIG})
endif()
step("cmake --install ${BUILD_DIR} --prefix ${prefix}"
     ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} ${config_args})
if(NOT step_rc EQUAL 0)
    message(FATAL_ERROR "install test:${problems}")
endif()
foreach(header zeroflow/node.hpp zeroflow/runtime/error.hpp zeroflow/runtime/event.hpp
               zeroflow/node.h zeroflow/dora/node_api.h)
    if(NOT EXISTS ${prefix}/include/${header})
        set(problems "${problems}\n- header ${header} is not installed")
    endif()
endforeach()

# 1. find_package(zeroflow CONFIG REQUIRED) + zeroflow::runtime.
step("configuring the consumer with find_package(zeroflow)"
     ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/cmake-build -G ${GENERATOR}
     -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_C_COMPILER=${CC}
     "-DCMAKE_CXX_FLAGS=${SANITIZE_FLAGS}" "-DCMAKE_C_FLAGS=${SANITIZE_FLAGS}" -DCMAKE_BUILD_TYPE=RelWithDebInfo
     -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
if(step_rc EQUAL 0)
    step("building the consumer (find_package)"
         ${CMAKE_COMMAND} --build ${WORK_DIR}/cmake-build)
    if(step_rc EQUAL 0)
        step("running the consumer (find_package)" ${WORK_DIR}/cmake-build/consumer)
        if(step_rc EQUAL 0 AND NOT step_out MATCHES "missing_environment")
            set(problems "${problems}\n- the consumer (find_package) printed: ${step_out}")
        endif()
        step("running the C consumer (find_package)" ${WORK_DIR}/cmake-build/c_consumer)
        if(step_rc EQUAL 0 AND NOT step_out MATCHES "missing_environment")
            set(problems "${problems}\n- the C consumer (find_package) printed: ${step_out}")
        endif()
        step("running the dora consumer (find_package)" ${WORK_DIR}/cmake-build/dora_consumer)
    endif()
endif()

# 2. pkg-config --cflags --libs zeroflow, from the installed prefix only.
if(NOT PKG_CONFIG)
    set(problems "${problems}\n- pkg-config is not installed")
else()
    set(pc_dir ${prefix}/${LIBDIR}/pkgconfig)
    step("pkg-config --cflags --libs zeroflow"
         ${CMAKE_COMMAND} -E env PKG_CONFIG_LIBDIR=${pc_dir} PKG_CONFIG_PATH=${pc_dir}
         ${PKG_CONFIG} --cflags --libs zeroflow)
    string(STRIP "${step_out}" flags)
    # The -I it gives must be the installed include folder (not, say, an older /usr/local one).
    set(points_here FALSE)
    separate_arguments(pc_words UNIX_COMMAND "${flags}")
    file(REAL_PATH ${prefix}/include installed_include)
    foreach(word IN LISTS pc_words)
        if(word MATCHES "^-I(.+)$")
            file(REAL_PATH "${CMAKE_MATCH_1}" include_dir)
            if(include_dir STREQUAL installed_include)
                set(points_here TRUE)
            endif()
        endif()
    endforeach()
    if(step_rc EQUAL 0 AND NOT points_here)
        file(READ ${pc_dir}/zeroflow.pc pc_text)
        set(problems "${problems}\n- zeroflow.pc installed under ${prefix} does not point there: \
`pkg-config --cflags --libs zeroflow` gives '${flags}'. It holds the configure-time \
CMAKE_INSTALL_PREFIX instead of a location relative to itself (e.g. prefix=\${pcfiledir}/../..). \
Its text:\n${pc_text}")
    endif()
    if(step_rc EQUAL 0)
        separate_arguments(flag_list UNIX_COMMAND "${flags} ${SANITIZE_FLAGS}")
        step("building the consumer with `${CXX} main.cpp ${flags}`"
             ${CXX} ${CONSUMER_DIR}/main.cpp ${flag_list} -o ${WORK_DIR}/consumer-pc)
        if(step_rc EQUAL 0)
            step("running the consumer (pkg-config)"
                 ${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${prefix}/${LIBDIR}
                 ${WORK_DIR}/consumer-pc)
            if(step_rc EQUAL 0 AND NOT step_out MATCHES "missing_environment")
                set(problems "${problems}\n- the consumer (pkg-config) printed: ${step_out}")
            endif()
        endif()
    endif()
endif()

# 3. C users: `cc main.c $(pkg-config --cflags --libs zeroflow-c)`; dora users: the line of
# dora's docs with zeroflow's folders, and `pkg-config dora_node_api_c`.
if(PKG_CONFIG)
    set(pc_env ${CMAKE_COMMAND} -E env PKG_CONFIG_LIBDIR=${pc_dir} PKG_CONFIG_PATH=${pc_dir})
    set(run_env ${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${prefix}/${LIBDIR})
    separate_arguments(sanitize_list UNIX_COMMAND "${SANITIZE_FLAGS}")
    foreach(pc zeroflow-c dora_node_api_c)
        step("pkg-config --cflags --libs ${pc}" ${pc_env} ${PKG_CONFIG} --cflags --libs ${pc})
        string(STRIP "${step_out}" pc_flags_${pc})
        separate_arguments(pc_flags_${pc} UNIX_COMMAND "${pc_flags_${pc}}")
    endforeach()
    set(strict -std=c99 -Wall -Wextra -Wpedantic -Werror)
    step("building the C consumer with `${CC} main.c $(pkg-config --cflags --libs zeroflow-c)`"
         ${CC} ${strict} ${CONSUMER_DIR}/main.c ${pc_flags_zeroflow-c} ${sanitize_list}
         -o ${WORK_DIR}/c-consumer-pc)
    if(step_rc EQUAL 0)
        step("running the C consumer (pkg-config)" ${run_env} ${WORK_DIR}/c-consumer-pc)
        if(step_rc EQUAL 0 AND NOT step_out MATCHES "missing_environment")
            set(problems "${problems}\n- the C consumer (pkg-config) printed: ${step_out}")
        endif()
    endif()
    step("building the dora node with `${CC} dora_node.c -I${prefix}/include/zeroflow/dora \
-L${prefix}/${LIBDIR} -ldora_node_api_c -lm -lrt -ldl -pthread`"
         ${CC} ${strict} ${CONSUMER_DIR}/dora_node.c -I${prefix}/include/zeroflow/dora
         -L${prefix}/${LIBDIR} -ldora_node_api_c -lm -lrt -ldl -pthread ${sanitize_list}
         -o ${WORK_DIR}/dora-node)
    if(step_rc EQUAL 0)
        step("running the dora node" ${run_env} ${WORK_DIR}/dora-node)
        if(step_rc EQUAL 0 AND NOT step_out MATCHES "context NULL")
            set(problems "${problems}\n- the dora node printed: ${step_out}")
        endif()
    endif()
    step("building the dora node with `pkg-config --cflags --libs dora_node_api_c`"
         ${CC} ${strict} ${CONSUMER_DIR}/dora_node.c ${pc_flags_dora_node_api_c} ${sanitize_list}
         -o ${WORK_DIR}/dora-node-pc)
    if(step_rc EQUAL 0)
        step("running the dora node (pkg-config)" ${run_env} ${WORK_DIR}/dora-node-pc)
    endif()
endif()

# 4. Shell completion and man pages where Debian looks for them.
if(NOT EXISTS ${prefix}/share/bash-completion/completions/zeroflow)
    set(problems "${problems}\n- share/bash-completion/completions/zeroflow is not installed")
endif()
if(HAVE_HELP2MAN)
    foreach(page zeroflow.1 zeroflow-run.1 zeroflow-new.1 zeroflow-clean.1)
        if(NOT EXISTS ${prefix}/share/man/man1/${page})
            set(problems "${problems}\n- the man page share/man/man1/${page} is not installed")
        endif()
    endforeach()
endif()

# 5. `zeroflow new`, as a new user runs it: the project builds with `zeroflow build` against
# this prefix and runs with `zeroflow run`. (Not under sanitizers: the project's own flags
# would need them.)
if(NOT SANITIZE_FLAGS)
    set(zf ${prefix}/bin/zeroflow)
    set(env ${CMAKE_COMMAND} -E env ZEROFLOW_RUNTIME_DIR=${WORK_DIR}/rt CXX=${CXX})
    step("zeroflow new robot" ${env} ${zf} new ${WORK_DIR}/robot)
    if(step_rc EQUAL 0 AND NOT step_out MATCHES "-DCMAKE_PREFIX_PATH=${prefix}")
        set(problems "${problems}\n- `zeroflow new` does not point CMake at ${prefix}:\n${step_out}")
    endif()
    if(step_rc EQUAL 0)
        step("zeroflow build robot/dataflow.yml" ${env} ${zf} build ${WORK_DIR}/robot/dataflow.yml)
    endif()
    if(step_rc EQUAL 0)
        step("zeroflow run robot/dataflow.yml --stop-after 2s"
             ${env} ${zf} run ${WORK_DIR}/robot/dataflow.yml --stop-after 2s)
        if(step_rc EQUAL 0 AND NOT step_out MATCHES "listener \\| heard 'hello #1'")
            set(problems "${problems}\n- the new project's run did not show the listener:\n${step_out}")
        endif()
    endif()
    # The C flavour: talker.c and listener.c over zeroflow/node.h, the same commands.
    set(env ${CMAKE_COMMAND} -E env ZEROFLOW_RUNTIME_DIR=${WORK_DIR}/rt CXX=${CXX} CC=${CC})
    step("zeroflow new robot-c --lang c" ${env} ${zf} new ${WORK_DIR}/robot-c --lang c)
    if(step_rc EQUAL 0)
        step("zeroflow build robot-c/dataflow.yml" ${env} ${zf} build ${WORK_DIR}/robot-c/dataflow.yml)
    endif()
    if(step_rc EQUAL 0)
        step("zeroflow run robot-c/dataflow.yml --stop-after 2s"
             ${env} ${zf} run ${WORK_DIR}/robot-c/dataflow.yml --stop-after 2s)
        if(step_rc EQUAL 0 AND NOT step_out MATCHES "listener \\| heard 'hello #1'")
            set(problems "${problems}\n- the new C project's run did not show the listener:\n${step_out}")
        endif()
    endif()
endif()

# 6. The Python module, where Debian's python3 looks for this prefix's modules (PYTHONPATH for a
#    prefix other than /usr/local), found by an installed zeroflowd for its .py nodes, and
#    loading the installed runtime library through its RPATH (no LD_LIBRARY_PATH).
if(PYTHON_DIR)
    set(module_dir ${prefix}/${PYTHON_DIR})
    file(GLOB modules ${module_dir}/zeroflow.*.so)
    if(NOT modules)
        set(problems "${problems}\n- no zeroflow Python module in ${module_dir}")
    else()
        file(WRITE ${WORK_DIR}/import_check.py [=[
import zeroflow
print(zeroflow.__file__)
try:
    zeroflow.Node()
except zeroflow.Error as e:
    print(e.kind)
]=])
        step("importing the installed Python module"
             ${CMAKE_COMMAND} -E env --unset=LD_LIBRARY_PATH PYTHONPATH=${module_dir}
             ${PYTHON} ${WORK_DIR}/import_check.py)
        if(step_rc EQUAL 0 AND NOT step_out MATCHES "^${module_dir}/zeroflow.*missing_environment")
            set(problems "${problems}\n- the installed module printed: ${step_out}")
        endif()
        # A .py node of a dataflow run by the installed CLI imports the installed module
        # without any PYTHONPATH of ours (the embedded daemon sets it from its own prefix).
        set(flow ${WORK_DIR}/pyflow)
        file(MAKE_DIRECTORY ${flow})
        file(WRITE ${flow}/where.py [=[
import zeroflow
node = zeroflow.Node()
print("module:", zeroflow.__file__, "node:", node.id)
]=])
        file(WRITE ${flow}/dataflow.yml "nodes:\n  - id: where\n    path: where.py\n")
        step("running a .py node with the installed zeroflow"
             ${CMAKE_COMMAND} -E env --unset=PYTHONPATH --unset=LD_LIBRARY_PATH
             ZEROFLOW_RUNTIME_DIR=${WORK_DIR}/rt ${prefix}/bin/zeroflow run ${flow}/dataflow.yml)
        file(GLOB logs ${flow}/out/*/log_where.txt)
        set(log "")
        if(logs)
            file(READ ${logs} log)
        endif()
        if(step_rc EQUAL 0 AND NOT log MATCHES "module: ${module_dir}/zeroflow[^ ]* node: where")
            set(problems "${problems}\n- the installed .py node printed: ${log}")
        endif()
    endif()
endif()

if(problems)
    message(FATAL_ERROR "install test: the installed zeroflow is not usable:${problems}")
endif()
file(REMOVE_RECURSE ${WORK_DIR})
message(STATUS "install test: find_package and pkg-config consumers (C++, C, dora C) build and run")
