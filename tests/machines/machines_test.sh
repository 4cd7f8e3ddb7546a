#!/usr/bin/env bash
# Dataflows across machines, really across a network: two "machines" a and b on this host, each a
# network namespace (a veth pair between them, addresses inside) with a private mount namespace
# (its own /dev/shm tmpfs: no segment can be shared by accident), one zeroflow daemon and one
# zeroflow-bridge each (run by hand, or by the daemons' machine agents for `zeroflow start`);
# Cyclone DDS restricted to the veth interface, peers listed.
# Usage: machines_test.sh ZEROFLOW ZEROFLOW_BRIDGE TEST_NODE TEST
#   TEST: transfer | typed | fan_out | missing_machine | stop_from_other_machine | stop_with_cli |
#         machine_lost | stamps | remote_parts | start_on_daemon | start_missing_machine |
#         duplicate_machine_id | destroy_stops_all | spin | gaps | slow_start | forwarded_stop |
#         start_on_empty_machine | pinned_pumps | working_dir | direct | python
# Root is needed (ip netns, mount); where namespaces cannot be made the test FAILS, saying why.
set -euo pipefail
zeroflow=$1 bridge=$2 node=$3 test=$4
# shellcheck source=two_machines.sh
source "$(dirname "$0")/two_machines.sh"

# An endless source on machine a, its sink on b ($1: the sink's arguments instead).
write_endless_pair() {
  cat >"$work/flow.yml" <<YAML
nodes:
  - id: source
    path: $node
    args: source --count 0 --period-us 1000 --report $work/source.txt
    outputs: [out]
    deploy: {machine: a}
  - id: sink
    path: $node
    args: ${1:-sink --report $work/sink.txt}
    inputs: {in: source/out}
    deploy: {machine: b}
YAML
}

# That pair, each part started with zeroflow-bridge; returns once b received 100 messages.
run_endless_pair() {
  write_endless_pair
  start_bridge a
  start_bridge b
  wait_for "[[ \$(value $work/sink.txt count) -gt 100 ]]" 20 || fail "sink got $(value "$work/sink.txt" count) messages"
}

# The same pair started with `zeroflow start` on machine $1's daemon (the machine agents).
run_endless_pair_started_on() {
  write_endless_pair
  on "$1" "$zeroflow" start "$work/flow.yml" --name flow >"$work/start.out" 2>"$work/start.err" ||
    fail "zeroflow start on $1: $(cat "$work/start.err")"
  wait_for "[[ \$(value $work/sink.txt count) -gt 100 ]]" 20 || fail "sink got $(value "$work/sink.txt" count) messages"
}

# A source and its sink, both on machine b: FILE, COUNT messages (0: until Stop), the sink's
# report, the source's (optional).
write_pair_on_b() { # FILE COUNT SINK_REPORT [SOURCE_REPORT]
  cat >"$1" <<YAML
nodes:
  - id: source
    path: $node
    args: source --count $2 --period-us 1000${4:+ --report $4}
    outputs: [out]
  - id: sink
    path: $node
    args: sink --report $3
    inputs: {in: source/out}
deploy: {machine: b}
YAML
}

# A source on a (COUNT messages of SIZE bytes, one every PERIOD µs) and its sink on b (a queue
# of QUEUE), reporting to $work/source.txt and sink.txt; DEPLOY_KEY places the sink (deploy or
# dora 0.3's _unstable_deploy).
write_source_sink() { # COUNT SIZE PERIOD QUEUE DEPLOY_KEY
  cat >"$work/flow.yml" <<YAML
nodes:
  - id: source
    path: $node
    args: source --count $1 --size $2 --period-us $3 --report $work/source.txt
    outputs: [out]
    deploy: {machine: a}
  - id: sink
    path: $node
    args: sink --report $work/sink.txt
    inputs:
      in: {source: source/out, queue_size: $4}
    $5: {machine: b}
YAML
}

# The pids of machine M's pumps of MODE (publish, subscribe) that run now.
pump_pids() { # M MODE
  local pid
  for pid in $(ip netns pids "$tag-$1"); do
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "--pump $2"; then
      echo "$pid"
    fi
  done
}

# VAR's value in the environment of machine a's publish pump, once data reaches b's sink.
publish_pump_env() { # VAR
  local pid
  wait_for "[[ \$(value $work/sink.txt count) -gt 0 ]]" 20 || fail "nothing reached b"
  for pid in $(pump_pids a publish); do
    tr '\0' '\n' <"/proc/$pid/environ" | sed -n "s/^$1=//p"
  done
}

# Waits for a's bridge to end, then for b's, which ends with its part (its inputs closed).
bridges_end() {
  wait "${bridge_pid[a]}" || fail "bridge a failed"
  bridge_pid[a]=
  wait_for "! kill -0 ${bridge_pid[b]}" 20 || fail "bridge b still runs after its part ended"
  wait "${bridge_pid[b]}" || fail "bridge b failed"
  bridge_pid[b]=
}

# 2,000 messages of 64 KiB (each several UDP datagrams: Cyclone fragments) from a to b; $1, if
# given, runs while both parts run (a check of the running pumps). The queue is long enough
# that a loaded CI machine (b slow to acknowledge) drops nothing: the bridge's own queue (the
# same length) drops its oldest when DDS cannot keep up, as designed.
transfer_2000() {
  write_source_sink 2000 65536 1000 1000 _unstable_deploy
  start_bridge b
  start_bridge a
  [[ -z ${1:-} ]] || "$1"
  wait_for "[[ \$(value $work/sink.txt count) == 2000 ]]" 30 ||
    fail "sink got $(value "$work/sink.txt" count) of 2000 messages"
  wait "${bridge_pid[a]}" || fail "bridge a failed"
  bridge_pid[a]=
  [[ $(value "$work/source.txt" sent) == 2000 ]] || fail "source sent $(value "$work/source.txt" sent)"
  [[ $(value "$work/sink.txt" checksum) == $(value "$work/source.txt" checksum) ]] ||
    fail "payloads differ: checksum $(value "$work/sink.txt" checksum) != $(value "$work/source.txt" checksum)"
  [[ $(value "$work/sink.txt" gaps) == 0 && $(value "$work/sink.txt" sequence_gaps) == 0 ]] ||
    fail "out of order: gaps=$(value "$work/sink.txt" gaps) sequence_gaps=$(value "$work/sink.txt" sequence_gaps)"
  [[ $(value "$work/sink.txt" first) == 1 && $(value "$work/sink.txt" last) == 2000 ]] ||
    fail "first/last $(value "$work/sink.txt" first)/$(value "$work/sink.txt" last)"
  # The source's end crossed over: the sink saw its input close.
  wait_for "grep -q 'events=.*closed:in' $work/sink.txt" 10 || fail "sink never saw InputClosed: $(value "$work/sink.txt" events)"
  # The sink ends at its inputs' close: machine b's part finishes, and its bridge with it.
  wait_for "! kill -0 ${bridge_pid[b]}" 10 || fail "bridge b still runs after its part ended"
  wait "${bridge_pid[b]}" || fail "bridge b failed"
  bridge_pid[b]=
  # b's subscribe pump read every message in place (tools/src/bridge/wire.cpp), none through
  # Cyclone's deserializer; its log (under the node it stands in for) would count them.
  ls "$work"/out/*/log_source.txt >/dev/null 2>&1 || fail "no log of b's subscribe pump"
  ! grep -h "not read in place" "$work"/out/*/log_*.txt || fail "b's subscribe pump did not read messages in place"
  assert_nothing_left
}

