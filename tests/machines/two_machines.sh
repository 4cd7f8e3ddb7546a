# Two "machines" on this host, for the machines tests and benchmarks/machines/bench.sh: network
# namespaces $tag-a and $tag-b joined by a veth pair (10.77.0.1, 10.77.0.2), each with a
# private mount namespace and its own /dev/shm tmpfs, its own runtime directory and daemon
# (--machine-id a / b, each with its machine agent), and a Cyclone DDS configuration limited to
# its veth with the peer listed.
# Source it with $zeroflow and $bridge set; it sets $work (removed at exit, with the namespaces
# and every process in them) and defines on, start_bridge, wait_for, value, segments, running,
# assert_nothing_left. Root is needed; where namespaces cannot be made it FAILS, saying why.
work=$(mktemp -d /tmp/zf-machines-XXXXXX)
tag="zf$$"
declare -A daemon_pid bridge_pid
fail() {
  echo "FAIL: $*" >&2
  local f
  for f in "$work"/{a,b}/{daemon.log,bridge.out,bridge.err} "$work"/{a,b}/rt/{agent,bridge-*}.log \
    "$work"/*.txt "$work"/out/*/log_*.txt; do
    [[ -s $f ]] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }
  done
  exit 1
}
cleanup() {
  local m pid
  for m in a b; do
    for pid in "${bridge_pid[$m]:-}" "${daemon_pid[$m]:-}"; do
      [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null || true
    done
  done
  for m in a b; do
    for pid in "${bridge_pid[$m]:-}" "${daemon_pid[$m]:-}"; do
      [[ -n $pid ]] && wait "$pid" 2>/dev/null || true
    done
    # Whatever still runs in the machine's namespace (nodes of a killed daemon): by pid.
    { ip netns pids "$tag-$m" 2>/dev/null || true; } | while read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$tag-$m" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# --- the two machines ---
if [[ $(id -u) -ne 0 ]]; then
  fail "the machines tests need root (network and mount namespaces); CI runs as root"
fi
# Namespaces of an earlier run that was SIGKILLed (ctest's timeout): zf<pid>-a|b whose shell is
# gone. Their processes are ours too (nothing else runs in them).
for ns in $(ip netns list 2>/dev/null | sed -n 's/^\(zf[0-9]*-[ab]\)\( .*\)\?$/\1/p'); do
  owner=${ns#zf}
  owner=${owner%-*}
  if ! kill -0 "$owner" 2>/dev/null; then
    # (a parallel test may be removing it too: neither may fail for that)
    { ip netns pids "$ns" 2>/dev/null || true; } | while read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  fi
done
if ! ip netns add "$tag-a" 2>"$work/netns.err" || ! ip netns add "$tag-b" 2>>"$work/netns.err"; then
  fail "cannot create network namespaces with 'ip netns add' (iproute2, CONFIG_NET_NS, root): $(cat "$work/netns.err")"
fi
ip link add "$tag-a" type veth peer name "$tag-b"
ip link set "$tag-a" netns "$tag-a"
ip link set "$tag-b" netns "$tag-b"
declare -A address=([a]=10.77.0.1 [b]=10.77.0.2)
for m in a b; do
  ip -n "$tag-$m" addr add "${address[$m]}/24" dev "$tag-$m"
  ip -n "$tag-$m" link set "$tag-$m" up
  ip -n "$tag-$m" link set lo up
  mkdir -p "$work/$m/rt"
  other=$([[ $m == a ]] && echo b || echo a)
  cat >"$work/$m/cyclonedds.xml" <<XML
<CycloneDDS><Domain id="any">
  <General><Interfaces><NetworkInterface name="$tag-$m"/></Interfaces>
    <AllowMulticast>false</AllowMulticast></General>
  <Discovery><ParticipantIndex>auto</ParticipantIndex><MaxAutoParticipantIndex>30</MaxAutoParticipantIndex>
    <LeaseDuration>2s</LeaseDuration>
    <Peers><Peer address="${address[$other]}"/></Peers></Discovery>
</Domain></CycloneDDS>
XML
done
mkdir -p "$work/pids"

# Runs "$@" on machine $1 (its network and mount namespaces, its runtime directory).
on() {
  local m=$1
  shift
  ZEROFLOW_RUNTIME_DIR="$work/$m/rt" CYCLONEDDS_URI="file://$work/$m/cyclonedds.xml" \
    ZF_TEST_PID_DIR="$work/pids" nsenter -t "${daemon_pid[$m]}" -m -n -- "$@"
}
start_daemon() {
  local m=$1
  # (CYCLONEDDS_URI: for the daemon's machine agent, zeroflow-bridge --agent.)
  ZEROFLOW_RUNTIME_DIR="$work/$m/rt" CYCLONEDDS_URI="file://$work/$m/cyclonedds.xml" ZF_TEST_PID_DIR="$work/pids" \
    ip netns exec "$tag-$m" unshare -m --propagation private \
    sh -c 'mount -t tmpfs -o mode=1777 tmpfs /dev/shm && exec "$@"' sh \
    "$zeroflow" daemon --machine-id "$m" --log-file "$work/$m/daemon.log" &
  daemon_pid[$m]=$!
  local i
  for ((i = 0; i < 100; i++)); do
    on "$m" "$zeroflow" list >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "daemon of machine $m did not answer"
}
start_bridge() { # machine, extra args...
  local m=$1
  shift
  # exec: $! is the bridge itself (nsenter execs it), so that a signal reaches it.
  (
    export ZEROFLOW_RUNTIME_DIR="$work/$m/rt" CYCLONEDDS_URI="file://$work/$m/cyclonedds.xml"
    exec nsenter -t "${daemon_pid[$m]}" -m -n -- "$bridge" "$work/flow.yml" --machine "$m" \
      --name flow "$@"
  ) >"$work/$m/bridge.out" 2>"$work/$m/bridge.err" &
  bridge_pid[$m]=$!
}
wait_for() { # command, seconds
  local i
  for ((i = 0; i < ${2:-10} * 10; i++)); do
    if eval "$1" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}
value() { sed -n "s/^$2=//p" "$1" 2>/dev/null; }
# Segments are sealed memfds ("zeroflow-<uuid>") that a daemon passes over its own socket only.
segments() { ls -l "/proc/${daemon_pid[$1]}/fd" 2>/dev/null | grep -c 'memfd:zeroflow' || true; }
segment_names() { ls -l "/proc/${daemon_pid[$1]}/fd" 2>/dev/null | grep -o 'memfd:zeroflow-[0-9a-f]*' | sort -u; }
# Dataflows whose status (list's third column) is live; remote machines' states are not counted.
running() { on "$1" "$zeroflow" list 2>/dev/null | grep -cE '^[0-9a-f-]{36} +[^ ]+ +(starting|running|stopping) ' || true; }
# Nothing of the dataflow is left on either machine: no dataflow runs, no segment, no node.
assert_nothing_left() {
  local m pid
  for m in a b; do
    wait_for "[[ \$(running $m) == 0 && \$(segments $m) == 0 ]]" 10 ||
      fail "machine $m still has a dataflow or a segment: $(on "$m" "$zeroflow" list) / $(segments "$m") segments"
  done
  for pid in $(ls "$work/pids"); do
    wait_for "! kill -0 $pid" 10 || fail "node process $pid is still alive"
  done
}

start_daemon a
start_daemon b
# The mount namespaces are private: the host's /dev/shm and the other machine's are not theirs.
# (A failure to look is told apart from a look that sees the host's files.)
touch /dev/shm/"$tag-host-probe"
if ! shm_seen=$(on a ls -a /dev/shm 2>&1); then
  rm -f /dev/shm/"$tag-host-probe"
  fail "cannot list machine a's /dev/shm (nsenter into daemon pid ${daemon_pid[a]}, alive: $(kill -0 "${daemon_pid[a]}" 2>/dev/null && echo yes || echo no)): $shm_seen"
fi
if grep -q -- "$tag-host-probe" <<<"$shm_seen"; then
  rm -f /dev/shm/"$tag-host-probe"
  fail "machine a sees the host's /dev/shm: $(tr '\n' ' ' <<<"$shm_seen")"
fi
rm -f /dev/shm/"$tag-host-probe"

