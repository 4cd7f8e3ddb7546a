#!/usr/bin/env bash
# How long `zeroflow start` takes across machines (two network namespaces on this host, as the
# machines tests make them; each daemon with its machine agent), beside a start of a dataflow
# of one machine on the same daemon, interleaved: ROUNDS times each, a dataflow of a source and
# a sink (across: source on a, sink on b). Each start is timed from the CLI's call to its
# answer (start answers only once every machine's part runs), then the dataflow is stopped.
# Prints the median, min and max in ms of each.
# Usage (root): benchmarks/machines/start_time.sh BUILD_DIR [ROUNDS]
set -euo pipefail
build=$(realpath "$1") rounds=${2:-10}
zeroflow=$build/tools/zeroflow bridge=$build/tools/zeroflow-bridge
sink=$build/tests/daemon/zeroflow_test_node
for f in "$zeroflow" "$bridge" "$sink"; do
  [[ -x $f ]] || { echo "missing $f: cmake --build $build" >&2; exit 1; }
done
# shellcheck source=../../tests/machines/two_machines.sh
source "$(dirname "$0")/../../tests/machines/two_machines.sh"

write_flow() { # file, machine of the sink
  cat >"$1" <<YAML
nodes:
  - id: source
    path: $sink
    args: source --count 0 --period-us 10000
    outputs: [out]
    deploy: {machine: a}
  - id: sink
    path: $sink
    args: sink
    inputs: {in: source/out}
    deploy: {machine: $2}
YAML
}
write_flow "$work/across.yml" b
write_flow "$work/local.yml" a
declare -a across local_ms
timed_start() { # file -> ms
  local t0 t1
  t0=$(date +%s%N)
  on a "$zeroflow" start "$1" --name timed >/dev/null 2>"$work/start.err" || fail "start $1: $(cat "$work/start.err")"
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000))
  on a "$zeroflow" stop timed --grace 1s >/dev/null 2>&1 || fail "stop $1"
  wait_for "[[ \$(running a) == 0 && \$(running b) == 0 ]]" 15 || fail "$1 still runs"
}
for ((r = 0; r < rounds; r++)); do
  across+=("$(timed_start "$work/across.yml")")
  local_ms+=("$(timed_start "$work/local.yml")")
done
summary() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "median %s ms, min %s, max %s (%d starts)", m, v[1], v[NR], NR}'; }
echo "zeroflow start, two machines (a and b): $(summary "${across[@]}")"
echo "zeroflow start, one machine (a):        $(summary "${local_ms[@]}")"
echo "(each includes the CLI's own start-up and an nsenter; $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg))"