# 300 typed messages from a to b, each checked on b against what its sequence says it must be.
typed_300() {
  rm -f "$work/sink.txt" "$work/source.txt"
  rm -rf "$work/out"
  cat >"$work/flow.yml" <<YAML
nodes:
  - id: source
    path: $node
    args: typed_source --count 300 --period-us 500 --blob 200 --report $work/source.txt
    outputs: [out]
    deploy: {machine: a}
  - id: sink
    path: $node
    args: typed_sink --blob 200 --report $work/sink.txt
    inputs: {in: {source: source/out, queue_size: 1024}}
    deploy: {machine: b}
YAML
  start_bridge a
  start_bridge b
  bridges_end
  [[ $(value "$work/source.txt" sent) == 300 ]] || fail "source sent $(value "$work/source.txt" sent)"
  [[ $(value "$work/sink.txt" count) == 300 && $(value "$work/sink.txt" verified) == 300 ]] ||
    fail "sink verified $(value "$work/sink.txt" verified) of $(value "$work/sink.txt" count): $(value "$work/sink.txt" first_mismatch)"
  [[ $(value "$work/sink.txt" wall_ok) == 300 ]] || fail "wall times differ: $(value "$work/sink.txt" wall_ok) of 300"
  ! grep -h "not read in place" "$work"/out/*/log_*.txt || fail "b's subscribe pump did not read messages in place"
  assert_nothing_left
}

case $test in
transfer)
  # While it runs: a's publish pump has the bridge's Cyclone watermarks first and the user's
  # configuration after them (so the user's settings win; its peers are what make it work).
  pump_config() {
    local uri
    uri=$(publish_pump_env CYCLONEDDS_URI)
    [[ $uri == "<CycloneDDS>"*"<WhcHigh>4MB</WhcHigh>"*"</CycloneDDS>,file://$work/a/cyclonedds.xml" ]] ||
      fail "a's publish pump runs with CYCLONEDDS_URI='$uri'"
  }
  transfer_2000 pump_config
  echo "transfer: 2000 x 64 KiB from machine a to machine b, byte-exact, in order"
  ;;
spin)
  # ZEROFLOW_BRIDGE_SPIN_US: the publish pump busy-polls that long after each message. A value
  # that is not a number of microseconds is refused before anything starts, saying what to fix.
  export ZEROFLOW_BRIDGE_PUBLISH=pump # only a pump that writes messages polls for them
  write_endless_pair
  export ZEROFLOW_BRIDGE_SPIN_US=fast
  start_bridge a
  unset ZEROFLOW_BRIDGE_SPIN_US
  if wait "${bridge_pid[a]}"; then fail "bridge a started with ZEROFLOW_BRIDGE_SPIN_US=fast"; fi
  bridge_pid[a]=
  grep -q "ZEROFLOW_BRIDGE_SPIN_US='fast' is not a number of microseconds from 0 to 100000" \
    "$work/a/bridge.err" || fail "no clear error: $(cat "$work/a/bridge.err")"
  [[ $(on a "$zeroflow" list) == "no dataflows" ]] || fail "machine a ran something: $(on a "$zeroflow" list)"
  # A valid window reaches the publish pump, and the 2,000 x 64 KiB arrive as without it.
  pump_spins() {
    [[ $(publish_pump_env ZEROFLOW_BRIDGE_SPIN_US) == 500 ]] ||
      fail "no publish pump on a runs with ZEROFLOW_BRIDGE_SPIN_US=500"
  }
  export ZEROFLOW_BRIDGE_SPIN_US=500
  transfer_2000 pump_spins
  unset ZEROFLOW_BRIDGE_SPIN_US
  echo "spin: a bad window refused; with 500 us, 2000 x 64 KiB from a to b, byte-exact, in order"
  ;;
direct)
  # Direct publishing (the default; ZEROFLOW_BRIDGE_PUBLISH=pump does without): the sending
  # node writes on DDS itself, through the bridge's plugin, and a's publish pump only watches
  # for closes. A bad mode is refused before anything starts, saying what to fix.
  write_endless_pair
  export ZEROFLOW_BRIDGE_PUBLISH=fast
  start_bridge a
  unset ZEROFLOW_BRIDGE_PUBLISH
  if wait "${bridge_pid[a]}"; then fail "bridge a started with ZEROFLOW_BRIDGE_PUBLISH=fast"; fi
  bridge_pid[a]=
  grep -q "ZEROFLOW_BRIDGE_PUBLISH='fast': use 'direct'" "$work/a/bridge.err" ||
    fail "no clear error: $(cat "$work/a/bridge.err")"
  [[ $(on a "$zeroflow" list) == "no dataflows" ]] || fail "machine a ran something: $(on a "$zeroflow" list)"
  # While it runs, the source on a has the plugin (and so Cyclone) loaded and is told its
  # output's topic; the publish pump watches it one message deep.
  source_writes() {
    local pid found= watching= cmd outputs
    wait_for "[[ \$(value $work/sink.txt count) -gt 0 ]]" 20 || fail "nothing reached b"
    for pid in $(ip netns pids "$tag-a"); do
      cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || continue
      if [[ $cmd == *"source --count 2000"* ]]; then
        grep -q 'libzeroflow-dds-writer.so' "/proc/$pid/maps" || fail "a's source has no DDS writer loaded"
        outputs=$(tr '\0' '\n' <"/proc/$pid/environ" | sed -n 's/^ZEROFLOW_DDS_OUTPUTS=//p')
        [[ $outputs =~ ^[0-9]+\;flow\;out@1000\*1$ ]] || fail "a's source runs with ZEROFLOW_DDS_OUTPUTS='$outputs'"
        found=1
      fi
    done
    [[ -n $found ]] || fail "no source node runs on a"
    for pid in $(pump_pids a publish); do
      cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline")
      [[ $cmd == *"--watch o0"* ]] || fail "a's publish pump does not only watch: $cmd"
      watching=1
    done
    [[ -n $watching ]] || fail "no publish pump runs on a"
  }
  transfer_2000 source_writes
  # Typed messages written by their sender arrive as they do through the pump.
  typed_300
  # A sender that crashes writes no close of its own: the watching pump writes it, so b's
  # sink sees InputClosed at once, not after Cyclone's lease (2 s here).
  rm -f "$work/sink.txt" "$work/source.txt"
  write_endless_pair
  start_bridge a
  start_bridge b
  wait_for "[[ \$(value $work/sink.txt count) -gt 100 ]]" 20 || fail "sink got $(value "$work/sink.txt" count) messages"
  source_pid=
  for pid in $(ip netns pids "$tag-a"); do
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || continue
    [[ $cmd != *"source --count 0"* ]] || source_pid=$pid
  done
  [[ -n $source_pid ]] || fail "no source node runs on a"
  killed_at=$(date +%s%N)
  kill -KILL "$source_pid"
  wait_for "grep -q 'events=.*closed:in' $work/sink.txt" 8 || fail "sink on b never saw InputClosed: $(value "$work/sink.txt" events)"
  closed_ms=$(( ($(date +%s%N) - killed_at) / 1000000 ))
  (( closed_ms < 1500 )) || fail "InputClosed came $closed_ms ms after a's source was killed (the lease's 2 s, not the pump's close)"
  wait_for "! kill -0 ${bridge_pid[b]}" 10 || fail "bridge b still runs after its part ended"
  wait "${bridge_pid[b]}" || fail "bridge b failed"
  bridge_pid[b]=
  # a's part ends too (its pump's inputs all closed), its bridge with it: failed, as its
  # source did.
  wait_for "! kill -0 ${bridge_pid[a]}" 10 || fail "bridge a still runs after its source died"
  wait "${bridge_pid[a]}" 2>/dev/null || true
  bridge_pid[a]=
  assert_nothing_left
  echo "direct: a bad mode refused; 2000 x 64 KiB and 300 typed messages written by the source itself arrive as sent; a killed source closes b's input in $closed_ms ms"
  ;;
python)
  # A Python node on a sends every kind of message (numpy arrays of several dtypes and shapes,
  # bytes, lists, loans, metadata: tests/python/nodes/py_source.py) to a Python node on b,
  # writing them on DDS itself (the plugin loaded into python3); b's py_sink.py checks each one,
  # and its sequence number, against what it must be.
  nodes_dir=$(cd "$(dirname "$0")/../python/nodes" && pwd)
  mkdir -p "$work/reports"
  cat >"$work/flow.yml" <<YAML
nodes:
  - id: source
    path: $nodes_dir/py_source.py
    args: "70"
    outputs: [out]
    env: {ZF_TEST_REPORTS: $work/reports}
    deploy: {machine: a}
  - id: sink
    path: $nodes_dir/py_sink.py
    inputs: {in: {source: source/out, queue_size: 1024}}
    env: {ZF_TEST_REPORTS: $work/reports}
    deploy: {machine: b}
YAML
  unset ZEROFLOW_BRIDGE_PUBLISH
  start_bridge a
  start_bridge b
  bridges_end
  [[ -f $work/reports/sink.json ]] || fail "b's Python sink wrote no report: $(cat "$work"/out/*/log_sink.txt 2>/dev/null)"
  python3 - "$work/reports/sink.json" <<'PY' || fail "b's Python sink: $(cat "$work/reports/sink.json")"
