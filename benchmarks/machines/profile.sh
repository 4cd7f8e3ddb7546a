#!/usr/bin/env bash
# Where remote latency goes: an 8 B ping-pong across the veth link (bench.sh's flow, zf_ping on
# machine a, zf_pong on b, through both machines' pumps), and for 5 s mid-run, per process
# (ping, pong, each machine's publish and subscribe pump, all threads): `strace -c -f` (syscall
# counts; strace slows every syscall, so its counts are per message, not its times) or
# `perf stat` (syscalls, context switches, CPU time; no ptrace).
# Usage (root): benchmarks/machines/profile.sh BUILD_DIR strace|perf
set -euo pipefail
build=$(realpath "$1") mode=${2:-strace}
zeroflow=$build/tools/zeroflow bridge=$build/tools/zeroflow-bridge
ping=$build/benchmarks/zeroflow/zf_ping pong=$build/benchmarks/zeroflow/zf_pong
command -v "$mode" >/dev/null || { echo "$mode missing" >&2; exit 1; }
# shellcheck source=../../tests/machines/two_machines.sh
source "$(dirname "$0")/../../tests/machines/two_machines.sh"
# More samples than 9 s take: the window is mid-run; the bridges are stopped after it.
args="--pattern pingpong --mode blocking --touch transport --size 8 --samples 300000 --warmup 100 --budget 100 --oversubscribed 0"
cat >"$work/flow.yml" <<YAML
nodes:
  - id: ping
    path: $ping
    args: $args --results $work/zf.jsonl
    inputs: {pong: pong/pong}
    outputs: [ping]
    deploy: {machine: a}
  - id: pong
    path: $pong
    args: $args --results $work/zf-pong.jsonl
    inputs: {ping: ping/ping}
    outputs: [pong]
    deploy: {machine: b}
YAML
start_bridge a
start_bridge b
sleep 4
procs=()
for m in a b; do
  for pid in $(ip netns pids "$tag-$m"); do
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
    case $cmd in
      *"--pump publish"*) procs+=("$m-publish-pump:$pid") ;;
      *"--pump subscribe"*) procs+=("$m-subscribe-pump:$pid") ;;
      *zf_ping*) procs+=("$m-ping:$pid") ;;
      *zf_pong*) procs+=("$m-pong:$pid") ;;
    esac
  done
done
(( ${#procs[@]} == 6 )) || fail "expected 6 processes (ping, pong, 4 pumps), found: ${procs[*]}"
tracers=()
for p in "${procs[@]}"; do
  if [[ $mode == strace ]]; then
    timeout -s INT 5 strace -c -f -p "${p#*:}" -o "$work/${p%%:*}.txt" 2>/dev/null &
  else
    perf stat -e raw_syscalls:sys_enter,context-switches,task-clock -p "${p#*:}" \
      -o "$work/${p%%:*}.txt" -- sleep 5 2>/dev/null &
  fi
  tracers+=($!)
done
for t in "${tracers[@]}"; do wait "$t" || true; done
kill -TERM "${bridge_pid[a]}" 2>/dev/null || true
wait "${bridge_pid[a]}" || true
wait "${bridge_pid[b]}" || true
bridge_pid[a]= bridge_pid[b]=
for p in "${procs[@]}"; do
  echo "== ${p%%:*}"
  if [[ $mode == strace ]]; then
    sed -n '3,/^------/p' "$work/${p%%:*}.txt" | grep -v '^------' | awk '{ print "  " $NF ": " $4 }'
  else
    grep -E 'sys_enter|context-switches|task-clock' "$work/${p%%:*}.txt" | awk '/task-clock/ { print "  task-clock (ms): " $1; next } { print "  " $2 ": " $1 }'
  fi
done
