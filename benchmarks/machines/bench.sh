#!/usr/bin/env bash
# Remote latency across a veth link (two network namespaces on this host, as the machines
# tests make them): zeroflow's ping-pong with ping on machine a and pong on machine b (through
# zeroflow-bridge and Cyclone DDS), beside Cyclone's own `ddsperf ping`/`pong` at the same sizes
# over the same link (the engine's floor), interleaved per size. One-way = round trip / 2.
# Both block (zeroflow nodes without busy-polling; ddsperf in waitset mode). ddsperf's smallest
# message is 16 B: its figure stands beside zeroflow's 8 B.
# Usage (root): benchmarks/machines/bench.sh BUILD_DIR [SAMPLES] [ROUNDS]
set -euo pipefail
build=$(realpath "$1") samples=${2:-1000} rounds=${3:-2}
zeroflow=$build/tools/zeroflow bridge=$build/tools/zeroflow-bridge
ping=$build/benchmarks/zeroflow/zf_ping pong=$build/benchmarks/zeroflow/zf_pong
for f in "$zeroflow" "$bridge" "$ping" "$pong"; do
  [[ -x $f ]] || { echo "missing $f: cmake --build $build --target zeroflow_cli zeroflow_bridge zf_ping zf_pong" >&2; exit 1; }
done
command -v ddsperf >/dev/null || { echo "ddsperf missing: apt-get install cyclonedds-tools" >&2; exit 1; }
# shellcheck source=../../tests/machines/two_machines.sh
source "$(dirname "$0")/../../tests/machines/two_machines.sh"
py=/usr/bin/python3

zeroflow_point() { # size -> "p50 p99" (µs, one-way)
  local size=$1
  rm -f "$work/zf.jsonl"
  cat >"$work/flow.yml" <<YAML
nodes:
  - id: ping
    path: $ping
    args: --pattern pingpong --mode blocking --touch transport --size $size --samples $samples --warmup 100 --budget 20 --oversubscribed 0 --results $work/zf.jsonl
    inputs: {pong: pong/pong}
    outputs: [ping]
    deploy: {machine: a}
  - id: pong
    path: $pong
    args: --pattern pingpong --mode blocking --touch transport --size $size --samples $samples --warmup 100 --budget 20 --oversubscribed 0 --results $work/zf-pong.jsonl
    inputs: {ping: ping/ping}
    outputs: [pong]
    deploy: {machine: b}
YAML
  start_bridge a
  start_bridge b
  wait "${bridge_pid[a]}" || fail "bridge a failed at $size B"
  wait "${bridge_pid[b]}" || fail "bridge b failed at $size B"
  bridge_pid[a]= bridge_pid[b]=
  "$py" -c 'import json,sys; j=json.loads(open(sys.argv[1]).readlines()[-1]); print(j["p50_us"], j["p99_us"])' "$work/zf.jsonl"
}
ddsperf_point() { # size -> "p50 p99" (µs, one-way): median over ddsperf's 1 s windows
  local size=$1
  (( size >= 16 )) || size=16 # ddsperf's smallest message ("size 8 invalid: too small")
  on b ddsperf -D 7 pong waitset >"$work/pong.txt" 2>&1 &
  local pong_pid=$!
  on a ddsperf -D 5 ping size "$size" waitset >"$work/ping.txt" 2>&1 || true
  wait "$pong_pid" || true
  "$py" - "$work/ping.txt" <<'PY'
import re, statistics, sys
p50, p99 = [], []
for line in open(sys.argv[1]):
    m = re.search(r" 50% ([0-9.]+)us .* 99% ([0-9.]+)us", line)
    if m:
        p50.append(float(m.group(1)) / 2); p99.append(float(m.group(2)) / 2)
if len(p50) > 1:
    p50, p99 = p50[1:], p99[1:]  # the first window holds discovery
print(f"{statistics.median(p50):.1f} {statistics.median(p99):.1f}" if p50 else "nan nan")
PY
}

printf '%-8s %-6s %14s %14s\n' size round "zeroflow p50/p99" "ddsperf p50/p99"
for size in 8 65536 1048576; do
  for ((r = 1; r <= rounds; r++)); do
    z=$(zeroflow_point "$size")
    d=$(ddsperf_point "$size")
    printf '%-8s %-6s %14s %14s\n' "$size" "$r" "${z// //}" "${d// //}"
  done
done