import json, sys
r = json.load(open(sys.argv[1]))
sys.exit(0 if r["count"] == 70 and r["verified"] == 70 else 1)
PY
  assert_nothing_left
  echo "python: 70 messages of every kind from a Python node on a, written by it on DDS, arrive on b as sent"
  ;;
working_dir)
  # Different paths on each machine: b's sink runs from a folder that exists on b only (a tmpfs
  # mounted in b's own mount namespace), given as its deploy working_dir with a relative path.
  # a, where the dataflow is started, cannot check that executable and does not; the sink
  # runs there, with that folder as its current directory (its relative report lands in it).
  mkdir -p "$work/b-only"
  on b mount -t tmpfs tmpfs "$work/b-only"
  on b mkdir "$work/b-only/ws"
  on b cp "$node" "$work/b-only/ws/sink-node"
  [[ ! -e $work/b-only/ws ]] || fail "b's folder is visible outside b"
  cat >"$work/flow.yml" <<YAML
nodes:
  - id: source
    path: $node
    args: source --count 500 --period-us 1000 --report $work/source.txt
    outputs: [out]
  - id: sink
    path: ./sink-node
    args: sink --report sink-report.txt
    inputs: {in: {source: source/out, queue_size: 1000}}
    deploy: {machine: b, working_dir: $work/b-only/ws}
YAML
  on a "$zeroflow" start "$work/flow.yml" --name flow >"$work/start.out" 2>"$work/start.err" ||
    fail "zeroflow start on a: $(cat "$work/start.err")"
  wait_for "[[ \$(on b sed -n 's/^count=//p' $work/b-only/ws/sink-report.txt) == 500 ]]" 30 ||
    fail "b's sink reported $(on b cat "$work/b-only/ws/sink-report.txt" 2>&1 | tr '\n' ' ') in its working_dir"
  [[ $(on b sed -n 's/^checksum=//p' "$work/b-only/ws/sink-report.txt") == $(value "$work/source.txt" checksum) ]] ||
    fail "payloads differ"
  # A working_dir that does not exist where the node runs fails the start, naming it.
  wait_for "[[ \$(running a) == 0 && \$(running b) == 0 ]]" 20 || fail "the first run did not end"
  # It fails as soon as b says so, not when a's publish pump gives up waiting for b (20 s).
  sed -i "s|working_dir: $work/b-only/ws|working_dir: $work/b-only/nowhere|" "$work/flow.yml"
  t0=$(date +%s%N)
  if on a "$zeroflow" start "$work/flow.yml" --name flow >"$work/start.out" 2>"$work/start.err"; then
    fail "a start with a missing working_dir on b succeeded"
  fi
  ms=$((($(date +%s%N) - t0) / 1000000))
  grep -q "machine 'b' stopped the dataflow: machine 'b' could not start its part (.*'working_dir' of node 'sink' ($work/b-only/nowhere) is not a directory" "$work/start.err" ||
    fail "the failure does not say b's error: $(cat "$work/start.err")"
  ((ms < 15000)) || fail "the failed start took $ms ms"
  cp "$work/start.err" "$work/start-b.err"
  assert_nothing_left
  # Every node on a (a's daemon runs the file itself): a's daemon checks the folder it lacks.
  sed -i "s|deploy: {machine: b, working_dir: $work/b-only/nowhere}|deploy: {machine: a, working_dir: $work/b-only/ws}|" "$work/flow.yml"
  if on a "$zeroflow" start "$work/flow.yml" --name flow >"$work/start.out" 2>"$work/start.err"; then
    fail "a started a node whose working_dir only b has"
  fi
  grep -q "'working_dir' of node 'sink' ($work/b-only/ws) is not a directory" "$work/start.err" ||
    fail "a's daemon did not name the missing folder: $(cat "$work/start.err")"
  assert_nothing_left
  echo "working_dir: b's sink ran from a folder only b has, its report there; a missing one fails the start in $ms ms ($(head -c 300 "$work/start-b.err")); a's daemon refuses a node whose folder it lacks ($(head -c 200 "$work/start.err"))"
  ;;
pinned_pumps)
  # A pump runs on the CPUs of the nodes it serves when they are all pinned (cpu_affinity): a's
  # publish pump where its sender runs, b's subscribe pump where its reader runs; a node left
  # unpinned leaves its pump unpinned. Every message still arrives.
  (($(nproc) >= 2)) || fail "pinned_pumps needs 2 CPUs (this machine has $(nproc))"
  cat >"$work/flow.yml" <<YAML
