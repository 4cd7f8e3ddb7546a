#!/usr/bin/env bash
# zeroflow's side of the benchmark matrix: generates dataflows from templates/ (into
# build/bench/zeroflow/), runs each point with `zeroflow run FILE` (embedded daemon, private
# ZEROFLOW_RUNTIME_DIR) and appends one JSON line per point to the results file.
# Usage: benchmarks/zeroflow/run.sh quick|full|scaling|smoke|c-vs-cpp
#        benchmarks/zeroflow/run.sh point PATTERN MODE TOUCH SIZE SAMPLES WARMUP [CPU,CPU]
#   ZEROFLOW_BENCH_RESULTS  JSON-lines file to append to (default build/bench/zeroflow/results.jsonl)
#   ZEROFLOW_BUILD_DIR      build tree with tools/zeroflow and benchmarks/zeroflow/zf_* (default
#                           build/default)
#   ZEROFLOW_BENCH_WORK     where dataflows are generated (default build/bench/zeroflow)
# scaling: fan-out 1/2/4/8 and chain 2/5/10 at 8 B, busy and blocking.
# smoke (ctest bench_smoke_zeroflow): one 8 B blocking ping-pong point of 200 samples in a
# temporary folder, checked with `bench_report --check`.
# point: one round for bench_interleave (benchmarks/run.sh): one point (pingpong, oneway,
# throughput, fanout-N or chain-K) in a temporary folder, its JSON line on stdout; the first node
# runs on the first CPU given, the others round-robin on the rest.
# c-vs-cpp: the C pair (zf_c_ping/zf_c_pong, C API) against the C++ pair at 8 B, busy and
# blocking, interleaved for ZEROFLOW_BENCH_ROUNDS rounds (default 3) of 2,000 samples; results in
# build/bench/zeroflow/c-vs-cpp.jsonl and a table of the rounds on stdout.
# Leaves nothing behind, also when interrupted: no process, no /dev/shm/zeroflow-* of its
# runs, no runtime directory, no out/ folder.
set -euo pipefail

