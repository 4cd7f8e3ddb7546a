#!/usr/bin/env bash
# zeroflow_bench_*: the `zeroflow bench` command as a user runs it, with a private runtime
# directory (so it embeds its daemon). Checks what the user reads: the table's fields, that
# --json parses with sane figures, the C (and, when built, Python) pair, that an unknown pattern
# is a usage error (exit 2), that it runs through an already running daemon too, and that busy
# fan-out wider than the machine is reported as not measured instead of as latency. --install BUILD_DIR: first `cmake --install` the build into a
# temporary prefix and run the installed zeroflow from there (no build tree in reach).
# Usage: zeroflow_bench.sh ZEROFLOW [--install BUILD_DIR]
set -euo pipefail
zeroflow=$1
tmp=$(mktemp -d)
export ZEROFLOW_RUNTIME_DIR=$tmp/runtime
export ZEROFLOW_LOG=warn
daemon_up=0
cleanup() {
    ((daemon_up)) && "$zeroflow" destroy --grace 1 >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
fail() {
    echo "zeroflow_bench: $*" >&2
    exit 1
}

if [[ ${2:-} == --install ]]; then
    cmake --install "$3" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1 ||
        { tail -n 20 "$tmp/install.log" >&2; fail "cmake --install failed"; }
    zeroflow=$tmp/prefix/bin/zeroflow
    [[ -x $tmp/prefix/libexec/zeroflow/bench/bench_raw ]] || fail "bench_raw not installed"
    unset ZEROFLOW_BENCH_DIR
fi

# The table: a row per size with numbers in every column.
"$zeroflow" bench --sizes 8,4KiB --mode blocking --duration 0.2 >"$tmp/table.txt"
cat "$tmp/table.txt"
grep -q "p50 .*p99 .*p99.9 .*msgs/s .*floor p50 .*×floor" "$tmp/table.txt" || fail "no table header"
for size in "8 B" "4 KiB"; do
    grep -Eq "^blocking +$size +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ [kM]? +[0-9.]+ +[0-9.]+" \
        "$tmp/table.txt" || fail "no measured row for $size"
done
[[ -z $(ls "$ZEROFLOW_RUNTIME_DIR"/segments 2>/dev/null) ]] || fail "segments left behind"

if [[ ${2:-} == --install ]]; then
    echo "ok: zeroflow bench works from the installed prefix"
    exit 0
fi

# --json, the C pair: parses, sane figures.
"$zeroflow" bench --sizes 8 --mode blocking --duration 0.2 --lang c --json >"$tmp/bench.json"
/usr/bin/python3 - "$tmp/bench.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["lang"] == "c" and j["pattern"] == "pingpong", j
assert j["machine"]["topology"] and j["machine"]["idle"], j
(p,) = j["points"]
assert p["measured"] and p["mode"] == "blocking" and p["size"] == 8, p
assert 0 < p["p50_us"] <= p["p99_us"] <= p["p999_us"] <= p["max_us"], p
assert p["floor_p50_us"] > 0 and p["ratio_to_floor"] > 0 and p["rounds"] >= 2, p
assert p["samples"] >= 1000 and p["msgs_per_s"] > 0 and isinstance(p["flip"], bool), p
print("ok: --json", p["p50_us"], "us, x", round(p["ratio_to_floor"], 2), "of the floor")
PY

# Through a daemon that already runs (`zeroflow up`): the rounds are its dataflows.
"$zeroflow" up >/dev/null
daemon_up=1
"$zeroflow" bench --sizes 8 --mode blocking --duration 0.2 >"$tmp/up.txt"
grep -Eq "^blocking +8 B +[0-9.]+" "$tmp/up.txt" || { cat "$tmp/up.txt"; fail "with a running daemon"; }
"$zeroflow" list | grep -q "succeeded" || fail "the running daemon did not run the bench dataflows"
"$zeroflow" destroy --grace 1 >/dev/null
daemon_up=0

if ls "$(dirname "$zeroflow")"/../python/zeroflow*.so >/dev/null 2>&1; then
    "$zeroflow" bench --sizes 8 --mode blocking --duration 0.2 --lang python >"$tmp/py.txt"
    grep -Eq "^blocking +8 B +[0-9.]+" "$tmp/py.txt" || { cat "$tmp/py.txt"; fail "python pair"; }
    # The Python one-way pair (py_source -> py_sink), found beside zeroflow as installed too.
    "$zeroflow" bench --sizes 4KiB --pattern oneway --mode blocking --duration 0.2 --lang python \
        >"$tmp/py1.txt"
    grep -q "oneway (python nodes)" "$tmp/py1.txt" &&
        grep -Eq "^blocking +4 KiB +[0-9.]+" "$tmp/py1.txt" || {
        cat "$tmp/py1.txt"
        fail "python one-way pair"
    }
fi

# An unknown pattern: exit 2 and a message naming the patterns.
status=0
"$zeroflow" bench --pattern star:3 2>"$tmp/err.txt" || status=$?
[[ $status -eq 2 ]] || fail "unknown pattern gave exit $status, expected 2"
grep -q "unknown pattern 'star:3'.*fanout:N" "$tmp/err.txt" || fail "no clear error: $(cat "$tmp/err.txt")"

# Busy fan-out needs a core per node: wider than the machine it is not measured, and says so.
cpus=$(nproc)
if ((cpus < 4)); then
    "$zeroflow" bench --pattern fanout:3 --mode busy --sizes 8 --duration 0.2 >"$tmp/fan.txt"
    cat "$tmp/fan.txt"
    grep -q "not measured: 4 busy-polling nodes need 4 CPUs, $cpus available" "$tmp/fan.txt" ||
        fail "oversubscribed busy fan-out not reported"
fi
echo "ok: zeroflow bench"