nodes:
  - id: source
    path: $node
    args: source --count 3000 --period-us 1000 --report $work/source.txt
    outputs: [out]
    cpu_affinity: [1]
    deploy: {machine: a}
  - id: sink
    path: $node
    args: sink --report $work/sink.txt
    inputs: {in: {source: source/out, queue_size: 1000}}
    cpu_affinity: [0]
    deploy: {machine: b}
  - id: watcher
    path: $node
    args: sink --report $work/watcher.txt
    inputs: {in: {source: source/out, queue_size: 1000}}
    deploy: {machine: b}
YAML
  start_bridge a
  start_bridge b
  wait_for "[[ \$(value $work/sink.txt count) -gt 0 ]]" 20 || fail "nothing reached b"
  cpus_of() { sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/$1/status"; }
  unpinned=$(cpus_of "${daemon_pid[b]}") # what a node the daemon does not pin gets
  pid=$(pump_pids a publish)
  [[ -n $pid && $(cpus_of "$pid") == 1 ]] ||
    fail "a's publish pump (pid ${pid:-none}) runs on CPUs $(cpus_of "$pid"), not on its sender's CPU 1"
  pid=$(pump_pids b subscribe)
  [[ -n $pid && $(cpus_of "$pid") == "$unpinned" ]] ||
    fail "b's subscribe pump (pid ${pid:-none}) runs on CPUs $(cpus_of "$pid"): its readers are not all pinned, so it must not be"
  bridges_end
  [[ $(value "$work/sink.txt" count) == 3000 && $(value "$work/watcher.txt" count) == 3000 ]] ||
    fail "sink and watcher got $(value "$work/sink.txt" count) and $(value "$work/watcher.txt" count) of 3000"
  # Without the unpinned reader, b's pump follows the sink onto CPU 0; a publish pump that
  # busy-polls is not pinned (it would poll on its sender's core).
  sed -i '/- id: watcher/,$d' "$work/flow.yml"
  rm -f "$work/sink.txt"
  export ZEROFLOW_BRIDGE_SPIN_US=500
  start_bridge a
  unset ZEROFLOW_BRIDGE_SPIN_US
  start_bridge b
  wait_for "[[ \$(value $work/sink.txt count) -gt 0 ]]" 20 || fail "nothing reached b (second run)"
  pid=$(pump_pids b subscribe)
  [[ -n $pid && $(cpus_of "$pid") == 0 ]] ||
    fail "b's subscribe pump (pid ${pid:-none}) runs on CPUs $(cpus_of "$pid"), not on its reader's CPU 0"
  pid=$(pump_pids a publish)
  [[ -n $pid && $(cpus_of "$pid") == "$(cpus_of "${daemon_pid[a]}")" ]] ||
    fail "a's spinning publish pump (pid ${pid:-none}) is pinned to CPUs $(cpus_of "$pid")"
  bridges_end
  [[ $(value "$work/sink.txt" count) == 3000 ]] || fail "sink got $(value "$work/sink.txt" count) of 3000 (second run)"
  assert_nothing_left
  echo "pinned_pumps: a's publish pump on its sender's CPU (unpinned when it spins), b's subscribe pump on its reader's (unpinned beside an unpinned reader); 3000 messages each run"
  ;;
start_on_empty_machine)
  # `zeroflow start` on a machine that hosts none of the dataflow's nodes (a base station
  # starting what runs on the robot): a runs a watching part; start prints its UUID once b's
  # part runs, list on a shows b's part, and stop on a stops b's. A dataflow that ends by itself
  # on b ends the watching part on a.
  write_pair_on_b "$work/flow.yml" 0 "$work/sink.txt" "$work/source.txt"
  on a "$zeroflow" start "$work/flow.yml" --name flow >"$work/start.out" 2>"$work/start.err" ||
    fail "zeroflow start on a (no node there): $(cat "$work/start.err")"
  uuid=$(grep -oE '^[0-9a-f-]{36}$' "$work/start.out" | head -n 1)
  [[ -n $uuid ]] || fail "start printed no UUID: $(cat "$work/start.out")"
  [[ $(running b) == 1 ]] || fail "start answered before b's part ran: $(on b "$zeroflow" list)"
  wait_for "[[ \$(value $work/sink.txt count) -gt 50 ]]" 10 || fail "sink on b got $(value "$work/sink.txt" count) messages"
  on a "$zeroflow" list | grep "^$uuid " | grep -q 'on machines a (here), b (running)$' ||
    fail "list on a: $(on a "$zeroflow" list)"
  on a "$zeroflow" stop flow >"$work/stop.txt" 2>&1 || fail "zeroflow stop on a: $(cat "$work/stop.txt")"
  wait_for "[[ \$(value $work/source.txt stopped) == 1 ]]" 10 || fail "source on b did not get Stop"
  assert_nothing_left
  rm -f "$work/sink.txt" "$work/source.txt"
  write_pair_on_b "$work/flow.yml" 200 "$work/sink.txt" "$work/source.txt"
  on a "$zeroflow" start "$work/flow.yml" --name flow >"$work/start.out" 2>"$work/start.err" ||
    fail "second zeroflow start on a: $(cat "$work/start.err")"
  wait_for "[[ \$(running a) == 0 ]]" 20 || fail "a's watching part still runs after b's part ended: $(on a "$zeroflow" list)"
  [[ $(value "$work/sink.txt" count) == 200 ]] || fail "sink on b got $(value "$work/sink.txt" count) of 200"
  assert_nothing_left
  echo "start_on_empty_machine: started, listed and stopped from a, which hosts no node; a finite run on b ended a's watching part"
  ;;
forwarded_stop)
  # A forwarded stop waits for the other machine's grace: b's node ignores its Stop and SIGTERM,
  # so b's daemon ends it only after --grace 14s, and answers then; `zeroflow --machine b stop`
  # on a gets that answer (other forwarded requests get 10 s).
  write_endless_pair "stubborn --ignore-term"
  on a "$zeroflow" start "$work/flow.yml" --name flow >"$work/start.out" 2>"$work/start.err" ||
    fail "zeroflow start on a: $(cat "$work/start.err")"
  t0=$(date +%s%N)
  on a "$zeroflow" --machine b stop flow --grace 14s >"$work/stop.txt" 2>&1 ||
    fail "zeroflow --machine b stop --grace 14s on a: $(cat "$work/stop.txt")"
  took_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  (( took_ms >= 13500 )) || fail "the forwarded stop answered after $took_ms ms, before b's 14 s grace ended"
  assert_nothing_left
  echo "forwarded_stop: zeroflow --machine b stop --grace 14s answered after $took_ms ms"
  ;;
