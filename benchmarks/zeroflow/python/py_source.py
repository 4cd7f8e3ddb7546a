# py_source: the sending side of a Python one-way point (zf_source's loop, in Python). Stamps
# CLOCK_MONOTONIC before the loan (as zf_source does), loans a message of --size bytes on `data`,
# writes the stamp into its first 8 bytes, sends it, and waits for the acknowledgement on `ack`,
# which carries the one-way latency the receiver measured (receive - stamp, ns). One message in
# flight; with --acks N (fan-out) the slowest of the N receivers counts. Appends one JSON line (p50/p90/p99/p99.9/max in µs) to --results and exits.
import argparse
import json
import struct
import time

import numpy as np

from zeroflow import Node

parser = argparse.ArgumentParser()
parser.add_argument("--size", type=int, required=True)
parser.add_argument("--samples", type=int, default=2000)
parser.add_argument("--warmup", type=int, default=200)
parser.add_argument("--mode", default="blocking")
parser.add_argument("--pair", default="py-py")
parser.add_argument("--acks", type=int, default=1)  # receivers (fan-out): the slowest counts
parser.add_argument("--results", required=True)
args = parser.parse_args()

node = Node()
clock = time.monotonic_ns
header = struct.Struct("=q")  # the 8-byte stamp, native byte order as the C++ nodes write it
size = (args.size,)
latencies = np.empty(args.samples, dtype=np.int64)
for i in range(args.warmup + args.samples):
    t0 = clock()
    with node.loan("data", size, "bytes") as buf:
        header.pack_into(buf, 0, t0)
    latency = 0
    for _ in range(args.acks):
        ack = node.next()
        if ack is None or ack["type"] != "INPUT":
            raise SystemExit(f"py_source: a missing acknowledgement ({ack})")
        latency = max(latency, header.unpack_from(ack["value"])[0])
        del ack
    if i >= args.warmup:
        latencies[i - args.warmup] = latency
us = latencies / 1000.0
line = {"system": "zeroflow-python", "pair": args.pair,
        "pattern": "oneway" if args.acks == 1 else f"fanout-{args.acks}", "mode": args.mode,
        "size": args.size, "samples": args.samples,
        **{f"p{k}_us": round(float(np.percentile(us, q)), 2)
           for k, q in (("50", 50), ("90", 90), ("99", 99), ("999", 99.9))},
        "max_us": round(float(us.max()), 2)}
with open(args.results, "a") as f:
    f.write(json.dumps(line) + "\n")
