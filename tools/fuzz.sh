#!/usr/bin/env bash
# Builds every libFuzzer target tests/fuzz/<name>_fuzz.cpp with clang-19 (straight from the
# sources, no CMake) into build/fuzz/, then runs each for N seconds (default 60) on a copy of
# its seed corpus tests/fuzz/corpus/<name>/. Exits non-zero if a target fails to build or finds
# anything (crash, leak, sanitizer report, timeout); reproducers go to build/fuzz/artifacts/<name>/.
#
#   tools/fuzz.sh [SECONDS]        e.g. tools/fuzz.sh 20
#   CXX_FUZZ=clang++-19            (environment, optional)
set -euo pipefail

seconds="${1:-60}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/build/fuzz"
cxx="${CXX_FUZZ:-clang++-19}"
# clang 14 cannot compile libstdc++ 12's std::expected: clang-19 it is (see DEPENDENCIES.md).
# -Wno-deprecated-declarations: libstdc++ 12's std::stable_sort uses get_temporary_buffer,
# which clang-19 flags in C++23 mode; the warning is in the library, not in our code.
cxxflags=(-std=c++2b -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
          -g -O1 -Wall -Wextra -Wno-deprecated-declarations)

# Per-target sources (besides the target's own .cpp), include directories and libraries.
# A new target tests/fuzz/<name>_fuzz.cpp needs a case here.
target_inputs() {
    local name="$1"
    includes=("$root/runtime/protocol/include")
    sources=()
    libs=()
    case "$name" in
    frame)
        sources=("$root"/runtime/protocol/src/{common,frame,message}.cpp)
        ;;
    descriptor)
        # yaml-cpp is Debian's libyaml-cpp (not instrumented): ASan/UBSan and coverage see only
        # our parser, and yaml-cpp's own bugs show up only as crashes, hangs or exceptions.
        includes+=("$root/daemon/dataflow/include")
        sources=("$root"/daemon/dataflow/src/*.cpp)
        libs=(-lyaml-cpp)
        ;;
    metadata)
        includes+=("$root/runtime/include")
        sources=("$root"/runtime/src/metadata.cpp)
        ;;
    *)
        echo "fuzz.sh: no source list for '$name' (add a case to target_inputs in $0)" >&2
        return 1
        ;;
    esac
}

if ! command -v "$cxx" >/dev/null; then
    echo "fuzz.sh: $cxx not found (apt-get install clang-19 libclang-rt-19-dev)" >&2
    exit 2
fi

mkdir -p "$out"
status=0
shopt -s nullglob
targets=("$root"/tests/fuzz/*_fuzz.cpp)
if [ "${#targets[@]}" -eq 0 ]; then
    echo "fuzz.sh: no tests/fuzz/*_fuzz.cpp found" >&2
    exit 2
fi

for target_src in "${targets[@]}"; do
    name="$(basename "$target_src" _fuzz.cpp)"
    if ! target_inputs "$name"; then
        status=1
        continue
    fi
    binary="$out/${name}_fuzz"
    echo "== $name: building $binary"
    if ! "$cxx" "${cxxflags[@]}" "${includes[@]/#/-I}" "$target_src" "${sources[@]}" \
        "${libs[@]}" -o "$binary"; then
        echo "== $name: BUILD FAILED" >&2
        status=1
        continue
    fi

    corpus="$out/corpus/$name"
    artifacts="$out/artifacts/$name"
    log="$out/${name}.log"
    rm -rf "$corpus" "$artifacts"
    mkdir -p "$corpus" "$artifacts"
    if [ -d "$root/tests/fuzz/corpus/$name" ]; then
        cp -r "$root/tests/fuzz/corpus/$name/." "$corpus/"
    fi

    echo "== $name: fuzzing for ${seconds}s on $(find "$corpus" -type f | wc -l) seed(s)"
    set +e
    "$binary" "$corpus" -max_total_time="$seconds" -max_len=16384 -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1
    rc=$?
    set -e
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    findings="$(find "$artifacts" -type f | wc -l)"
    echo "== $name: ${execs:-?} executions, corpus $(find "$corpus" -type f | wc -l) files," \
         "$findings finding(s), exit $rc (log: $log)"
    if [ "$rc" -ne 0 ] || [ "$findings" -ne 0 ]; then
        grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$log" | head -20 >&2 || true
        status=1
    fi
done
exit "$status"
