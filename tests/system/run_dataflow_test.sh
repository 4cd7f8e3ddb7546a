#!/usr/bin/env bash
# `zeroflow daemon --run-dataflow FILE`: a daemon that starts one dataflow at once, serves the
# CLI meanwhile, and exits when the dataflow finishes, with status 0 only if every node exited 0.
# Usage: run_dataflow_test.sh ZEROFLOW_CLI TEST_NODE
source "$(dirname "$0")/common.sh"
cli=$1 node=$2
export ZEROFLOW_RUNTIME_DIR=$work/run
unset XDG_RUNTIME_DIR

# 1. A dataflow that ends by itself, successfully: exit 0, and the daemon is gone with it.
write_flow "$node" "$work/ok.yml" 20 1000
status=0
out=$(timeout 60 "$cli" daemon --run-dataflow "$work/ok.yml" 2>"$work/ok.err") || status=$?
[[ $status -eq 0 ]] || fail "a successful dataflow gave status $status: $out $(cat "$work/ok.err")"
grep -q "finished: every node exited 0" <<<"$out" || fail "no success report: $out"
[[ ! -e $ZEROFLOW_RUNTIME_DIR/daemon.sock ]] || fail "the daemon left its socket"
grep -q "count=20" "$work"/out/*/log_sink.txt 2>/dev/null ||
  grep -q "source: sending" "$work"/out/*/log_source.txt || fail "the nodes did not run"

# 2. A node that fails: exit 1, naming it.
cat >"$work/bad.yml" <<YAML
nodes:
  - id: broken
    path: $node
    args: exit_early --code 3 --message "broken: no camera"
YAML
status=0
out=$(timeout 60 "$cli" daemon --run-dataflow "$work/bad.yml" 2>&1) || status=$?
[[ $status -eq 1 ]] || fail "a failed dataflow gave status $status: $out"
grep -q "broken" <<<"$out" || fail "the failed node is not named: $out"

# 3. A dataflow that runs until stopped: the CLI sees it meanwhile; SIGTERM (systemctl stop)
#    stops it gracefully (its nodes end on Stop with status 0), and the daemon exits 0.
write_flow "$node" "$work/forever.yml" 0 10000
"$cli" daemon --run-dataflow "$work/forever.yml" >"$work/forever.out" 2>&1 &
pid=$!
started+=("$pid")
wait_for "'$cli' list | grep -Eq ' running +[0-9]+/[0-9]+ '" 30 || fail "list never showed it: $(cat "$work/forever.out")"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
[[ $status -eq 0 ]] || fail "SIGTERM gave status $status: $(cat "$work/forever.out")"
grep -q "finished: every node exited 0" "$work/forever.out" ||
  fail "no report after SIGTERM: $(cat "$work/forever.out")"

# 4. A file that is not a dataflow: status 1 with check's diagnostics, and no daemon starts.
echo "nodes: [" >"$work/broken.yml"
status=0
out=$("$cli" daemon --run-dataflow "$work/broken.yml" 2>&1) || status=$?
[[ $status -eq 1 ]] || fail "an invalid file gave status $status: $out"
grep -q "broken.yml:" <<<"$out" || fail "no file:line diagnostics: $out"
echo "--run-dataflow: success 0, failure 1, SIGTERM stops gracefully, invalid file refused"