slow_start)
  # A part slower to start than the machines' peer timeout (10 s): b's sink registers after
  # 12 s. `zeroflow start --start-timeout 30` on a waits for it and the data flows; with
  # --start-timeout 5, b's part fails to start and the start fails everywhere, saying that b's
  # part did not start and why (b's own error, carried on the control topic), leaving nothing.
  write_endless_pair "sink --sleep-before-register 12 --report $work/sink.txt"
  t0=$(date +%s%N)
  on a "$zeroflow" start "$work/flow.yml" --name flow --start-timeout 30 >"$work/start.out" 2>"$work/start.err" ||
    fail "start with --start-timeout 30: $(cat "$work/start.err")"
  took_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  (( took_ms >= 12000 )) || fail "start answered after $took_ms ms, before b's sink registered (12 s)"
  wait_for "[[ \$(value $work/sink.txt count) -gt 10 ]]" 10 || fail "sink got $(value "$work/sink.txt" count) messages"
  on a "$zeroflow" stop flow >"$work/stop.txt" 2>&1 || fail "zeroflow stop on a: $(cat "$work/stop.txt")"
  assert_nothing_left
  rm -f "$work/sink.txt"
  t0=$(date +%s%N)
  if on a "$zeroflow" start "$work/flow.yml" --name flow --start-timeout 5 >"$work/start.out" 2>"$work/start.err"; then
    fail "start with --start-timeout 5 succeeded although b's sink takes 12 s to register"
  fi
  failed_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  grep -q "machine 'b' stopped the dataflow: machine 'b' could not start its part (.*register" "$work/start.err" ||
    fail "the failed start does not say that b's part did not start and why: $(cat "$work/start.err")"
  assert_nothing_left
  echo "slow_start: a 12 s part started within --start-timeout 30 ($took_ms ms); with 5 s the start failed after $failed_ms ms: $(cat "$work/start.err")"
  ;;
gaps)
  # A flood into a short queue: the publish pump's input queue (queue_size 4) drops its oldest
  # on a, and machine b's subscribe pump counts what never arrived from the gaps in the
  # sender's sequence numbers: no more than a dropped (veth loses nothing Cyclone does not
  # resend), and more than none. The newest message always survives a drop-oldest queue.
  export ZEROFLOW_BRIDGE_PUBLISH=pump # the publish pump's own queue is what this floods
  write_source_sink 20000 8 0 4 deploy
  start_bridge b
  start_bridge a
  bridges_end
  [[ $(value "$work/source.txt" sent) == 20000 ]] || fail "source sent $(value "$work/source.txt" sent)"
  dropped_a=$(cat "$work"/out/*/log_*.txt | sed -n 's/^zeroflow-bridge: \([0-9]*\) messages dropped by full queues before DDS$/\1/p')
  missing_b=$(cat "$work"/out/*/log_*.txt | sed -n 's/^zeroflow-bridge: \([0-9]*\) messages of source\/out never arrived (.*/\1/p')
  [[ -n $dropped_a ]] || fail "a's publish pump reported no drops: the flood did not congest it"
  [[ -n $missing_b ]] || fail "b's subscribe pump did not report the $dropped_a messages a dropped"
  (( missing_b > 0 && missing_b <= dropped_a )) || fail "b counted $missing_b missing, a dropped $dropped_a"
  [[ $(value "$work/sink.txt" last) == 20000 ]] || fail "the last message did not arrive: last=$(value "$work/sink.txt" last)"
  assert_nothing_left
  echo "gaps: a's pump dropped $dropped_a of 20000, b counted $missing_b never arrived"
  ;;
missing_machine)
  cat >"$work/flow.yml" <<YAML
nodes:
  - id: source
    path: $node
    args: source --count 0 --period-us 1000
    outputs: [out]
  - id: sink
    path: $node
    args: sink
    inputs: {in: source/out}
    deploy: {machine: b}
_unstable_deploy: {machine: a}
YAML
  # Machine b's daemon runs, but no bridge there: b is not present for this dataflow.
  start_bridge a --peer-timeout 2
  if wait "${bridge_pid[a]}"; then fail "bridge a started without machine b"; fi
  bridge_pid[a]=
  grep -q "machine 'b' of dataflow 'flow' is not present" "$work/a/bridge.err" ||
    fail "error does not name machine b: $(cat "$work/a/bridge.err")"
  grep -q "nothing was started" "$work/a/bridge.err" || fail "$(cat "$work/a/bridge.err")"
  [[ $(on a "$zeroflow" list) == "no dataflows" ]] || fail "machine a ran something: $(on a "$zeroflow" list)"
  [[ $(on b "$zeroflow" list) == "no dataflows" ]] || fail "machine b ran something: $(on b "$zeroflow" list)"
  assert_nothing_left
  echo "missing_machine: refused, naming machine b, nothing started"
  ;;
stop_from_other_machine)
  run_endless_pair
  # Each daemon holds a segment of its own.
  [[ $(segments a) -ge 1 && $(segments b) -ge 1 ]] || fail "segments: a $(segments a), b $(segments b)"
  [[ "$(segment_names a)" != "$(segment_names b)" ]] || fail "machines a and b hold the same segment"
  # Stopped on machine b: machine a's part (the endless source) stops too.
  kill -TERM "${bridge_pid[b]}"
  wait "${bridge_pid[b]}" || fail "bridge b failed"
  bridge_pid[b]=
  wait_for "! kill -0 ${bridge_pid[a]}" 15 || fail "bridge a still runs after the stop on b"
  wait "${bridge_pid[a]}" || fail "bridge a failed"
  bridge_pid[a]=
  grep -q "stop from another machine" "$work/a/bridge.out" || fail "bridge a: $(cat "$work/a/bridge.out")"
  [[ $(value "$work/source.txt" stopped) == 1 ]] || fail "source on a did not get Stop"
  grep -q "events=.*stop" "$work/sink.txt" || fail "sink on b did not get Stop"
  assert_nothing_left
  echo "stop_from_other_machine: stopped on b, a's part stopped"
  ;;
stop_with_cli)
  # `zeroflow stop` on machine b's daemon (not a signal to a bridge) stops the whole dataflow:
  # b's bridge sees its part end by a stop request and tells the others.
  run_endless_pair
  on b "$zeroflow" stop flow >"$work/stop.txt" 2>&1 || fail "zeroflow stop on b: $(cat "$work/stop.txt")"
  wait_for "! kill -0 ${bridge_pid[b]}" 15 || fail "bridge b still runs after zeroflow stop on b"
  wait "${bridge_pid[b]}" || fail "bridge b failed"
  bridge_pid[b]=
  grep -q "part stopped on this machine: every machine stops" "$work/b/bridge.out" ||
    fail "bridge b: $(cat "$work/b/bridge.out")"
  wait_for "! kill -0 ${bridge_pid[a]}" 15 || fail "bridge a still runs after zeroflow stop on b"
  wait "${bridge_pid[a]}" || fail "bridge a failed"
  bridge_pid[a]=
  grep -q "stop from another machine" "$work/a/bridge.out" || fail "bridge a: $(cat "$work/a/bridge.out")"
  [[ $(value "$work/source.txt" stopped) == 1 ]] || fail "source on a did not get Stop"
  assert_nothing_left
  echo "stop_with_cli: zeroflow stop on b, a's part stopped"
  ;;
fan_out)
  # One output read on both machines: a's sink locally (zero-copy), two sinks on b through one
  # DDS topic (machine b takes each message once; its stand-in feeds both sinks zero-copy).
  cat >"$work/flow.yml" <<YAML
