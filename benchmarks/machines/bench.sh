#!/usr/bin/env bash
# Remote latency across a veth link (two network namespaces on this host, as the machines
# tests make them): zeroflow's ping-pong with ping on machine a and pong on machine b (through
# zeroflow-bridge and Cyclone DDS), beside Cyclone's own `ddsperf ping`/`pong` at the same sizes
# over the same link (the engine's floor), interleaved per size. One-way = round trip / 2: zf_ping
# halves its round trips; ddsperf ping prints halved ones already (it records (now - the ping's
# source timestamp) / 2, process_pong in its ddsperf.c), so its figures are taken as printed.
# Both block (zeroflow nodes without busy-polling; ddsperf in waitset mode). zeroflow runs with
# the nodes writing on DDS themselves (direct, the default), then with the machines' publish
# pumps writing (ZEROFLOW_BRIDGE_PUBLISH=pump), then with pumps that busy-poll
# (ZF_BENCH_SPIN_US, default 1000; 0 leaves it out); a last column is the same ping-pong with
# both nodes on machine a (one local hand-over).
# ddsperf's smallest message is 16 B: its figure stands beside zeroflow's 8 B. ZF_BENCH_SIZES
# (default "8 65536 1048576") chooses the sizes.
# Then throughput at 8 B, ROUNDS times (ZF_BENCH_ONLY=latency or =throughput: one part only): zf_source on a floods
# for 5 s (it never waits: a full queue drops its oldest, and so does the full DDS history of a
# node that writes directly), zf_sink on b counts (received/s), once per mode,
# beside what the source sent (sent/s), the drops on each machine, and `ddsperf pub` (as fast
# as it can; reliable keep-all, so its writer waits for acknowledgements) / `ddsperf sub` at 16 B.
# Usage (root): [ZF_BENCH_PIN=1] [ZF_BENCH_HALT_POLL_NS=N] [ZF_BENCH_SIZES=...] benchmarks/machines/bench.sh BUILD_DIR [SAMPLES] [ROUNDS]
set -euo pipefail
build=$(realpath "$1") samples=${2:-1000} rounds=${3:-2}
zeroflow=$build/tools/zeroflow bridge=$build/tools/zeroflow-bridge
ping=$build/benchmarks/zeroflow/zf_ping pong=$build/benchmarks/zeroflow/zf_pong
zf_source=$build/benchmarks/zeroflow/zf_source zf_sink=$build/benchmarks/zeroflow/zf_sink
for f in "$zeroflow" "$bridge" "$ping" "$pong" "$zf_source" "$zf_sink"; do
  [[ -x $f ]] || { echo "missing $f: cmake --build $build --target zeroflow_cli zeroflow_bridge zf_ping zf_pong zf_source zf_sink" >&2; exit 1; }
done
command -v ddsperf >/dev/null || { echo "ddsperf missing: apt-get install cyclonedds-tools" >&2; exit 1; }
# What a wake-up of an idle CPU costs decides every blocking hand-over's latency, zeroflow's and
# ddsperf's alike. In a KVM guest with the haltpoll cpuidle driver an idle virtual CPU first
# polls for up to guest_halt_poll_ns (the kernel's default: 200000) before it halts; once it
# halted, waking it exits to the hypervisor (this project's dev VM boots with 0: 30-35 µs per
# hand-over, against 2.5-3 µs with 200000). ZF_BENCH_HALT_POLL_NS=N sets it for this run (root)
# and puts the old value back at exit; the header says what the run had.
halt_poll=/sys/module/haltpoll/parameters/guest_halt_poll_ns
if [[ -n ${ZF_BENCH_HALT_POLL_NS:-} ]]; then
  [[ $ZF_BENCH_HALT_POLL_NS =~ ^[0-9]+$ ]] || { echo "ZF_BENCH_HALT_POLL_NS='$ZF_BENCH_HALT_POLL_NS' is not a number of nanoseconds" >&2; exit 1; }
  [[ -w $halt_poll ]] || { echo "ZF_BENCH_HALT_POLL_NS: cannot write $halt_poll (not a KVM guest with the haltpoll cpuidle driver, or not root)" >&2; exit 1; }
