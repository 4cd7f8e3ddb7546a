#!/usr/bin/env bash
# Python ping-pong points beside the C++ pair, in one run and interleaved (for each size and
# mode: C++/C++, Python/Python, Python ping + C++ pong, C++ ping + Python pong, ROUNDS times),
# then a table of one-way p50/p99. The C++ nodes are benchmarks/zeroflow's zf_ping / zf_pong.
#
#   benchmarks/zeroflow/python/run.sh [SAMPLES] [ROUNDS]     (default 2000, 1)
#   SIZES="8 4096" MODES=busy ... to narrow it down.
set -euo pipefail

samples=${1:-2000}
rounds=${2:-1}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=${ZEROFLOW_BUILD_DIR:-$root/build/default}
zeroflow=$build/tools/zeroflow
nodes=$build/benchmarks/zeroflow
read -r -a sizes <<<"${SIZES:-8 4096 1048576 4194304}"
read -r -a modes <<<"${MODES:-busy blocking}"
for tool in "$zeroflow" "$nodes/zf_ping" "$nodes/zf_pong"; do
    [[ -x $tool ]] || { echo "error: build $tool first" >&2; exit 1; }
done
ls "$build"/python/zeroflow.*.so >/dev/null 2>&1 || { echo "error: build zeroflow_python first" >&2; exit 1; }

work=$(mktemp -d /tmp/zf-pybench.XXXXXX)
export ZEROFLOW_RUNTIME_DIR=$work/rt ZEROFLOW_LOG=warn
results=$work/results.jsonl
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

cores=$(nproc)
affinity() { ((cores >= 2)) && echo "cpu_affinity: [$1]" || echo ""; }

node_yaml() { # ID KIND(py|cpp) ROLE(ping|pong) ARGS BUSY CPU
    local id=$1 kind=$2 role=$3 args=$4 busy=$5 cpu=$6 input
    [[ $role == ping ]] && input="pong: pong/pong" || input="ping: ping/ping"
    echo "  - id: $id"
    if [[ $kind == py ]]; then
        echo "    path: $here/py_$role.py"
    else
        echo "    path: $nodes/zf_$role"
    fi
    echo "    args: '$args'"
    echo "    busy_poll_us: $busy"
    echo "    $(affinity "$cpu")"
    echo "    inputs: {$input}"
    echo "    outputs: [$role]"
}

point() { # PING PONG MODE SIZE
    local ping=$1 pong=$2 mode=$3 size=$4 busy=0 pair="$1-$2" file=$work/point.yml
    [[ $mode == busy ]] && busy=1000000
    local max=$((size < 4096 ? 4096 : size))
    local py_args="--size $size --samples $samples --warmup 200 --mode $mode --pair $pair"
    py_args+=" --results $results"
    local cpp_args="--pattern pingpong --mode $mode --touch transport --size $size"
    cpp_args+=" --samples $samples --warmup 200 --budget 20 --oversubscribed 0"
    cpp_args+=" --results $work/cpp.jsonl"
    {
        echo "nodes:"
        node_yaml ping "$ping" ping "$([[ $ping == py ]] && echo "$py_args" || echo "$cpp_args")" "$busy" 0
        node_yaml pong "$pong" pong "$([[ $pong == py ]] && echo "" || echo "$cpp_args")" "$busy" 1
        echo "shm:"
        echo "  ping/ping: {max_message_size: $max}"
        echo "  pong/pong: {max_message_size: $max}"
    } >"$file"
    echo "== $pair $mode $size" >&2
    if ! "$zeroflow" run --stop-after 120 --grace 2 "$file" >"$work/run.log" 2>&1; then
        echo "warning: $pair $mode $size failed:" >&2
        tail -n 5 "$work/run.log" "$work"/out/*/log_*.txt >&2 || true
    fi
    if [[ $ping == cpp && -f $work/cpp.jsonl ]]; then # zf_ping's line, in the harness's schema
        /usr/bin/python3 - "$work/cpp.jsonl" "$results" "$pair" "$mode" "$size" <<'PY'
import json, sys
src, dst, pair, mode, size = sys.argv[1:]
lines = [json.loads(l) for l in open(src) if l.strip()]
p = [l for l in lines if "p50_us" in l][-1]
with open(dst, "a") as f:
    f.write(json.dumps({"system": "zeroflow", "pair": pair, "mode": mode, "size": int(size),
                        "p50_us": p["p50_us"], "p90_us": p["p90_us"], "p99_us": p["p99_us"]}) + "\n")
PY
        rm -f "$work/cpp.jsonl"
    fi
    rm -rf "$work/out"
}

for ((r = 0; r < rounds; r++)); do
    for size in "${sizes[@]}"; do
        for mode in "${modes[@]}"; do
            point cpp cpp "$mode" "$size"
            point py py "$mode" "$size"
            point py cpp "$mode" "$size"
            point cpp py "$mode" "$size"
        done
    done
done

/usr/bin/python3 - "$results" <<'PY'
import collections, json, statistics, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    r = json.loads(line)
    rows[(r["size"], r["mode"], r["pair"])].append(r)
print("| size | mode | cpp-cpp p50 / p99 µs | py-py p50 / p99 µs | py-cpp p50 / p99 µs | cpp-py p50 / p99 µs |")
print("|---|---|---|---|---|---|")
for size in sorted({k[0] for k in rows}):
    for mode in ("busy", "blocking"):
        cells = []
        for pair in ("cpp-cpp", "py-py", "py-cpp", "cpp-py"):
            rs = rows.get((size, mode, pair))
            cells.append("—" if not rs else "%.1f / %.1f" % (
                statistics.median(r["p50_us"] for r in rs), statistics.median(r["p99_us"] for r in rs)))
        if any(c != "—" for c in cells):
            label = f"{size // 1048576} MiB" if size >= 1048576 else (f"{size // 1024} KiB" if size >= 1024 else f"{size} B")
            print(f"| {label} | {mode} | " + " | ".join(cells) + " |")
PY