nodes:
  - id: source
    path: $node
    args: source --count 500 --size 65536 --period-us 1000 --report $work/source.txt
    outputs: [out]
  - id: sink_a
    path: $node
    args: sink --report $work/sink_a.txt
    inputs: {in: {source: source/out, queue_size: 128}}
  - id: sink_b1
    path: $node
    args: sink --report $work/sink_b1.txt
    inputs: {in: {source: source/out, queue_size: 128}}
    deploy: {machine: b}
  - id: sink_b2
    path: $node
    args: sink --report $work/sink_b2.txt
    inputs: {in: {source: source/out, queue_size: 128}}
    deploy: {machine: b}
deploy: {machine: a}
YAML
  start_bridge a
  start_bridge b
  bridges_end
  grep -q "(1 outputs out, 0 in)" "$work/a/bridge.out" || fail "a: $(cat "$work/a/bridge.out")"
  grep -q "(0 outputs out, 1 in)" "$work/b/bridge.out" || fail "b: $(cat "$work/b/bridge.out")"
  for s in a b1 b2; do
    [[ $(value "$work/sink_$s.txt" count) == 500 && $(value "$work/sink_$s.txt" gaps) == 0 ]] ||
      fail "sink_$s got $(value "$work/sink_$s.txt" count) of 500 (gaps $(value "$work/sink_$s.txt" gaps))"
    [[ $(value "$work/sink_$s.txt" checksum) == $(value "$work/source.txt" checksum) ]] ||
      fail "sink_$s: payloads differ"
    grep -q "events=.*closed:in" "$work/sink_$s.txt" || fail "sink_$s never saw InputClosed"
  done
  assert_nothing_left
  echo "fan_out: 500 x 64 KiB to one sink on a and two on b, byte-exact, in order"
  ;;
stamps)
  # What a receiver on b sees of a message from a: the sender's sequence and wall-clock send
  # time, exactly as a receiver on a sees them; its monotonic timestamp is b's own (when the
  # message entered b's segment: both machines share this host's CLOCK_MONOTONIC here, so it
  # lies after the send). Before, b saw the subscribe pump's own sequence and send time.
  cat >"$work/flow.yml" <<YAML
nodes:
  - id: source
    path: $node
    args: source --count 300 --size 8 --period-us 2000 --report $work/source.txt
    outputs: [out]
  - id: sink_a
    path: $node
    args: sink --report $work/sink_a.txt --stamps $work/stamps_a.txt
    inputs: {in: {source: source/out, queue_size: 300}}
  - id: sink_b
    path: $node
    args: sink --report $work/sink_b.txt --stamps $work/stamps_b.txt
    inputs: {in: {source: source/out, queue_size: 300}}
    deploy: {machine: b}
deploy: {machine: a}
YAML
  start_bridge a
  start_bridge b
  bridges_end
  for s in a b; do
    [[ $(wc -l <"$work/stamps_$s.txt") == 300 ]] || fail "sink_$s took $(wc -l <"$work/stamps_$s.txt") of 300"
  done
  # Columns: counter sequence timestamp_ns wall_time_ns taken_at (wall), a's then b's. Clock
  # values are compared as strings (awk's doubles hold 53 bits), differences as numbers.
  paste -d ' ' "$work/stamps_a.txt" "$work/stamps_b.txt" | awk '
    { n++ }
    $1 != n || $6 != n { bad = bad "\nline " n ": counters " $1 "/" $6 }
    ($2 "") != (n "") || ($7 "") != (n "") { bad = bad "\nline " n ": sequences a " $2 " b " $7 " (want " n ")" }
    ($4 "") != ($9 "") { bad = bad "\nline " n ": wall times a " $4 " b " $9 }
    $8 - $3 < 0 || $8 - $3 > 5e9 { bad = bad "\nline " n ": b stamped " ($8 - $3) " ns after the send" }
    $10 - $9 < 0 || $10 - $9 > 5e9 { bad = bad "\nline " n ": b took it " ($10 - $9) " ns after its wall time" }
    END { if (bad != "") { print substr(bad, 2) | "head -n 5"; exit 1 } }
  ' >"$work/stamps.diff" || fail "stamps differ: $(cat "$work/stamps.diff")"
  assert_nothing_left
  echo "stamps: machine b sees a's sequence 1..300 and wall-clock send times, its own monotonic time"
  ;;
typed)
  # Self-describing messages across machines: dtype, shape, encoding, every kind of parameter
  # (and a 200-byte string one) arrive on b exactly as a sent them, as they do on one machine
  # (tests/daemon/messages_test.cpp); b's subscribe pump read each one in place. Through a's
  # publish pump here (machines.direct sends them from the node itself).
  export ZEROFLOW_BRIDGE_PUBLISH=pump
  typed_300
  echo "typed: 300 typed messages (dtype, shape, encoding, parameters) arrive on b as sent"
  ;;
machine_lost)
  # Machine a dies whole (every process in it SIGKILLed: daemon, nodes, bridge): machine b's
  # sink gets InputClosed within Cyclone's lease (2 s here) plus a poll, b's daemon stays up
  # and starts a new dataflow afterwards.
  run_endless_pair
  killed_at=$(date +%s%N)
  ip netns pids "$tag-a" | while read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done
  wait "${bridge_pid[a]}" 2>/dev/null || true
  wait "${daemon_pid[a]}" 2>/dev/null || true
  bridge_pid[a]=
  wait_for "grep -q 'events=.*closed:in' $work/sink.txt" 8 || fail "sink on b never saw InputClosed: $(value "$work/sink.txt" events)"
  closed_ms=$(( ($(date +%s%N) - killed_at) / 1000000 ))
  (( closed_ms < 5000 )) || fail "InputClosed came $closed_ms ms after machine a died"
  on b "$zeroflow" list >/dev/null || fail "daemon b does not answer"
  wait_for "! kill -0 ${bridge_pid[b]}" 10 || fail "bridge b still runs after its part ended"
  wait "${bridge_pid[b]}" || fail "bridge b failed"
  bridge_pid[b]=
  # A new dataflow on machine b alone.
  write_pair_on_b "$work/flow_b.yml" 20 "$work/sink2.txt"
  uuid=$(on b "$zeroflow" start "$work/flow_b.yml") || fail "daemon b cannot start a new dataflow"
  wait_for "[[ \$(value $work/sink2.txt count) == 20 ]]" 10 || fail "new dataflow on b: $(value "$work/sink2.txt" count) of 20"
  on b "$zeroflow" stop "$uuid" >/dev/null 2>&1 || true
  wait_for "[[ \$(running b) == 0 && \$(segments b) == 0 ]]" 10 || fail "machine b: $(on b "$zeroflow" list)"
  echo "machine_lost: InputClosed on b $closed_ms ms after machine a died; b's daemon served on"
  ;;
remote_parts)
  # What each daemon knows of the other machine (zeroflow-bridge's remote_parts): `list` on b
  # shows a's node with machine a and its state, `logs` of it gets the typed remote_node error;
  # once machine a dies whole, b lists it lost within the lease (2 s here) and serves on. b's
  # part has a node of its own (ticker) that reads nothing from a, so it runs on after a is gone.
  cat >"$work/flow.yml" <<YAML
nodes:
  - id: source
    path: $node
    args: source --count 0 --period-us 1000 --report $work/source.txt
    outputs: [out]
    deploy: {machine: a}
  - id: sink
    path: $node
    args: sink --report $work/sink.txt
    inputs: {in: source/out}
    deploy: {machine: b}
  - id: ticker
    path: $node
    args: source --count 0 --period-us 10000
    outputs: [out]
    deploy: {machine: b}
