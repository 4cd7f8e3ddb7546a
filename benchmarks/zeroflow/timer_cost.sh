#!/usr/bin/env bash
# The daemon's CPU cost of timers, per timer and per receiver: dataflows of silent receivers
# (examples' hello_receiver, stdout to /dev/null so that no log forwarding is counted) on
# zeroflow/timer/hz/HZ, each run by `zeroflow run` (embedded daemon, private runtime directory);
# the daemon's CPU (every thread of the `zeroflow run` process, /proc/PID/task/*/schedstat)
# between 2 s and 8 s of the run, in ms per second. The configurations run interleaved, ROUNDS
# times (default 3); with several build trees (a before and an after), every configuration runs
# on each tree in turn within a round, so that both meet the same machine state.
# Usage: benchmarks/zeroflow/timer_cost.sh [ROUNDS] [HZ] [BUILD_DIR...]
#   BUILD_DIR  build tree with tools/zeroflow and examples/hello_receiver
#              (default: $ZEROFLOW_BUILD_DIR, else build/default)
set -euo pipefail
rounds=${1:-3}
hz=${2:-1000}
root=$(cd "$(dirname "$0")/../.." && pwd)
builds=("${@:3}")
[[ ${#builds[@]} -gt 0 ]] || builds=("${ZEROFLOW_BUILD_DIR:-$root/build/default}")
for build in "${builds[@]}"; do
    for tool in "$build/tools/zeroflow" "$build/examples/hello_receiver"; do
        [[ -x $tool ]] || { echo "error: $tool not found (build zeroflow_cli and hello_receiver)" >&2; exit 1; }
    done
done
work=$(mktemp -d "${TMPDIR:-/tmp}/zf-timer-cost.XXXXXX")
pid=""
cleanup() {
    if [[ -n $pid ]]; then
        kill -INT "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

flow() { # flow NAME PERIOD:RECEIVERS...: a dataflow of receivers on timers ($receiver's)
    local name=$1 spec i=0 r
    shift
    echo "nodes:" >"$work/$name.yml"
    for spec in "$@"; do
        for ((r = 0; r < ${spec#*:}; r++)); do
            cat >>"$work/$name.yml" <<YML
  - id: r$i
    path: /bin/sh
    args: '-c "exec $receiver >/dev/null"'
    inputs:
      message: zeroflow/timer/${spec%%:*}
YML
            i=$((i + 1))
        done
    done
}
flows() { # the configurations, for the tree in $receiver, as $work/NAME-TREE.yml
    local t=$1
    flow "idle-$t" "hz/1:1"
    flow "1-timer-1-receiver-$t" "hz/$hz:1"
    flow "1-timer-2-receivers-$t" "hz/$hz:2"
    flow "1-timer-4-receivers-$t" "hz/$hz:4"
    flow "2-timers-1-receiver-each-$t" "hz/$hz:1" "hz/$((hz - 1)):1"
}
for t in "${!builds[@]}"; do
    receiver=${builds[$t]}/examples/hello_receiver
    flows "$t"
done
names=(idle 1-timer-1-receiver 1-timer-2-receivers 1-timer-4-receivers 2-timers-1-receiver-each)

cpu_ns() { # every thread of $pid
    local total=0 run rest file
    for file in /proc/"$pid"/task/*/schedstat; do
        read -r run rest <"$file" || continue
        total=$((total + run))
    done
    echo "$total"
}
declare -A results
for ((round = 1; round <= rounds; round++)); do
    for name in "${names[@]}"; do
        for t in "${!builds[@]}"; do
            export ZEROFLOW_RUNTIME_DIR=$work/rt-$name-$t ZEROFLOW_LOG=warn
            "${builds[$t]}/tools/zeroflow" run --quiet --stop-after 9s --grace 1s \
                "$work/$name-$t.yml" >/dev/null 2>&1 &
            pid=$!
            sleep 2
            a=$(cpu_ns) ta=$(date +%s%N)
            sleep 6
            b=$(cpu_ns) tb=$(date +%s%N)
            wait "$pid" || true
            pid=""
            results[$name-$t]+=" $(awk -v c=$((b - a)) -v w=$((tb - ta)) 'BEGIN { printf "%.1f", 1000 * c / w }')"
            rm -rf "$work/rt-$name-$t"
        done
    done
done
echo "daemon CPU in ms per second at $hz Hz, $rounds interleaved rounds (load: $(cut -d' ' -f1-3 /proc/loadavg))"
for t in "${!builds[@]}"; do
    [[ ${#builds[@]} -eq 1 ]] || echo "build tree $t: ${builds[$t]}"
    for name in "${names[@]}"; do
        printf '%-26s %s\n' "$name" "${results[$name-$t]}"
    done
done
