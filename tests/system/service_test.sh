#!/usr/bin/env bash
# The daemon started exactly as an installed unit starts it serves the CLI, with no flag and no
# environment on the CLI's side: `list`, a dataflow's start and stop; SIGTERM ends it cleanly.
#   service_test.sh BUILD_DIR TEST_NODE system   the system unit, in a private mount namespace
#                                                whose /run is a fresh tmpfs (so %t is /run and
#                                                the CLI finds /run/zeroflow by itself), logging
#                                                to a stand-in journal socket there
#   service_test.sh BUILD_DIR TEST_NODE user     the user unit, %t = XDG_RUNTIME_DIR
if [[ $3 == system && -z ${ZF_SYSTEM_TEST_NAMESPACE:-} ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "the system unit test needs root (a mount namespace with its own /run)" >&2
    exit 77
  fi
  ZF_SYSTEM_TEST_NAMESPACE=1 exec unshare --mount --propagation private "$0" "$@"
fi
source "$(dirname "$0")/common.sh"
build=$1 node=$2 kind=$3
install_tree "$build"
bin=$work/prefix/bin
unset ZEROFLOW_RUNTIME_DIR
cli=(env -u ZEROFLOW_RUNTIME_DIR -u XDG_RUNTIME_DIR "$bin/zeroflow")
if [[ $kind == system ]]; then
  mount -t tmpfs -o mode=0755 tmpfs /run
  t=/run
  unit=$work/prefix/lib/systemd/system/zeroflow.service
  # journald's socket, played by a reader that keeps every datagram.
  mkdir -p /run/systemd/journal
  /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as out:
    while True:
        out.write(s.recv(1 << 20).replace(b"\n", b" ") + b"\n")
' /run/systemd/journal/socket "$work/journal.txt" &
  started+=($!)
  wait_for "test -S /run/systemd/journal/socket" || fail "no stand-in journal socket"
  # systemd connects stderr to the journal and names that stream in JOURNAL_STREAM.
  : >"$work/stderr.txt"
  JOURNAL_STREAM=$(stat -c '%d:%i' "$work/stderr.txt")
  export JOURNAL_STREAM
else
  t=$work/xdg
  mkdir -m 0700 "$t"
  unit=$work/prefix/lib/systemd/user/zeroflow.service
  cli=(env -u ZEROFLOW_RUNTIME_DIR XDG_RUNTIME_DIR="$t" "$bin/zeroflow")
fi
start_as_unit "$unit" "$t" "$work/stderr.txt"
wait_for "test -S $t/zeroflow/daemon.sock" || { cat "$work/stderr.txt" >&2; fail "no socket"; }

out=$("${cli[@]}" list) || fail "zeroflow list failed: $out"
[[ $out == "no dataflows" ]] || fail "zeroflow list said: $out"
write_flow "$node" "$work/flow.yml" 0 10000
uuid=$("${cli[@]}" start "$work/flow.yml" --name boot) || fail "start failed: $uuid"
out=$("${cli[@]}" list)
grep -q "$uuid *boot *running" <<<"$out" || fail "list does not show the dataflow running: $out"
out=$("${cli[@]}" stop boot --grace 5s) || fail "stop failed: $out"
[[ $out == "dataflow $uuid stopped" ]] || fail "stop said: $out"
grep -q "sink: succeeded" <<<"$("${cli[@]}" list)" || fail "the sink did not end cleanly"
stop_as_systemd 20
[[ ! -e $t/zeroflow/daemon.sock ]] || fail "the socket outlived the daemon"

if [[ $kind == system ]]; then
  # The daemon's lines went to the journal, with identifier and priority, not to stderr.
  grep -q "SYSLOG_IDENTIFIER=zeroflowd" "$work/journal.txt" ||
    fail "nothing reached the journal: $(cat "$work/journal.txt")"
  grep -q "MESSAGE=zeroflowd $daemon_pid serving /run/zeroflow/daemon.sock PRIORITY=6" \
    "$work/journal.txt" || fail "no 'serving' entry at priority 6: $(cat "$work/journal.txt")"
  if grep -q "serving" "$work/stderr.txt"; then
    fail "the daemon logged to stderr as well: $(cat "$work/stderr.txt")"
  fi
fi
echo "the $kind unit's daemon served list, start, stop; SIGTERM ended it with status 0"