YAML
  start_bridge a
  start_bridge b
  wait_for "[[ \$(value $work/sink.txt count) -gt 100 ]]" 20 || fail "sink got $(value "$work/sink.txt" count) messages"
  wait_for "on b $zeroflow list | grep -q 'node source on machine a: running'" 5 ||
    fail "list on b: $(on b "$zeroflow" list)"
  on b "$zeroflow" list | grep -q '^[0-9a-f-]* *flow .* on machines a (running), b (here)$' ||
    fail "list on b does not name the machines: $(on b "$zeroflow" list)"
  wait_for "on a $zeroflow list | grep -q 'node ticker on machine b: running'" 5 ||
    fail "list on a: $(on a "$zeroflow" list)"
  on a "$zeroflow" list | grep -q 'node sink on machine b: running' || fail "list on a: $(on a "$zeroflow" list)"
  on b "$zeroflow" list --json >"$work/list.json"
  python3 - "$work/list.json" <<'PY' || fail "list --json on b: $(cat "$work/list.json")"
import json, sys
df = json.load(open(sys.argv[1]))[0]
assert df["machine"] == "b" and df["spans_machines"] == ["a", "b"], df
assert df["remote_nodes"] == [{"id": "source", "machine": "a", "state": "running"}], df
assert df["remote_machines"] == [{"machine": "a", "state": "running", "nodes": ["source"]}], df
assert [n.get("stand_in_for") for n in df["nodes"] if n["id"] == "source"] == ["a"], df
PY
  # `logs` on b of a's node: read on a, through the machine agents (log_text, forwarded).
  on b "$zeroflow" logs flow source >"$work/logs.out" 2>"$work/logs.err" ||
    fail "logs on b of a's node: $(cat "$work/logs.err")"
  grep -q "source: sending on out" "$work/logs.out" || fail "logs on b of a's node: $(cat "$work/logs.out")"
  # Any request for a's daemon, from b: `zeroflow --machine a`.
  on b "$zeroflow" --machine a list >"$work/list_a.txt" 2>&1 || fail "--machine a list on b: $(cat "$work/list_a.txt")"
  grep -q 'on machines a (here), b (running)$' "$work/list_a.txt" || fail "--machine a list on b: $(cat "$work/list_a.txt")"
  on b "$zeroflow" --machine a logs flow source >"$work/logs2.out" 2>&1 || fail "--machine a logs: $(cat "$work/logs2.out")"
  grep -q "source: sending on out" "$work/logs2.out" || fail "--machine a logs: $(cat "$work/logs2.out")"
  if on b "$zeroflow" --machine c list >"$work/list_c.txt" 2>&1; then fail "--machine c list answered: $(cat "$work/list_c.txt")"; fi
  grep -q "machine 'c' did not answer within 10 s" "$work/list_c.txt" || fail "--machine c: $(cat "$work/list_c.txt")"
  # Machine a dies whole.
  killed_at=$(date +%s%N)
  ip netns pids "$tag-a" | while read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done
  wait "${bridge_pid[a]}" 2>/dev/null || true
  wait "${daemon_pid[a]}" 2>/dev/null || true
  bridge_pid[a]=
  wait_for "on b $zeroflow list | grep -q 'node source on machine a: lost'" 8 ||
    fail "list on b after a died: $(on b "$zeroflow" list)"
  lost_ms=$(( ($(date +%s%N) - killed_at) / 1000000 ))
  (( lost_ms < 5000 )) || fail "a listed lost $lost_ms ms after it died"
  on b "$zeroflow" list | grep -q 'on machines a (lost), b (here)$' || fail "list on b: $(on b "$zeroflow" list)"
  if on b "$zeroflow" logs flow source >"$work/logs.out" 2>"$work/logs.err"; then
    fail "logs of a's lost node on b succeeded"
  fi
  grep -q "runs on machine 'a' (state: lost)" "$work/logs.err" || fail "logs error: $(cat "$work/logs.err")"
  kill -0 "${daemon_pid[b]}" || fail "daemon b exited"
  [[ $(running b) -ge 1 ]] || fail "b's part stopped: $(on b "$zeroflow" list)"
  kill -TERM "${bridge_pid[b]}"
  wait "${bridge_pid[b]}" || fail "bridge b failed"
  bridge_pid[b]=
  wait_for "[[ \$(running b) == 0 && \$(segments b) == 0 ]]" 10 || fail "machine b: $(on b "$zeroflow" list)"
  echo "remote_parts: b listed a's node running and read its log from a, then listed it lost $lost_ms ms after a died; logs of it then: remote_node"
  ;;
start_on_daemon)
  # `zeroflow start` on machine a's daemon, nothing else: a's machine agent announces it on DDS,
  # b's agent runs b's part, and start answers with a's part's UUID once both parts run. The
  # source names no machine: it runs where the dataflow was started.
  cat >"$work/flow.yml" <<YAML
nodes:
  - id: source
    path: $node
    args: source --count 0 --period-us 1000 --report $work/source.txt
    outputs: [out]
  - id: near
    path: $node
    args: sink --report $work/near.txt
    inputs: {in: source/out}
    deploy: {machine: a}
  - id: far
    path: $node
    args: sink --report $work/far.txt
    inputs: {in: source/out}
    deploy: {machine: b}
