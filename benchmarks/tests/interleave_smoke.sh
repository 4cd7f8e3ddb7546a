#!/usr/bin/env bash
# bench_interleave_smoke: the floor and one peer (uds) at one tiny point, interleaved. Checks what
# a reader of the README relies on: the rounds really alternate (raw uds raw uds ...), every
# system reports its rounds, summed samples, spread and the ratio to the floor, the header names
# the placements measured and those this machine cannot offer, and `bench_report --check` and
# the report accept it. Usage: interleave_smoke.sh BIN_DIR
set -euo pipefail
bin=$1
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

args="--no-header --sizes {size} --patterns {pattern} --modes {mode} --touch {touch}"
args+=" --samples {samples} --warmup {warmup} --cpus {cpus}"
"$bin/bench_interleave" --system "raw=$bin/bench_raw $args" \
    --system "uds=$bin/bench_socket --transports uds $args" \
    --sizes 8 --modes busy --patterns pingpong --samples 300 --round-samples 100 --warmup 20 \
    --rounds-out "$tmp/rounds.jsonl" >"$tmp/results.jsonl" &
pid=$!
wait "$pid"
pid=""
cat "$tmp/results.jsonl"
"$bin/bench_report" --check "$tmp/results.jsonl"
"$bin/bench_report" "$tmp/results.jsonl" "$tmp/report" --no-plots >/dev/null
grep -q "Interleaved: at every point" "$tmp/report/results.md"
/usr/bin/python3 - "$tmp/results.jsonl" "$tmp/rounds.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
header, points = lines[0], lines[1:]
rounds = [json.loads(l) for l in open(sys.argv[2])]

def fail(message):
    sys.exit("interleave_smoke: " + message)

if not header.get("interleaved") or not header.get("topology"):
    fail(f"header lacks interleaved/topology: {header}")
if not header["placements"] and header["cores"] > 1:
    fail("no placement measured on a machine with several CPUs")
if header["cores"] > 1 and "smt-siblings" not in header["not_measurable"] + [
        p["placement"] for p in header["placements"]]:
    fail("smt-siblings neither measured nor said to be unmeasurable")
placements = len(header["placements"]) or 1
order = [r["system"] for r in sorted(rounds, key=lambda r: (r["placement"], r["sequence"]))]
expected = ["raw", "uds"] * 3 * placements
if order != expected:
    fail(f"rounds ran as {order}, expected alternation {expected}")
for p in points:
    if p["rounds"] != 3 or p["samples"] != 300:
        fail(f"expected 3 rounds and 300 samples: {p}")
    lo, hi = p["spread"]["p50"]
    if not (lo <= p["p50_us"] <= hi):
        fail(f"median p50 outside its spread: {p}")
uds = [p for p in points if p["system"] == "uds"]
if not uds or not all(isinstance(p["ratio_to_floor"], float) and p["ratio_to_floor"] > 0 for p in uds):
    fail(f"uds has no ratio to the floor: {uds}")
if any(p["ratio_to_floor"] is not None for p in points if p["system"] == "raw"):
    fail("the floor has a ratio to itself")
print(f"ok: {len(rounds)} rounds alternated, {len(points)} points with ratios")
PY
