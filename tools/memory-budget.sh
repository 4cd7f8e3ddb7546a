#!/usr/bin/env bash
# Runs examples/sensor-pipeline at its defaults with the daemon and every node inside one memory
# cgroup (cgroup v1 `memory` controller, root) limited to LIMIT, for SECONDS, and reports the
# cgroup's peak usage, how often it hit the limit, and how the pipeline fared (docs/embedded.md).
#   tools/memory-budget.sh LIMIT [SECONDS] [BUILD_DIR]     e.g. tools/memory-budget.sh 64M 15
set -euo pipefail
cd "$(dirname "$0")/.."
limit=$1 seconds=${2:-15} build=$(realpath "${3:-build/default}")
cg=/sys/fs/cgroup/memory/zeroflow-budget-$$
[[ -d /sys/fs/cgroup/memory ]] || { echo "needs the cgroup v1 memory controller" >&2; exit 1; }
work=$(mktemp -d /tmp/zf-budget-XXXXXX)
export ZEROFLOW_RUNTIME_DIR=$work/run
mkdir "$cg"
echo "$limit" >"$cg/memory.limit_in_bytes"
daemon=
cleanup() {
  [[ -n $daemon ]] && kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
  sleep 0.5
  rmdir "$cg" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
sh -c "echo \$\$ >$cg/cgroup.procs; exec $build/daemon/zeroflowd --log-file $work/daemon.log" &
daemon=$!
for _ in $(seq 100); do [[ -S $ZEROFLOW_RUNTIME_DIR/daemon.sock ]] && break; sleep 0.1; done
mkdir "$work/sp"
sed "s|\.\./\.\./build/default/examples/|$build/examples/|" examples/sensor-pipeline/dataflow.yml \
  >"$work/sp/dataflow.yml"
"$build/tools/zeroflow" start "$work/sp/dataflow.yml" >/dev/null || true
sleep "$seconds"
"$build/tools/zeroflow" list
echo "cgroup peak $(($(cat "$cg/memory.max_usage_in_bytes") / 1048576)) MiB of $limit," \
  "hit the limit $(cat "$cg/memory.failcnt") times"
echo "sink's last line: $(tail -n 1 "$work"/sp/out/*/log_sink.txt)"
