#!/usr/bin/env bash
# bench_report_plots: bench_report on the committed quick and full results (docs/perf) writes
# plots a reader can read: legends outside the data, no panel without zeroflow points, integer
# ticks for N, no scaling plot from a single N, no legend of forty entries.
#   benchmarks/tests/report_plots.sh BENCH_REPORT DOCS_PERF_DIR
set -euo pipefail
report=$1
perf=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$report" "$perf"/quick-*.jsonl "$work/quick" --no-plots >/dev/null 2>"$work/quick.err"
"$report" "$perf"/full-*.jsonl "$work/full" --no-plots >/dev/null

q=$work/quick/plot f=$work/full/plot
for gp in "$q"/*.gp "$f"/*.gp; do
    grep -q "set key outside" "$gp" || fail "$gp: the legend is not outside the data"
done
# Quick: zeroflow ran transport touch only, so two latency panels, none of full touch.
[[ $(grep -c "^set title" "$q/latency_p50.gp") == 2 ]] || fail "quick latency_p50: not 2 panels"
! grep -q "full touch" "$q/latency_p50.gp" || fail "quick latency_p50: a panel without zeroflow"
# Quick: one chain length, so no chain plot (and it says why); fan-out ticks at 1 and 2 only.
[[ ! -e $q/chain.gp ]] || fail "quick: a chain plot from a single chain length"
grep -q "no chain.svg" "$work/quick.err" || fail "quick: no note about the missing chain plot"
grep -q "set xtics (1, 2)$" "$q/fanout.gp" || fail "quick fanout: ticks not at 1 and 2"
# Full: fan-out and chain split into mode x touch panels, each with a short legend.
for plot in fanout chain; do
    [[ $(grep -c "^set title" "$f/$plot.gp") == 4 ]] || fail "full $plot: not 4 panels"
    entries=$(awk '/^set title/ { if (n > max) max = n; n = 0; next } / title .[^;]*$/ { n++ }
                   END { if (n > max) max = n; print max }' "$f/$plot.gp")
    ((entries <= 10)) || fail "full $plot: $entries legend entries in one panel"
done
grep -q "set xtics (1, 2, 4, 8)$" "$f/fanout.gp" || fail "full fanout: ticks not at 1, 2, 4, 8"
grep -q "set xtics (2, 5, 10)$" "$f/chain.gp" || fail "full chain: ticks not at 2, 5, 10"
echo "bench_report plots: ok"
