#!/usr/bin/env bash
# sensor-pipeline benchmark: the camera at 1 kHz with 1 MiB frames (benchmark.yml) for N seconds
# on a daemon of its own (a separate process, in a fresh runtime directory), then prints the
# sink's end-to-end latency and drops, and the daemon's CPU time against the nodes' CPU time.
#
#   examples/sensor-pipeline/bench.sh [SECONDS]     (default 10; KEEP_LOGS=1 keeps out/<uuid>)
set -euo pipefail

seconds=${1:-10}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$root/build/default
zeroflow=$build/tools/zeroflow

cmake --build "$build" -j1 --target zeroflow_cli camera_node filter_node sink_node >/dev/null

runtime_dir=$(mktemp -d /tmp/zf-bench.XXXXXX) # fresh: no other daemon, mode 0700
export ZEROFLOW_RUNTIME_DIR=$runtime_dir
log_dir=""
cleanup() {
    "$zeroflow" destroy >/dev/null 2>&1 || true
    if [[ -n $log_dir && ${KEEP_LOGS:-0} != 1 ]]; then
        rm -rf "$log_dir"
        rmdir "$here/out" 2>/dev/null || true
    fi
    rm -rf "$runtime_dir"
}
trap cleanup EXIT

# utime + stime of a process in clock ticks (fields 14 and 15 of /proc/PID/stat, counted after
# the command name, which may hold spaces).
cpu_ticks() {
    local stat
    stat=$(<"/proc/$1/stat")
    stat=${stat##*) }
    read -r -a fields <<<"$stat"
    echo $((fields[11] + fields[12]))
}

"$zeroflow" up >/dev/null
daemon_pid=$(<"$runtime_dir/daemon.lock")
ticks_per_s=$(getconf CLK_TCK)

before=$(cpu_ticks "$daemon_pid")
start_ns=$(date +%s%N)
run_output=$("$zeroflow" run --quiet "$here/benchmark.yml" --stop-after "$seconds")
end_ns=$(date +%s%N)
after=$(cpu_ticks "$daemon_pid")
echo "$run_output"

uuid=$(sed -n 's/^dataflow \([0-9a-f-]*\) running.*/\1/p' <<<"$run_output" | head -n1)
log_dir=$here/out/$uuid
[[ -n $uuid && -d $log_dir ]] || { echo "bench: no log folder for the run" >&2; exit 1; }

echo
grep -h '^sink: frames=\|^sink: details\|^sink: note\|^camera: sent\|^filter: frames' \
    "$log_dir"/log_*.txt
# Node CPU time: each node prints its getrusage(RUSAGE_SELF) when it exits.
node_us=$(cat "$log_dir"/log_*.txt |
    sed -n 's/^[a-z]*: cpu_user_us=\([0-9]*\) cpu_sys_us=\([0-9]*\)$/\1 \2/p' |
    awk '{ total += $1 + $2; n++ } END { if (n != 3) exit 1; print total }') ||
    { echo "bench: expected the CPU time of 3 nodes in the logs" >&2; exit 1; }
daemon_us=$(((after - before) * 1000000 / ticks_per_s))
wall_us=$(((end_ns - start_ns) / 1000))
grep -h 'cpu_user_us' "$log_dir"/log_*.txt
awk -v d="$daemon_us" -v n="$node_us" -v w="$wall_us" 'BEGIN {
    printf "daemon: cpu_us=%d (%.2f%% of one core over %.1f s wall)\n", d, 100 * d / w, w / 1e6
    printf "nodes: cpu_us=%d (%.1f%% of one core)\n", n, 100 * n / w
    printf "daemon/nodes cpu share: %.1f%%\n", (n > 0 ? 100 * d / n : 0)
}'

"$zeroflow" destroy >/dev/null
left=$(ls /dev/shm | grep -c -- "-${uuid//-/}\$" || true) # segments are zeroflow-<uid>-<hex uuid>
[[ $left == 0 ]] || echo "bench: $left shared-memory object(s) of $uuid left in /dev/shm" >&2
