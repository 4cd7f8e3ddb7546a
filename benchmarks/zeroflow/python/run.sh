#!/usr/bin/env bash
# Python points beside the C++ pair, in one run and interleaved: for each pattern, size and mode,
# C++/C++, Python/Python, Python sender + C++ receiver and C++ sender + Python receiver, ROUNDS
# times; then a table of one-way p50/p99 per pattern.
#   pingpong: zf_ping/zf_pong or py_ping.py/py_pong.py; one-way = round trip / 2.
#   oneway:   zf_source/zf_sink or py_source.py/py_sink.py; the receiver measures
#             receive - stamp (the stamp taken before the loan) and acknowledges it.
#
#   benchmarks/zeroflow/python/run.sh [SAMPLES] [ROUNDS]     (default 2000, 1)
#   SIZES="8 4096" MODES=busy PATTERNS=oneway ... to narrow it down.
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
read -r -a patterns <<<"${PATTERNS:-pingpong oneway}"
for tool in "$zeroflow" "$nodes/zf_ping" "$nodes/zf_pong" "$nodes/zf_source" "$nodes/zf_sink"; do
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

# The two roles of each pattern: node id, output, input (from the other role's output), and the
# C++ and Python programs.
declare -A role_id=([pingpong,0]=ping [pingpong,1]=pong [oneway,0]=source [oneway,1]=sink)
declare -A role_out=([pingpong,0]=ping [pingpong,1]=pong [oneway,0]=data [oneway,1]=ack)
declare -A role_cpp=([pingpong,0]=zf_ping [pingpong,1]=zf_pong [oneway,0]=zf_source [oneway,1]=zf_sink)
declare -A role_py=([pingpong,0]=py_ping.py [pingpong,1]=py_pong.py [oneway,0]=py_source.py
    [oneway,1]=py_sink.py)

node_yaml() { # PATTERN ROLE(0 sender|1 receiver) KIND(py|cpp) ARGS BUSY
    local pattern=$1 role=$2 kind=$3 args=$4 busy=$5 other=$((1 - $2))
    echo "  - id: ${role_id[$pattern,$role]}"
    if [[ $kind == py ]]; then
        echo "    path: $here/${role_py[$pattern,$role]}"
    else
        echo "    path: $nodes/${role_cpp[$pattern,$role]}"
    fi
    echo "    args: '$args'"
    echo "    busy_poll_us: $busy"
    echo "    $(affinity "$role")"
    echo "    inputs: {${role_out[$pattern,$other]}: ${role_id[$pattern,$other]}/${role_out[$pattern,$other]}}"
    echo "    outputs: [${role_out[$pattern,$role]}]"
}

point() { # PATTERN SENDER RECEIVER MODE SIZE
    local pattern=$1 sender=$2 receiver=$3 mode=$4 size=$5 busy=0 pair="$2-$3" file=$work/point.yml
    [[ $mode == busy ]] && busy=1000000
    local max=$((size < 4096 ? 4096 : size))
    local py_args="--size $size --samples $samples --warmup 200 --mode $mode --pair $pair"
    py_args+=" --results $results"
    local cpp_args="--pattern $pattern --mode $mode --touch transport --size $size"
    cpp_args+=" --samples $samples --warmup 200 --budget 20 --oversubscribed 0"
    cpp_args+=" --results $work/cpp.jsonl"
    local sender_out=${role_id[$pattern,0]}/${role_out[$pattern,0]}
    local receiver_out=${role_id[$pattern,1]}/${role_out[$pattern,1]}
    {
        echo "nodes:"
        node_yaml "$pattern" 0 "$sender" "$([[ $sender == py ]] && echo "$py_args" || echo "$cpp_args")" "$busy"
        node_yaml "$pattern" 1 "$receiver" "$([[ $receiver == py ]] && echo "" || echo "$cpp_args")" "$busy"
        echo "shm:"
        echo "  $sender_out: {max_message_size: $max}"
        echo "  $receiver_out: {max_message_size: $([[ $pattern == pingpong ]] && echo "$max" || echo 4096)}"
    } >"$file"
    echo "== $pattern $pair $mode $size" >&2
    if ! "$zeroflow" run --stop-after 120 --grace 2 "$file" >"$work/run.log" 2>&1; then
        echo "warning: $pattern $pair $mode $size failed:" >&2
        tail -n 5 "$work/run.log" "$work"/out/*/log_*.txt >&2 || true
    fi
    if [[ $sender == cpp && -f $work/cpp.jsonl ]]; then # zf_ping's or zf_source's line, in this schema
        /usr/bin/python3 - "$work/cpp.jsonl" "$results" "$pattern" "$pair" "$mode" "$size" <<'PY'
import json, sys
src, dst, pattern, pair, mode, size = sys.argv[1:]
lines = [json.loads(l) for l in open(src) if l.strip()]
p = [l for l in lines if "p50_us" in l][-1]
with open(dst, "a") as f:
    f.write(json.dumps({"system": "zeroflow", "pattern": pattern, "pair": pair, "mode": mode,
                        "size": int(size), "p50_us": p["p50_us"], "p90_us": p["p90_us"],
                        "p99_us": p["p99_us"]}) + "\n")
PY
        rm -f "$work/cpp.jsonl"
    fi
    rm -rf "$work/out"
}

for ((r = 0; r < rounds; r++)); do
    for pattern in "${patterns[@]}"; do
        for size in "${sizes[@]}"; do
            for mode in "${modes[@]}"; do
                point "$pattern" cpp cpp "$mode" "$size"
                point "$pattern" py py "$mode" "$size"
                point "$pattern" py cpp "$mode" "$size"
                point "$pattern" cpp py "$mode" "$size"
            done
        done
    done
done

/usr/bin/python3 - "$results" <<'PY'
import collections, json, statistics, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    r = json.loads(line)
    rows[(r.get("pattern", "pingpong"), r["size"], r["mode"], r["pair"])].append(r)
print("one-way p50 / p99 µs (pingpong: round trip / 2); pairs are sender-receiver")
print("| pattern | size | mode | cpp-cpp | py-py | py-cpp | cpp-py |")
print("|---|---|---|---|---|---|---|")
for pattern in ("pingpong", "oneway"):
    for size in sorted({k[1] for k in rows}):
        for mode in ("busy", "blocking"):
            cells = []
            for pair in ("cpp-cpp", "py-py", "py-cpp", "cpp-py"):
                rs = rows.get((pattern, size, mode, pair))
                cells.append("—" if not rs else "%.1f / %.1f" % (
                    statistics.median(r["p50_us"] for r in rs),
                    statistics.median(r["p99_us"] for r in rs)))
            if any(c != "—" for c in cells):
                label = (f"{size // 1048576} MiB" if size >= 1048576 else
                         f"{size // 1024} KiB" if size >= 1024 else f"{size} B")
                print(f"| {pattern} | {label} | {mode} | " + " | ".join(cells) + " |")
PY
