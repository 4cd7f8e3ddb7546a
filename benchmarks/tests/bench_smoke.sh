#!/usr/bin/env bash
# bench_smoke: runs one peer for one tiny point (8 B, 200 samples, busy and blocking) and
# checks that every JSON line parses and that p50 > 0. Exit 77 = skipped (RouDi running).
# Usage: bench_smoke.sh BIN_DIR PEER
set -euo pipefail
bin=$1
peer=$2
tmp=$(mktemp -d)
pid=""
cleanup() {
    if [[ -n $pid ]]; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

extra=()
if [[ $peer == bench_socket ]]; then
    extra=(--transports tcp,uds)
fi
status=0
"$bin/$peer" --sizes 8 --samples 200 --warmup 20 --patterns pingpong --modes busy,blocking \
    --touch transport "${extra[@]}" >"$tmp/results.jsonl" &
pid=$!
wait "$pid" || status=$?
pid=""
if [[ $status -ne 0 ]]; then
    exit "$status"
fi
cat "$tmp/results.jsonl"
"$bin/bench_report" --check "$tmp/results.jsonl"
points=$(grep -c '"system"' "$tmp/results.jsonl")
expected=2
[[ $peer == bench_socket ]] && expected=4
if [[ $points -ne $expected ]]; then
    echo "expected $expected points, got $points" >&2
    exit 1
fi
