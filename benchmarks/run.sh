#!/usr/bin/env bash
# Runs the latency/throughput matrix over every peer, interleaved (bench_interleave: at each
# point the systems run in alternating rounds), and writes build/bench/results.{jsonl,md},
# rounds.jsonl and SVG plots. Builds nothing: run `make build` first.
# Usage: benchmarks/run.sh quick|full
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
quick) # 3 sizes, 4,000 samples per system and point in 8 rounds of 500: about 5 min on 2 cores
    common=(--sizes 8,4K,1M --samples 4000 --round-samples 500 --warmup 100)
    zf_patterns=pingpong+oneway+throughput+fanout-1+fanout-2+chain-2
    common+=(--patterns pingpong,oneway,throughput,fanout-1,fanout-2,chain-2
        --throughput-sizes 8 --touch transport --seconds 0.5 --throughput-rounds 3)
    budget=5
    ;;
full) # every size and touch, 10,000 samples per system and point in rounds of 1,000
    common=(--sizes 8,64,4K,64K,1M,4M,16M,64M --samples 10000 --round-samples 1000 --warmup 200)
    zf_patterns=pingpong+oneway+throughput+fanout-1+fanout-2+fanout-4+fanout-8+chain-2+chain-5+chain-10
    common+=(--patterns pingpong,oneway,throughput,fanout-1,fanout-2,fanout-4,fanout-8,chain-2,chain-5,chain-10
        --throughput-sizes 8,1M --touch transport,full --seconds 1 --throughput-rounds 3)
    budget=5
    ;;
*)
    echo "usage: $0 quick|full" >&2
    exit 2
    ;;
esac

for tool in bench_interleave bench_raw bench_socket bench_report; do
    if [[ ! -x $bin/$tool ]]; then
        echo "error: $bin/$tool not found: run 'make build' first (or set ZEROFLOW_BUILD_DIR)" >&2
        exit 1
    fi
done

mkdir -p "$out"
: >"$results"
: >"$out/rounds.jsonl"

# What every peer gets for one round; bench_interleave fills in the {placeholders}.
peer_args="--no-header --sizes {size} --throughput-sizes {size} --patterns {pattern}"
peer_args+=" --modes {mode} --touch {touch} --samples {samples} --warmup {warmup}"
peer_args+=" --seconds {seconds} --budget $budget --cpus {cpus}"
systems=(--system "raw=$bin/bench_raw $peer_args")
if [[ -x $bin/bench_iceoryx ]]; then
    # RouDi's start-up chatter goes to stderr; an already running RouDi skips iceoryx (exit 77).
    systems+=(--system "iceoryx=$bin/bench_iceoryx $peer_args")
else
    echo "warning: bench_iceoryx not built (iceoryx not found); skipped" >&2
fi
systems+=(--system "uds=$bin/bench_socket --transports uds $peer_args")
systems+=(--system "tcp=$bin/bench_socket --transports tcp $peer_args")
if [[ -f $root/benchmarks/zeroflow/run.sh && -x $build/tools/zeroflow ]]; then
    systems+=(--system "zeroflow:$zf_patterns=env ZEROFLOW_BUILD_DIR=$build bash \
$root/benchmarks/zeroflow/run.sh point {pattern} {mode} {touch} {size} {samples} {warmup} {cpus}")
fi

# The driver runs in the background so that a signal reaches it: it stops the running round
# (each peer then stops its children, unlinks its shm objects and stops its RouDi).
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

status=0
"$bin/bench_interleave" "${systems[@]}" --floor raw "${common[@]}" \
    --rounds-out "$out/rounds.jsonl" >"$results" &
current=$!
wait "$current" || status=$?
current=""
if [[ $status -ne 0 ]]; then
    echo "warning: some rounds failed (exit $status); the report shows what was measured" >&2
fi

"$bin/bench_report" "$results" "$out"
echo "results: $results (every round: $out/rounds.jsonl), $out/results.md, $out/*.svg" >&2
