#!/usr/bin/env bash
# Compares two builds of zeroflow_shm_bench (say, before and after a change) in interleaved
# rounds — A B A B … — so that both see the same machine states (this VM's cross-core latency
# flips between two states every few seconds to minutes). Prints, per benchmark, the median
# across rounds of each build's figure (CPU ns per iteration for one-process benchmarks: less
# disturbed by other load than wall time; the p50 one-way latency for ping-pongs), the spread
# across rounds (min..max), and B / A.
#
#   benchmarks/shm/ab.sh A_BINARY B_BINARY [ROUNDS] [FILTER]
#   e.g. benchmarks/shm/ab.sh /tmp/before/zeroflow_shm_bench \
#            build/default/benchmarks/shm/zeroflow_shm_bench 7 'LoanSendReceiveRelease|ShmPingPong/futex:0'
set -euo pipefail

a="${1:?usage: ab.sh A_BINARY B_BINARY [ROUNDS] [FILTER]}"
b="${2:?usage: ab.sh A_BINARY B_BINARY [ROUNDS] [FILTER]}"
rounds="${3:-5}"
filter="${4:-.}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

for ((r = 1; r <= rounds; ++r)); do
    for side in a b; do
        bin="$a"
        [[ "$side" == b ]] && bin="$b"
        "$bin" --benchmark_filter="$filter" --benchmark_min_time=0.2 \
            --benchmark_out="$out/$side-$r.json" --benchmark_out_format=json >/dev/null 2>&1
    done
    echo "round $r/$rounds done" >&2
done

/usr/bin/python3 - "$out" "$rounds" "$a" "$b" <<'EOF'
import json, statistics, sys
out, rounds, a, b = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
figures = {"a": {}, "b": {}}
for side in "ab":
    for r in range(1, rounds + 1):
        with open(f"{out}/{side}-{r}.json") as f:
            for bm in json.load(f)["benchmarks"]:
                value = bm.get("p50_ns", bm["cpu_time"])
                figures[side].setdefault(bm["name"], []).append(value)
print(f"A = {a}\nB = {b}\n{rounds} interleaved rounds; figure: p50 one-way ns for ping-pongs, "
      "else CPU ns per iteration; median across rounds [min..max]")
print("B/A: ratio of the medians; paired: median of each round's B/A (A and B of one round ran")
print("back to back, so mostly in the same machine state); min: ratio of the best rounds")
print(f"{'benchmark':58} {'A':>22} {'B':>22} {'B/A':>6} {'paired':>6} {'min':>6}")
for name, va in figures["a"].items():
    vb = figures["b"].get(name)
    if not vb:
        continue
    ma, mb = statistics.median(va), statistics.median(vb)
    paired = statistics.median(b / a for a, b in zip(va, vb) if a > 0)
    fa = f"{ma:.1f} [{min(va):.0f}..{max(va):.0f}]"
    fb = f"{mb:.1f} [{min(vb):.0f}..{max(vb):.0f}]"
    print(f"{name:58} {fa:>22} {fb:>22} {mb / ma:6.3f} {paired:6.3f} {min(vb) / min(va):6.3f}")
for name in figures["b"]:
    if name not in figures["a"]:
        vb = figures["b"][name]
        print(f"{name:58} {'-':>22} {statistics.median(vb):>13.1f} [{min(vb):.0f}..{max(vb):.0f}]")
EOF
