#!/usr/bin/env bash
# python-pipeline benchmark: the Python camera at 1 kHz with 4 MiB frames (benchmark.yml), the C++
# filter and the Python sink for N seconds on a daemon of its own, then the sink's end-to-end
# latency, gaps and drops, and the camera's count of failed loans.
#
#   examples/python-pipeline/bench.sh [SECONDS]     (default 10; KEEP_LOGS=1 keeps out/<uuid>)
set -euo pipefail

seconds=${1:-10}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$root/build/default
zeroflow=$build/tools/zeroflow

cmake --build "$build" -j1 --target zeroflow_cli zeroflowd zeroflow_python filter_node >/dev/null

runtime_dir=$(mktemp -d /tmp/zf-pybench.XXXXXX)
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

run_output=$("$zeroflow" run "$here/benchmark.yml" --stop-after "$seconds")
echo "$run_output"
uuid=$(sed -n 's/^dataflow \([0-9a-f-]*\) running.*/\1/p' <<<"$run_output" | head -n1)
log_dir=$here/out/$uuid
[[ -n $uuid && -d $log_dir ]] || { echo "bench: no log folder for the run" >&2; exit 1; }
grep -h '^sink: frames=\|^sink: details\|^camera: sent\|^filter: frames\|cpu_user_us' \
    "$log_dir"/log_*.txt
