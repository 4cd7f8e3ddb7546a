#!/usr/bin/env bash
# What an attached observer tap costs the dataflow it watches (issue 13): the busy 8-byte
# ping-pong of benchmarks/zeroflow, ROUNDS times without a tap and with `zeroflow topic hz
# ping/ping` attached to ping's output, interleaved in one run; prints one-way p50 and p99 per
# round and the medians. Usage: tests/observe/tap_overhead.sh [ROUNDS] [SAMPLES]
#   ZEROFLOW_BUILD_DIR  build tree (default build/default)
set -euo pipefail
rounds=${1:-5}
samples=${2:-1000000} # about 2 s a run: the observer attaches within its first few percent
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${ZEROFLOW_BUILD_DIR:-$root/build/default}
zeroflow=$build/tools/zeroflow
nodes=$build/benchmarks/zeroflow
work=$(mktemp -d /tmp/zf-tap-overhead-XXXXXX)
export ZEROFLOW_RUNTIME_DIR=$work/rt
observer=""
cleanup() {
    [[ -n $observer ]] && kill "$observer" 2>/dev/null || true
    "$zeroflow" destroy --grace 2 >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
"$zeroflow" up >/dev/null
args="--pattern pingpong --mode busy --touch transport --size 8 --samples $samples --warmup 1000"
args+=" --budget 60 --oversubscribed 0"
for tap in no yes; do # the daemon spawns the nodes: results go by argument, not environment
    sed -e "s|@POINT@|tap-overhead|" -e "s|@NODES@|$nodes|g" -e "s|@PING@|zf_ping|" \
        -e "s|@PONG@|zf_pong|" -e "s|@ARGS@|$args --results $work/$tap.jsonl|g" \
        -e "s|@BUSY_POLL_US@|1000000|g" -e "s|@CPU_PING@|[0]|" -e "s|@CPU_PONG@|[1]|" \
        -e "s|@MAX@|64|g" "$root/benchmarks/zeroflow/templates/pingpong.yml" >"$work/$tap.yml"
done
for ((r = 1; r <= rounds; r++)); do
    for tap in no yes; do
        uuid=$("$zeroflow" start "$work/$tap.yml")
        if [[ $tap == yes ]]; then
            "$zeroflow" topic hz ping/ping -d "$uuid" --json --window 2 >"$work/hz-$r.json" 2>&1 &
            observer=$!
        fi
        while "$zeroflow" list --json | grep -q "\"status\": \"running\""; do sleep 0.2; done
        if [[ -n $observer ]]; then
            wait "$observer" 2>/dev/null || true
            observer=""
        fi
    done
done
python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
def points(tap):
    out = []
    for line in open(f"{work}/{tap}.jsonl"):
        j = json.loads(line)
        if "p50_us" in j:
            out.append((j["p50_us"], j["p99_us"]))
    return out
no, yes = points("no"), points("yes")
print("round  p50 no tap  p50 tap  p99 no tap  p99 tap   (one-way, us)")
for i, (a, b) in enumerate(zip(no, yes), 1):
    print(f"{i:5}  {a[0]:10.3f}  {b[0]:7.3f}  {a[1]:10.3f}  {b[1]:7.3f}")
m = lambda xs, k: statistics.median(x[k] for x in xs)
print(f"median {m(no,0):9.3f}  {m(yes,0):7.3f}  {m(no,1):10.3f}  {m(yes,1):7.3f}")
import glob
seen = [json.loads(open(f).read().strip().splitlines()[-1]) for f in sorted(glob.glob(f"{work}/hz-*.json"))]
print("the tap saw, per round (rate over its last messages, Hz):",
      " ".join(f"{x.get('rate_hz', 0):.0f}" for x in seen))
PY