YAML
  on a "$zeroflow" start "$work/flow.yml" --name flow >"$work/start.out" 2>"$work/start.err" ||
    fail "zeroflow start on a: $(cat "$work/start.err")"
  uuid=$(grep -oE '^[0-9a-f-]{36}$' "$work/start.out" | head -n 1)
  [[ -n $uuid ]] || fail "start printed no UUID: $(cat "$work/start.out")"
  # Answered only once the whole dataflow runs: b's part runs already.
  [[ $(running b) == 1 ]] || fail "start answered before b's part ran: $(on b "$zeroflow" list)"
  on a "$zeroflow" list | grep "^$uuid " | grep -q 'on machines a (here), b (running)$' ||
    fail "list on a: $(on a "$zeroflow" list)"
  on b "$zeroflow" list | grep -q 'node source on machine a: running' ||
    fail "list on b (source runs where the dataflow was started): $(on b "$zeroflow" list)"
  wait_for "[[ \$(value $work/far.txt count) -gt 100 && \$(value $work/near.txt count) -gt 100 ]]" 20 ||
    fail "far got $(value "$work/far.txt" count), near $(value "$work/near.txt" count) messages"
  # `zeroflow stop` where it was started stops both machines' parts.
  on a "$zeroflow" stop flow >"$work/stop.txt" 2>&1 || fail "zeroflow stop on a: $(cat "$work/stop.txt")"
  wait_for "[[ \$(running a) == 0 && \$(running b) == 0 ]]" 15 ||
    fail "still running: a: $(on a "$zeroflow" list) / b: $(on b "$zeroflow" list)"
  wait_for "grep -q 'events=.*stop' $work/far.txt" 10 || fail "far on b did not get Stop: $(value "$work/far.txt" events)"
  assert_nothing_left
  # The bridges the agents ran ended, and the descriptor b's agent wrote is gone.
  wait_for "grep -q 'ended (status 0)' $work/b/rt/agent.log && grep -q 'ended (status 0)' $work/a/rt/agent.log" 10 ||
    fail "bridges did not end cleanly: a: $(cat "$work/a/rt/agent.log") b: $(cat "$work/b/rt/agent.log")"
  if ls -a "$work" | grep -q '\.flow\.from-'; then fail "left behind: $(ls -a "$work")"; fi
  # Both daemons serve on: the next start across machines, from b this time and under the same
  # name, runs too, even while the previous run's bridges may still be saying their last word.
  on b "$zeroflow" start "$work/flow.yml" --name flow >"$work/start2.out" 2>"$work/start2.err" ||
    fail "second start, on b: $(cat "$work/start2.err")"
  [[ $(running a) == 1 && $(running b) == 1 ]] || fail "second start: a $(running a), b $(running b)"
  on b "$zeroflow" stop flow >/dev/null 2>&1 || fail "zeroflow stop flow on b"
  assert_nothing_left
  # And again at once, back to back, three times from a.
  for i in 1 2 3; do
    on a "$zeroflow" start "$work/flow.yml" --name flow >"$work/start3.out" 2>"$work/start3.err" ||
      fail "start $i right after a stop: $(cat "$work/start3.err")"
    on a "$zeroflow" stop flow >/dev/null 2>&1 || fail "stop $i"
    wait_for "[[ \$(running a) == 0 && \$(running b) == 0 ]]" 15 || fail "run $i still runs"
  done
  assert_nothing_left
  echo "start_on_daemon: zeroflow start on a ran both machines' parts ($uuid); stop on a stopped both; started again under the same name at once, 4 times"
  ;;
start_missing_machine)
  # `zeroflow start` of a dataflow naming machine c, which has no daemon: refused on a, naming
  # c, within the peer timeout; nothing runs on a or b (b's agent had started b's part's bridge).
  cat >"$work/flow.yml" <<YAML
nodes:
  - id: source
    path: $node
    args: source --count 0 --period-us 1000
    outputs: [out]
    deploy: {machine: a}
  - id: middle
    path: $node
    args: sink
    inputs: {in: source/out}
    deploy: {machine: b}
  - id: far
    path: $node
    args: sink
    inputs: {in: source/out}
    deploy: {machine: c}
YAML
  started_at=$(date +%s)
  if on a "$zeroflow" start "$work/flow.yml" --name flow >"$work/start.out" 2>"$work/start.err"; then
    fail "start succeeded without machine c: $(cat "$work/start.out")"
  fi
  took=$(( $(date +%s) - started_at ))
  grep -q "machine 'c' of dataflow 'flow' is not present" "$work/start.err" ||
    fail "the error does not name machine c: $(cat "$work/start.err")"
  (( took < 30 )) || fail "the refusal took $took s"
  wait_for "grep -q 'ended (status 1)' $work/b/rt/agent.log" 15 ||
    fail "b's bridge did not give up: $(cat "$work/b/rt/agent.log")"
  [[ $(on a "$zeroflow" list) == "no dataflows" ]] || fail "machine a ran something: $(on a "$zeroflow" list)"
  [[ $(on b "$zeroflow" list) == "no dataflows" ]] || fail "machine b ran something: $(on b "$zeroflow" list)"
  assert_nothing_left
  kill -0 "${daemon_pid[a]}" && kill -0 "${daemon_pid[b]}" || fail "a daemon exited"
  echo "start_missing_machine: refused in $took s naming machine c; nothing ran on a or b"
  ;;
duplicate_machine_id)
  # Machine ids are unique in a DDS domain: a second daemon claiming id 'a' (inside machine b's
  # namespace, its own runtime directory) makes both 'a' agents refuse to start anything across
  # machines, saying why; once it is gone, starts work again.
  cat >"$work/flow.yml" <<YAML
nodes:
  - id: source
    path: $node
    args: source --count 0 --period-us 1000
    outputs: [out]
    deploy: {machine: a}
  - id: sink
    path: $node
    args: sink
    inputs: {in: source/out}
    deploy: {machine: b}
YAML
  mkdir -p "$work/a2/rt"
  ZEROFLOW_RUNTIME_DIR="$work/a2/rt" CYCLONEDDS_URI="file://$work/b/cyclonedds.xml" ZF_TEST_PID_DIR="$work/pids" \
    nsenter -t "${daemon_pid[b]}" -m -n -- "$zeroflow" daemon --machine-id a --log-file "$work/a2/daemon.log" &
  dup_pid=$!
  wait_for "grep -q 'claimed by two daemons' $work/a/rt/agent.log" 15 ||
    fail "agent a saw no conflict: $(cat "$work/a/rt/agent.log")"
  if on a "$zeroflow" start "$work/flow.yml" --name flow >"$work/start.out" 2>"$work/start.err"; then
    fail "started with machine id 'a' claimed twice"
  fi
  grep -q "machine id 'a' is claimed by two daemons in DDS domain 0" "$work/start.err" ||
    fail "start error: $(cat "$work/start.err")"
  [[ $(running a) == 0 && $(running b) == 0 ]] || fail "something runs: a $(running a), b $(running b)"
  # The second 'a' goes (SIGTERM: it ends its agent); the conflict ends with it.
  kill -TERM "$dup_pid"
  wait "$dup_pid" || true
  wait_for "grep -q 'machine id conflict over' $work/a/rt/agent.log" 15 ||
    fail "the conflict did not end: $(cat "$work/a/rt/agent.log")"
  on a "$zeroflow" start "$work/flow.yml" --name flow >"$work/start.out" 2>"$work/start.err" ||
    fail "start after the conflict: $(cat "$work/start.err")"
  [[ $(running b) == 1 ]] || fail "b's part does not run: $(on b "$zeroflow" list)"
  on a "$zeroflow" stop flow >/dev/null 2>&1 || fail "stop on a"
  assert_nothing_left
  echo "duplicate_machine_id: refused while two daemons claimed 'a'; started once one was gone"
  ;;
destroy_stops_all)
  # A daemon's shutdown (zeroflow destroy on b) stops its part by a stop request: the whole
  # dataflow stops, a's part too, and a's daemon serves on.
  run_endless_pair_started_on a
  on b "$zeroflow" destroy >"$work/destroy.txt" 2>&1 || fail "destroy on b: $(cat "$work/destroy.txt")"
  wait "${daemon_pid[b]}" 2>/dev/null || true
  wait_for "[[ \$(running a) == 0 ]]" 15 || fail "a's part still runs after b's daemon shut down: $(on a "$zeroflow" list)"
  [[ $(value "$work/source.txt" stopped) == 1 ]] || fail "source on a did not get Stop: $(cat "$work/source.txt")"
  kill -0 "${daemon_pid[a]}" || fail "daemon a exited"
  on a "$zeroflow" list >/dev/null || fail "daemon a does not answer"
  daemon_pid[b]=
  echo "destroy_stops_all: b's daemon shut down; a's part got Stop"
  ;;
*) fail "unknown test $test" ;;
esac
