#!/usr/bin/env bash
# Writes the man pages of zeroflow from its --help output with help2man (Debian's help2man):
# zeroflow.1 and zeroflow-COMMAND.1 for each command. Run by the build (target zeroflow_man).
#   tools/man/make-man.sh ZEROFLOW_BINARY OUTPUT_DIR
set -euo pipefail

zeroflow=$1
out=$2
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

declare -A names=(
    [new]="create a project: a dataflow with a talker and a listener"
    [check]="validate a dataflow file and report every problem"
    [graph]="print or render the graph of a dataflow"
    [up]="start the zeroflow daemon in the background"
    [destroy]="stop every dataflow, then the daemon"
    [daemon]="run the zeroflow daemon in the foreground"
    [start]="start a dataflow on the daemon"
    [stop]="stop a dataflow"
    [list]="list dataflows, running and recently finished"
    [logs]="print a node's log"
    [build]="run each node's build command"
    [run]="run a dataflow to its end, streaming its nodes' output"
    [clean]="delete the logs of dataflows that are not running"
    [top]="a live view of a running dataflow: nodes, outputs, queues"
    [topic]="see what flows on a running dataflow's outputs"
    [record]="record a running dataflow's outputs into an MCAP file"
    [replay]="play a recording into a dataflow in place of the recorded nodes"
    [bench]="measure latency on this machine beside the raw shared-memory floor"
)

help2man --no-info --section 1 --name "run and inspect robot dataflows" \
    --output "$out/zeroflow.1" "$zeroflow"
for command in "${!names[@]}"; do
    # help2man names the page after what --version prints: a wrapper per command.
    wrapper=$work/zeroflow-$command
    cat >"$wrapper" <<WRAPPER
#!/bin/sh
if [ "\$1" = --version ]; then "$zeroflow" --version | sed 's/^zeroflow/zeroflow-$command/'; exit; fi
exec "$zeroflow" $command "\$@"
WRAPPER
    chmod +x "$wrapper"
    help2man --no-info --section 1 --name "${names[$command]}" \
        --output "$out/zeroflow-$command.1" "$wrapper"
done
