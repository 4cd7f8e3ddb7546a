#!/usr/bin/env bash
# `make demo` / `make demo-busy`: runs the sensor pipeline for 5 s with its nodes' output
# streamed, after saying what runs, and explains the latency figures it prints.
#   examples/sensor-pipeline/demo.sh [blocking|busy]     (needs `cmake --build ... --target demo`)
set -euo pipefail

mode=${1:-blocking}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
zeroflow=$root/build/default/tools/zeroflow
case $mode in
blocking) file=$here/dataflow.yml ;;
busy) file=$here/busy-poll.yml ;;
*)
    echo "usage: $0 [blocking|busy]" >&2
    exit 2
    ;;
esac
rel=${file#"$root"/}

cat <<TEXT
zeroflow demo: $rel, for 5 s

  timer 30 Hz --> camera --image--> filter --summary--> sink
                    \`-------------image (the same frames)--------> sink

  camera  makes one 1280x720 RGB frame (2.76 MB) per tick, written once into shared memory
  filter  reads each frame where it lies (no copy) and sends a 32-byte summary
  sink    takes the summaries and the raw frames, and prints latency once a second
TEXT
if [[ $mode == blocking ]]; then
    echo "  Every node sleeps until a message arrives (blocking wake-ups, the default)."
else
    echo "  The sink busy-polls (busy_poll_us): it spins on its queues, one CPU core, and never sleeps."
fi
echo
echo "Each node is its own process; their output, live ('zeroflow run' prefixes each line):"
"$zeroflow" run "$file" --stop-after 5s

cat <<TEXT

Reading the figures (the sink's lines above; all in its log, out/<uuid>/log_sink.txt):
  latency_p50_us        capture -> sink through the filter: two hops and the filter's work
  image_latency_p50_us  capture -> sink directly: one hop of a 2.76 MB frame, never copied
TEXT
if [[ $mode == blocking ]]; then
    cat <<TEXT
  With blocking wake-ups each hop includes waking a sleeping process (a futex wake-up and
  a trip through the scheduler): some 20-150 us on a small, busy VM, whatever the message size.
  The README's headline (~0.2 us) is the other mode: busy-polled, one hop, two processes
  pinned to their own cores with nothing else running. Both are true; to see the other:
    make demo-busy                    this pipeline with the sink busy-polling (needs a free core)
    benchmarks/zeroflow/run.sh quick  the latency harness behind the README (about 30 s)
TEXT
else
    cat <<TEXT
  Busy-polled, the hop into the sink has no wake-up in it: what is left is the data path
  itself plus whatever the scheduler takes when cores are busy. The README's ~0.2 us comes
  from the latency harness (two pinned processes, dedicated cores, nothing else running):
  benchmarks/zeroflow/run.sh quick. \`make demo\` shows the same pipeline with blocking wake-ups.
TEXT
fi
