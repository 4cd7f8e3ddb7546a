#!/usr/bin/env bash
# Runs the latency/throughput matrix over every peer and writes build/bench/results.{jsonl,md}
# plus SVG plots. Builds nothing: run `make build` first. Usage: benchmarks/run.sh quick|full
#   ZEROFLOW_BUILD_DIR  build tree with the binaries (default: build/default)
#   ZEROFLOW_BENCH_OUT  output directory (default: build/bench)
set -euo pipefail

profile=${1:-quick}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ZEROFLOW_BUILD_DIR:-$root/build/default}
bin=$build/benchmarks
out=${ZEROFLOW_BENCH_OUT:-$root/build/bench}
results=$out/results.jsonl

case $profile in
quick) # 3 sizes, 2,000 samples, transport-touch throughput only: about 1 min on 2 cores
    common=(--sizes 8,4K,1M --samples 2000 --warmup 200)
    throughput=(--patterns throughput --touch transport --seconds 1)
    ;;
full) # every size, 10,000 samples after 1,000 warm-up (fewer where a point exceeds 20 s)
    common=(--sizes 8,64,4K,64K,1M,4M,16M,64M --samples 10000 --warmup 1000 --budget 20)
    throughput=(--patterns throughput --seconds 1)
    ;;
*)
    echo "usage: $0 quick|full" >&2
    exit 2
    ;;
esac

for tool in bench_raw bench_socket bench_report; do
    if [[ ! -x $bin/$tool ]]; then
        echo "error: $bin/$tool not found: run 'make build' first (or set ZEROFLOW_BUILD_DIR)" >&2
        exit 1
    fi
done

mkdir -p "$out"
: >"$results"

# Each benchmark runs in the background so that a signal reaches it: it then stops its child
# processes, unlinks its shm objects and (iceoryx) stops its RouDi before exiting.
current=""
on_signal() {
    if [[ -n $current ]]; then
        kill -TERM "$current" 2>/dev/null || true
        wait "$current" 2>/dev/null || true
    fi
    echo "interrupted; partial results in $results" >&2
    exit 130
}
trap on_signal INT TERM HUP

header=()
run() { # run NAME ARGS...: append the JSON lines of one benchmark to the results
    local name=$1 status=0
    shift
    echo "== $name $*" >&2
    "$bin/$name" "${header[@]}" "$@" >>"$results" &
    current=$!
    wait "$current" || status=$?
    current=""
    header=(--no-header) # one header line per results file
    return "$status"
}

run bench_raw "${common[@]}" --patterns pingpong,oneway
run bench_raw "${common[@]}" "${throughput[@]}"
if [[ -x $bin/bench_iceoryx ]]; then
    status=0
    run bench_iceoryx "${common[@]}" --patterns pingpong,oneway || status=$?
    if [[ $status -eq 0 ]]; then
        run bench_iceoryx "${common[@]}" "${throughput[@]}"
    elif [[ $status -eq 77 ]]; then
        echo "warning: iceoryx skipped (a RouDi is already running)" >&2
    else
        exit "$status"
    fi
else
    echo "warning: bench_iceoryx not built (iceoryx not found); skipped" >&2
fi
run bench_socket "${common[@]}" --patterns pingpong,oneway
run bench_socket "${common[@]}" "${throughput[@]}"

if [[ -f $root/benchmarks/zeroflow/run.sh ]]; then
    echo "== benchmarks/zeroflow/run.sh $profile" >&2
    ZEROFLOW_BENCH_RESULTS=$results ZEROFLOW_BUILD_DIR=$build \
        bash "$root/benchmarks/zeroflow/run.sh" "$profile" &
    current=$!
    wait "$current"
    current=""
fi

"$bin/bench_report" "$results" "$out"
echo "results: $results, $out/results.md, $out/latency_p50.svg, $out/latency_p99.svg" >&2