fi
# shellcheck source=../../tests/machines/two_machines.sh
source "$(dirname "$0")/../../tests/machines/two_machines.sh"
py=/usr/bin/python3
if [[ -n ${ZF_BENCH_HALT_POLL_NS:-} ]]; then
  halt_poll_before=$(<"$halt_poll")
  trap 'echo "$halt_poll_before" >"$halt_poll"; cleanup' EXIT
  echo "$ZF_BENCH_HALT_POLL_NS" >"$halt_poll"
fi
idle="cpuidle driver $(cat /sys/devices/system/cpu/cpuidle/current_driver 2>/dev/null || echo none)"
[[ -r $halt_poll ]] && idle+=", guest_halt_poll_ns $(<"$halt_poll")"
echo "machine: $(nproc) CPUs, $idle${ZF_BENCH_PIN:+, ZF_BENCH_PIN=$ZF_BENCH_PIN}; $(date -u +%FT%TZ)"
# ZF_BENCH_PIN=1: each machine on one core of its own, as two computers would be: zeroflow's
# nodes on machine a with `cpu_affinity: [0]`, on b with [1] (their pumps follow them), and
# ddsperf's ping on CPU 0, its pong on CPU 1 (taskset).
pin_a=() pin_b=() affinity_a='' affinity_b=''
if [[ ${ZF_BENCH_PIN:-0} == 1 ]]; then
  pin_a=(taskset -c 0) pin_b=(taskset -c 1) affinity_a='cpu_affinity: [0]' affinity_b='cpu_affinity: [1]'
fi

zeroflow_point() { # size [machine of pong] -> "p50 p99" (µs, one-way)
  local size=$1 pong_machine=${2:-b} pong_affinity=$affinity_b
  [[ $pong_machine == b ]] || pong_affinity=$affinity_a
  rm -f "$work/zf.jsonl"
  cat >"$work/flow.yml" <<YAML
nodes:
  - id: ping
    path: $ping
    args: --pattern pingpong --mode blocking --touch transport --size $size --samples $samples --warmup 100 --budget 20 --oversubscribed 0 --results $work/zf.jsonl
    inputs: {pong: pong/pong}
    outputs: [ping]
    deploy: {machine: a}
    $affinity_a
  - id: pong
    path: $pong
    args: --pattern pingpong --mode blocking --touch transport --size $size --samples $samples --warmup 100 --budget 20 --oversubscribed 0 --results $work/zf-pong.jsonl
    inputs: {ping: ping/ping}
    outputs: [pong]
    deploy: {machine: $pong_machine}
    $pong_affinity
YAML
  start_bridge a
  [[ $pong_machine == a ]] || start_bridge b
  wait "${bridge_pid[a]}" || fail "bridge a failed at $size B"
  [[ $pong_machine == a ]] || wait "${bridge_pid[b]}" || fail "bridge b failed at $size B"
  bridge_pid[a]= bridge_pid[b]=
  "$py" -c 'import json,sys; j=json.loads(open(sys.argv[1]).readlines()[-1]); print(j["p50_us"], j["p99_us"])' "$work/zf.jsonl"
}
ddsperf_point() { # size -> "p50 p99" (µs, one-way as ddsperf prints it): median over its 1 s windows
  local size=$1
  (( size >= 16 )) || size=16 # ddsperf's smallest message ("size 8 invalid: too small")
  on b "${pin_b[@]}" ddsperf -D 7 pong waitset >"$work/pong.txt" 2>&1 &
  local pong_pid=$!
  on a "${pin_a[@]}" ddsperf -D 5 ping size "$size" waitset >"$work/ping.txt" 2>&1 || true
  wait "$pong_pid" || true
  "$py" - "$work/ping.txt" <<'PY'
import re, statistics, sys
p50, p99 = [], []
for line in open(sys.argv[1]):
    m = re.search(r" 50% ([0-9.]+)us .* 99% ([0-9.]+)us", line)
    if m:
        p50.append(float(m.group(1))); p99.append(float(m.group(2)))
if len(p50) > 1:
    p50, p99 = p50[1:], p99[1:]  # the first window holds discovery
print(f"{statistics.median(p50):.1f} {statistics.median(p99):.1f}" if p50 else "nan nan")
PY
}

