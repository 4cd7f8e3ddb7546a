#!/usr/bin/env bash
# Measures zeroflow's footprint (docs/embedded.md): the idle daemon's RSS and CPU ticks, the
# daemon and nodes with examples/sensor-pipeline running, what the library adds to an empty node,
# and the shared memory the pipeline touches against its segment's size. Prints a Markdown table.
#   tools/footprint.sh [BUILD_DIR] [IDLE_SECONDS] [PIPELINE_SECONDS]
# BUILD_DIR (default build/default) needs zeroflowd, zeroflow, the example nodes and the
# footprint nodes (tests/system). An arm64 build dir runs under qemu-user (tools/arm64-binfmt.sh):
# then RSS includes qemu's own memory, so only ticks and shared-memory pages mean what they say.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "${1:-build/default}")
idle_s=${2:-60}
busy_s=${3:-20}
py=/usr/bin/python3
work=$(mktemp -d /tmp/zf-footprint-XXXXXX)
export ZEROFLOW_RUNTIME_DIR=$work/run
daemon_pid=
cleanup() {
  [[ -n $daemon_pid ]] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
hz=$(getconf CLK_TCK)
page_kib=$(( $(getconf PAGESIZE) / 1024 ))

status_kib() { sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status"; }
ticks() { awk '{ s = $0; sub(/.*\) /, "", s); split(s, f, " "); print f[12] + f[13] }' "/proc/$1/stat"; }
mib() { awk -v k="$1" 'BEGIN { if (k < 1024) printf "%d KiB", k; else printf "%.1f MiB", k / 1024 }'; }
row() { printf '| %s | %s |\n' "$1" "$2"; }
# pid of node $2 of dataflow $1 (zeroflow list --json).
node_pid() {
  "$build/tools/zeroflow" list --json | "$py" -c '
import json, sys
for df in json.load(sys.stdin):
    if df["uuid"] == sys.argv[1]:
        for n in df["nodes"]:
            if n["id"] == sys.argv[2]:
                print(n["pid"])' "$1" "$2"
}
# "<size> <allocated bytes>" of the dataflow's segment: a memfd; its inode's blocks are the
# pages really taken (touched or reserved), wherever they are mapped.
segment() {
  local fd
  for fd in /proc/"$1"/fd/*; do
    if [[ $(readlink "$fd") == /memfd:* ]]; then
      stat -L -c '%s %b %B' "$fd" | awk '{ print $1, $2 * $3 }'
      return
    fi
  done
}

"$build/daemon/zeroflowd" --log-file "$work/daemon.log" &
daemon_pid=$!
for _ in $(seq 100); do [[ -S $ZEROFLOW_RUNTIME_DIR/daemon.sock ]] && break; sleep 0.1; done
sleep 2
arch=$(file -L "$build/daemon/zeroflowd" | sed -n 's/.*ELF 64-bit LSB [a-z ]*, \([^,]*\),.*/\1/p')
echo "## zeroflow footprint: $arch on $(uname -m), $build, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| what | figure |"
echo "|---|---|"
row "daemon idle RSS" "$(mib "$(status_kib "$daemon_pid" VmRSS)") (anon $(status_kib "$daemon_pid" RssAnon) KiB, file $(status_kib "$daemon_pid" RssFile) KiB)"
t0=$(ticks "$daemon_pid") w0=$(sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' "/proc/$daemon_pid/status")
sleep "$idle_s"
t1=$(ticks "$daemon_pid") w1=$(sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' "/proc/$daemon_pid/status")
row "daemon idle CPU over ${idle_s} s" "$((t1 - t0)) ticks (1 tick = $((1000 / hz)) ms), $((w1 - w0)) wake-ups"

# The sensor pipeline at its defaults, its nodes from this build dir.
mkdir -p "$work/sp"
sed "s|\.\./\.\./build/default/examples/|$build/examples/|" examples/sensor-pipeline/dataflow.yml \
  >"$work/sp/dataflow.yml"
uuid=$("$build/tools/zeroflow" start "$work/sp/dataflow.yml" --start-timeout 120s)
sleep 5
t0=$(ticks "$daemon_pid")
sleep "$busy_s"
t1=$(ticks "$daemon_pid")
row "daemon RSS, sensor pipeline running" "$(mib "$(status_kib "$daemon_pid" VmRSS)")"
row "daemon CPU, sensor pipeline running" "$((t1 - t0)) ticks in ${busy_s} s ($(awk -v t=$((t1 - t0)) -v s="$busy_s" -v hz="$hz" 'BEGIN { printf "%.2f", 100 * t / hz / s }') % of a core)"
for n in camera filter sink; do
  pid=$(node_pid "$uuid" "$n")
  row "node $n RSS" "$(mib "$(status_kib "$pid" VmRSS)") (anon $(status_kib "$pid" RssAnon) KiB, file $(status_kib "$pid" RssFile) KiB, shared memory $(status_kib "$pid" RssShmem) KiB)"
done
size= used=
for pid in "$daemon_pid" $(node_pid "$uuid" camera); do
  [[ -z $size ]] && read -r size used < <(segment "$pid") || true
done
row "sensor pipeline segment: size / pages taken" "$(mib $((size / 1024))) / $(mib $((used / 1024))) ($(awk -v u="$used" -v s="$size" 'BEGIN { printf "%.1f", 100 * u / s }') %)"
"$build/tools/zeroflow" stop "$uuid" >/dev/null

# What the library adds to a node: an empty node against the same program without zeroflow.
cat >"$work/empty.yml" <<YAML
nodes:
  - id: empty
    path: $build/tests/system/zeroflow_footprint_node
    inputs:
      tick: zeroflow/timer/hz/1
YAML
uuid=$("$build/tools/zeroflow" start "$work/empty.yml" --start-timeout 120s)
"$build/tests/system/zeroflow_footprint_empty" &
bare=$!
sleep 3
node_kib=$(status_kib "$(node_pid "$uuid" empty)" VmRSS)
bare_kib=$(status_kib "$bare" VmRSS)
kill "$bare"
size= used=
for pid in "$daemon_pid" $(node_pid "$uuid" empty); do
  [[ -z $size ]] && read -r size used < <(segment "$pid") || true
done
row "empty node RSS / same program without zeroflow" "$node_kib KiB / $bare_kib KiB: the library adds $((node_kib - bare_kib)) KiB"
row "empty node's segment: size / pages taken" "$(mib $((size / 1024))) / $(mib $((used / 1024)))"
"$build/tools/zeroflow" stop "$uuid" >/dev/null
echo
echo "page size $page_kib KiB; $(nproc) CPUs; $(uname -r)"