profile=${1:-quick}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${ZEROFLOW_BUILD_DIR:-$root/build/default}
[[ $build == /* ]] || build=$PWD/$build
zeroflow=$build/tools/zeroflow
nodes=$build/benchmarks/zeroflow
report=$build/benchmarks/bench_report

modes=(busy blocking)
touches=(transport)
case $profile in
quick) # 3 sizes, 2,000 samples, transport touch: about 30 s on 2 cores
    sizes=(8 4K 1M)
    samples=2000 warmup=200 budget=20 oversubscribed_budget=2
    patterns=(pingpong oneway)
    fanouts=(1 2) chains=(2)
    throughput_sizes=(8)
    ;;
full) # everything: 8 sizes x 2 modes x 2 touches; 10,000 samples after 1,000 warm-up
    sizes=(8 64 4K 64K 1M 4M 16M 64M)
    samples=10000 warmup=1000 budget=20 oversubscribed_budget=5
    touches=(transport full)
    patterns=(pingpong oneway)
    fanouts=(1 2 4 8) chains=(2 5 10)
    throughput_sizes=(8 1M)
    ;;
scaling) # fan-out 1..8 and chain 2..10 at 8 B only, 2,000 samples
    sizes=(8)
    samples=2000 warmup=200 budget=20 oversubscribed_budget=2
    patterns=()
    fanouts=(1 2 4 8) chains=(2 5 10)
    throughput_sizes=()
    ;;
smoke)
    sizes=(8) modes=(blocking)
    samples=200 warmup=20 budget=20 oversubscribed_budget=2
    patterns=(pingpong)
    fanouts=() chains=()
    throughput_sizes=()
    ;;
point)
    [[ $# -ge 7 ]] || { echo "usage: $0 point PATTERN MODE TOUCH SIZE SAMPLES WARMUP [CPUS]" >&2; exit 2; }
    point_pattern=$2 modes=("$3") touches=("$4") sizes=("$5") samples=$6 warmup=$7
    [[ -n ${8:-} ]] && cpu_list=${8//,/ }
    budget=20 oversubscribed_budget=2
    patterns=() fanouts=() chains=() throughput_sizes=()
    case $point_pattern in
    pingpong | oneway) patterns=("$point_pattern") ;;
    throughput) throughput_sizes=("$5") ;;
    fanout-*) fanouts=("${point_pattern#fanout-}") ;;
    chain-*) chains=("${point_pattern#chain-}") ;;
    *) echo "error: unknown pattern '$point_pattern'" >&2; exit 2 ;;
    esac
    ;;
c-vs-cpp)
    sizes=(8)
    samples=2000 warmup=200 budget=20 oversubscribed_budget=2
    patterns=(pingpong)
    fanouts=() chains=()
    throughput_sizes=()
    ;;
*)
    echo "usage: $0 quick|full|scaling|smoke|c-vs-cpp" >&2
    exit 2
    ;;
esac

tools=("$zeroflow" "$nodes"/zf_{ping,pong,source,sink,relay})
[[ $profile == c-vs-cpp ]] && tools=("$zeroflow" "$nodes"/zf_{ping,pong} "$nodes"/zf_c_{ping,pong})
for tool in "${tools[@]}"; do
    if [[ ! -x $tool ]]; then
        echo "error: $tool not found: build it first (cmake --build build/default --target" \
            "zeroflow zf_ping zf_pong zf_source zf_sink zf_relay zf_c_ping zf_c_pong) or set" \
            "ZEROFLOW_BUILD_DIR" >&2
        exit 1
    fi
done

if [[ $profile == smoke || $profile == point ]]; then
    work=$(mktemp -d "${TMPDIR:-/tmp}/zf-bench-$profile.XXXXXX")
    results=$work/results.jsonl
else
    work=${ZEROFLOW_BENCH_WORK:-$root/build/bench/zeroflow}
    mkdir -p "$work"
    work=$(cd "$work" && pwd)
    default_results=$work/results.jsonl
    [[ $profile == c-vs-cpp ]] && default_results=$work/c-vs-cpp.jsonl
    results=${ZEROFLOW_BENCH_RESULTS:-$default_results}
fi
[[ $results == /* ]] || results=$PWD/$results
export ZEROFLOW_BENCH_RESULTS=$results # the nodes inherit it through the daemon
export ZEROFLOW_RUNTIME_DIR
ZEROFLOW_RUNTIME_DIR=$(mktemp -d "${TMPDIR:-/tmp}/zf-bench.XXXXXX")
export ZEROFLOW_LOG=${ZEROFLOW_LOG:-warn}

current="" # pid of the running `zeroflow run`
cleanup() {
    if [[ -n $current ]]; then
        # As Ctrl-C would: the embedded daemon stops the nodes and unlinks the segment.
        kill -INT "$current" 2>/dev/null || true
        for _ in $(seq 100); do
            kill -0 "$current" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$current" 2>/dev/null || true
        wait "$current" 2>/dev/null || true
        current=""
    fi
    # A daemon that died leaves markers of its segments in its runtime directory: remove those
    # segments (only ours: other daemons have other runtime directories).
    if [[ -d $ZEROFLOW_RUNTIME_DIR/segments ]]; then
        for marker in "$ZEROFLOW_RUNTIME_DIR"/segments/zeroflow-*; do
            [[ -e $marker ]] && rm -f "/dev/shm/$(basename "$marker")"
        done
    fi
    rm -rf "$ZEROFLOW_RUNTIME_DIR" "$work/out"
    if [[ $profile == smoke || $profile == point ]]; then
        rm -rf "$work"
    fi
}
on_signal() {
    echo "interrupted; partial results in $results" >&2
    exit 130 # the EXIT trap cleans up
}
trap cleanup EXIT
trap on_signal INT TERM HUP

cores=$(nproc)
cpu_list=${cpu_list:-}
failed=0
points=0

# render TEMPLATE KEY=VALUE...: the template with @KEY@ replaced; lines whose value is empty
# are dropped (cpu_affinity without pinning, chunks left to the runtime).
render() {
    local template=$here/templates/$1 script=() pair key value
    shift
    for pair in "$@"; do
        key=${pair%%=*}
        value=${pair#*=}
        if [[ -z $value ]]; then
            script+=(-e "/@$key@/d")
        else
            value=${value//\\/\\\\}
            value=${value//|/\\|}
            value=${value//&/\\&}
            script+=(-e "s|@$key@|$value|g")
        fi
    done
    sed "${script[@]}" "$template"
}

bytes() { # 8, 4K, 1M -> bytes
    case $1 in
    *K) echo $((${1%K} * 1024)) ;;
    *M) echo $((${1%M} * 1024 * 1024)) ;;
    *) echo "$1" ;;
    esac
}

cpu() { # cpu INDEX: the source/ping gets core 0, the others share cores 1.. round-robin
    if [[ -n $cpu_list ]]; then # point: the CPUs bench_interleave chose
        local list=($cpu_list)
        if (($1 == 0 || ${#list[@]} < 2)); then
            echo "[${list[0]}]"
        else
            echo "[${list[$((($1 - 1) % (${#list[@]} - 1) + 1))]}]"
        fi
    elif ((cores < 2)); then
        echo ""
    elif (($1 == 0)); then
        echo "[0]"
    else
        echo "[$((($1 - 1) % (cores - 1) + 1))]"
    fi
}

# Common node arguments and the note/budget of a point with `count` nodes.
point_args() { # MODE TOUCH PATTERN SIZE COUNT -> sets $args
    local mode=$1 touch=$2 pattern=$3 size=$4 count=$5 note="" over=0 point_budget=$budget
    if [[ $mode == busy ]] && ((count > cores)); then
        over=1
        point_budget=$oversubscribed_budget
        note="$count busy-polling nodes share $cores cores"
    fi
    args="--pattern $pattern --mode $mode --touch $touch --size $size --samples $samples"
    args+=" --warmup $warmup --budget $point_budget --oversubscribed $over"
    [[ -n $note ]] && args+=" --note \"$note\""
    return 0
}

busy_poll() { [[ $1 == busy ]] && echo 1000000 || echo 0; }

lines() { [[ -f $1 ]] && wc -l <"$1" || echo 0; }

# run_point NAME: runs $work/NAME.yml, expects one more line in the results.
run_point() {
    local name=$1 file=$work/$1.yml status=0 before after
    points=$((points + 1))
    before=$(lines "$results")
    echo "== zeroflow $name" >&2
    "$zeroflow" run --quiet --stop-after "$((60 + 3 * budget))" --grace 2 "$file" \
        >"$work/$name.log" 2>&1 &
    current=$!
    wait "$current" || status=$?
    current=""
    after=$(lines "$results")
    if [[ $status -ne 0 || $after -le $before ]]; then
        failed=$((failed + 1))
        echo "warning: zeroflow point $name failed (exit $status); its logs:" >&2
        tail -n 20 "$work/$name.log" >&2 || true
        for log in "$work"/out/*/log_*.txt; do
            [[ -e $log ]] && { echo "--- $(basename "$log")" >&2; tail -n 5 "$log" >&2; }
        done
    fi
    rm -rf "$work/out" "$work/$name.log"
}

pingpong_point() { # MODE TOUCH SIZE [PREFIX]: PREFIX zf_c_ runs the C pair
    local mode=$1 touch=$2 size=$3 prefix=${4:-zf_} name="pingpong-$1-$2-$3"
    [[ $prefix == zf_ ]] || name="pingpong-c-$1-$2-$3"
    point_args "$mode" "$touch" pingpong "$size" 2
    render pingpong.yml "POINT=$name" "NODES=$nodes" "ARGS=$args" \
        "PING=${prefix}ping" "PONG=${prefix}pong" \
        "BUSY_POLL_US=$(busy_poll "$mode")" "CPU_PING=$(cpu 0)" "CPU_PONG=$(cpu 1)" \
        "MAX=$(bytes "$size")" >"$work/$name.yml"
    run_point "$name"
}

# One source, `relays` relays in a row, then `sinks` sinks fed by the last stage, each acking
# to the source. oneway: 0 relays, 1 sink; fanout-N: 0, N; chain-K: K-1, 1.
graph_point() { # MODE TOUCH SIZE PATTERN RELAYS SINKS
    local mode=$1 touch=$2 size=$3 pattern=$4 relays=$5 sinks=$6
    local name="$4-$1-$2-$3" max upstream=source/data i node=1 acks=$6 queue=10 chunks=""
    local flow=$work/$name.yml
    max=$(bytes "$size")
    if [[ $pattern == throughput ]]; then
        acks=0 queue=1024
        # Never more chunks than the queue holds: the ring can then never overflow, so the
        # sender meets pool_exhausted (and waits) instead of evicting.
        ((max <= 64)) && chunks=1024 || chunks=64
    fi
    point_args "$mode" "$touch" "$pattern" "$size" $((1 + relays + sinks))
    local common=("NODES=$nodes" "BUSY_POLL_US=$(busy_poll "$mode")")
    render source.yml "POINT=$name" "${common[@]}" "ARGS=$args --acks $((acks > 0 ? acks : 1))" \
        "CPU=$(cpu 0)" >"$flow"
    if ((acks > 0)); then
        echo "    inputs:" >>"$flow"
        for ((i = 0; i < sinks; i++)); do
            echo "      ack$i: sink$i/ack" >>"$flow"
        done
    fi
    for ((i = 1; i <= relays; i++)); do
        render relay.yml "ID=relay$i" "${common[@]}" "ARGS=$args" "CPU=$(cpu $node)" \
            "UPSTREAM=$upstream" >>"$flow"
        upstream=relay$i/data
        node=$((node + 1))
    done
    for ((i = 0; i < sinks; i++)); do
        render sink.yml "ID=sink$i" "${common[@]}" "ARGS=$args" "CPU=$(cpu $node)" \
            "UPSTREAM=$upstream" "QUEUE_SIZE=$queue" >>"$flow"
        node=$((node + 1))
    done
    echo "shm:" >>"$flow"
    render shm.yml "OUTPUT=source/data" "MAX=$max" "CHUNKS=$chunks" >>"$flow"
    for ((i = 1; i <= relays; i++)); do
        render shm.yml "OUTPUT=relay$i/data" "MAX=$max" "CHUNKS=" >>"$flow"
    done
    run_point "$name"
}

if [[ $profile == c-vs-cpp ]]; then
    # Interleaved: each round runs the C++ pair then the C pair, per mode, so that the noise of
    # this machine falls on both alike.
    : >"$results"
    for ((round = 1; round <= ${ZEROFLOW_BENCH_ROUNDS:-3}; round++)); do
        for mode in "${modes[@]}"; do
            pingpong_point "$mode" transport 8
            pingpong_point "$mode" transport 8 zf_c_
        done
    done
    /usr/bin/python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"p50_us"' in l]
print("one-way latency, 8 B ping-pong, p50 / p99 in us, per round (C++ pair vs C pair)")
for mode in ("busy", "blocking"):
    for system, label in (("zeroflow", "C++"), ("zeroflow-c", "C")):
        got = [r for r in rows if r["mode"] == mode and r["system"] == system]
        if got:
            rounds = "  ".join(f"{r['p50_us']:.3f}/{r['p99_us']:.3f}" for r in got)
            median = statistics.median(r["p50_us"] for r in got)
            print(f"{mode:8} {label:3}  median p50 {median:.3f}   rounds: {rounds}")
PY
    patterns=() fanouts=() chains=() throughput_sizes=() modes=()
fi

for mode in "${modes[@]}"; do
    for touch in "${touches[@]}"; do
        for size in "${sizes[@]}"; do
            for pattern in "${patterns[@]}"; do
                case $pattern in
                pingpong) pingpong_point "$mode" "$touch" "$size" ;;
                oneway) graph_point "$mode" "$touch" "$size" oneway 0 1 ;;
                esac
            done
            for n in "${fanouts[@]}"; do
                graph_point "$mode" "$touch" "$size" "fanout-$n" 0 "$n"
            done
            for k in "${chains[@]}"; do
                graph_point "$mode" "$touch" "$size" "chain-$k" $((k - 1)) 1
            done
        done
    done
done
# Throughput: transport touch in quick (as the other peers), both touches in full.
for mode in "${modes[@]}"; do
    for touch in "${touches[@]}"; do
        for size in "${throughput_sizes[@]}"; do
            graph_point "$mode" "$touch" "$size" throughput 0 1
        done
    done
done

if [[ $profile == smoke ]]; then
    cat "$results"
    "$report" --check "$results"
fi
if [[ $profile == point ]]; then
    cat "$results"
    exit $((failed > 0))
fi
echo "zeroflow: $((points - failed)) of $points points measured, appended to $results" >&2
if ((failed > 0)); then
    echo "warning: $failed zeroflow points failed (see above)" >&2
    [[ $profile == smoke ]] && exit 1
fi
exit 0