zeroflow_throughput() { # size -> "received/s sent/s dropped-at-a dropped-at-b missing-at-b"
  local size=$1
  rm -f "$work/zft.jsonl"
  rm -rf "$work/out"
  # The source floods for 5 s (as fast as its loans allow); the sink on b counts what arrives
  # between its first message and the source's stop message. What DDS cannot take in time the
  # publish pump's queue on a drops (oldest first, counted in its log), and what the sink on b
  # cannot take in time its own queue drops (counted in its result's note). What never reached
  # b's subscribe pump (dropped on a, or overwritten in a's DDS history) b's pump counts from the
  # gaps in the sender's sequence numbers (in its log, named after the node it stands in for).
  cat >"$work/flow.yml" <<YAML
nodes:
  - id: source
    path: $zf_source
    args: --pattern throughput --mode blocking --touch transport --size $size --seconds 5
    outputs: [data]
    deploy: {machine: a}
  - id: sink
    path: $zf_sink
    args: --pattern throughput --mode blocking --touch transport --size $size --allow-drops 1 --results $work/zft.jsonl
    inputs: {data: {source: source/data, queue_size: 1024}}
    deploy: {machine: b}
YAML
  start_bridge a
  start_bridge b
  wait "${bridge_pid[a]}" || fail "bridge a failed (throughput, $size B)"
  wait "${bridge_pid[b]}" || fail "bridge b failed (throughput, $size B)"
  bridge_pid[a]= bridge_pid[b]=
  local sent dropped_a missing_b
  sent=$(cat "$work"/out/*/log_source.txt 2>/dev/null | sed -n 's/^sent \([0-9]*\) messages.*/\1/p' | tail -n 1)
  # (publishing directly: the writes Cyclone refused beyond its WhcHigh, counted by the source;
  # what its full history dropped shows only as never reached b)
  dropped_a=$(cat "$work"/out/*/log_*.txt 2>/dev/null | sed -n -e 's/^zeroflow-bridge: \([0-9]*\) messages dropped.*/\1/p' \
    -e 's/^zeroflow: \([0-9]*\) messages not sent to other machines.*/\1/p' | tail -n 1)
  missing_b=$(cat "$work"/out/*/log_*.txt 2>/dev/null | sed -n 's/^zeroflow-bridge: \([0-9]*\) messages of .* never arrived.*/\1/p' | tail -n 1)
  "$py" - "$work/zft.jsonl" "${sent:-0}" "${dropped_a:-0}" "${missing_b:-0}" <<'PY'
import json, re, sys
j = json.loads(open(sys.argv[1]).readlines()[-1])
m = re.search(r"([0-9]+) dropped by the queue", j.get("note", ""))
print("%.0f %.0f %s %s %s" % (j["msgs_per_s"], int(sys.argv[2]) / 5, sys.argv[3], m.group(1) if m else 0, sys.argv[4]))
PY
}
ddsperf_throughput() { # size -> messages per second: median over ddsperf sub's 1 s windows
  local size=$1
  (( size >= 16 )) || size=16
  on b ddsperf -k all -D 7 sub waitset >"$work/sub.txt" 2>&1 &
  local sub_pid=$!
  on a ddsperf -k all -D 5 pub size "$size" >"$work/pub.txt" 2>&1 || true
  wait "$sub_pid" || true
  "$py" - "$work/sub.txt" <<'PY'
import re, statistics, sys
rates = [float(m.group(1)) * 1e3 for line in open(sys.argv[1])
         if (m := re.search(r" delta [0-9]+ lost [0-9]+ rate ([0-9.]+) kS/s", line))]
rates = rates[1:-1] if len(rates) > 2 else rates  # discovery's window, the pub's last one
print(f"{statistics.median(rates):.0f}" if rates else "nan")
PY
}

only=${ZF_BENCH_ONLY:-} # latency | throughput: one part only
# The third latency column: the same zeroflow ping-pong with publish pumps that busy-poll for
# ZF_BENCH_SPIN_US after each message (ZEROFLOW_BRIDGE_SPIN_US; 0 leaves the column out).
spin_us=${ZF_BENCH_SPIN_US:-1000}
# Pinned, a spinning pump would poll on its senders' core: the bridge leaves it unpinned, which
# is not what ZF_BENCH_PIN measures; that column is left out.
[[ ${ZF_BENCH_PIN:-0} != 1 ]] || spin_us=0
zeroflow_spin_point() { # size -> "p50 p99" with spinning publish pumps
  ZEROFLOW_BRIDGE_SPIN_US=$spin_us
  export ZEROFLOW_BRIDGE_SPIN_US
  zeroflow_mode_point pump "$1"
  unset ZEROFLOW_BRIDGE_SPIN_US
}
# The first two latency columns: each node writes its messages on DDS itself (the default,
# ZEROFLOW_BRIDGE_PUBLISH=direct), and each machine's publish pump writes them (=pump: one
# hand-over more per one-way, from the sending node to its pump).
zeroflow_mode_point() { # mode size -> "p50 p99"
  ZEROFLOW_BRIDGE_PUBLISH=$1
  export ZEROFLOW_BRIDGE_PUBLISH
  zeroflow_point "$2"
  unset ZEROFLOW_BRIDGE_PUBLISH
}
# The last latency column: the same ping-pong with both nodes on machine a (no DDS, no pump),
# the cost of one hand-over between two blocked processes on this machine: with pumps, each
# remote direction has one more than ddsperf's (the sender waking its publish pump).
[[ $only == throughput ]] || printf '%-8s %-6s %18s %18s %18s %16s %18s\n' size round "direct p50/p99" \
  "pump p50/p99" "spin ${spin_us}us p50/p99" "ddsperf p50/p99" "local p50/p99"
[[ $only == throughput ]] || for size in ${ZF_BENCH_SIZES:-8 65536 1048576}; do
  for ((r = 1; r <= rounds; r++)); do
    z=$(zeroflow_mode_point direct "$size")
    x=$(zeroflow_mode_point pump "$size")
    s=-
    if ((spin_us > 0)); then s=$(zeroflow_spin_point "$size"); fi
    d=$(ddsperf_point "$size")
    l=$(zeroflow_point "$size" a)
    printf '%-8s %-6s %18s %18s %18s %16s %18s\n' "$size" "$r" "${z// //}" "${x// //}" "${s// //}" "${d// //}" "${l// //}"
  done
done
if [[ $only != latency ]]; then
  printf '\n%-8s %-12s %24s %32s %16s\n' size round "zeroflow received/sent/s" "dropped a/b, never reached b" "ddsperf msg/s"
  for ((r = 1; r <= rounds; r++)); do
    for mode in direct pump; do
      export ZEROFLOW_BRIDGE_PUBLISH=$mode
      read -r received sent dropped_a dropped_b missing_b <<<"$(zeroflow_throughput 8)"
      unset ZEROFLOW_BRIDGE_PUBLISH
      printf '%-8s %-12s %24s %32s %16s\n' 8 "$r $mode" "$received/$sent" "$dropped_a/$dropped_b, $missing_b" ""
    done
    d=$(ddsperf_throughput 8)
    printf '%-8s %-12s %24s %32s %16s\n' 8 "$r ddsperf" "" "" "$d"
  done
fi
