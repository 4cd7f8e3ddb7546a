# py_ping: the measuring side of a Python ping-pong point (zf_ping's loop, in Python). Loans a
# message of --size bytes on `ping`, writes the 8-byte timestamp header into it (transport
# touch), sends it, waits for the echo on `pong`, reads its header and drops it; one-way latency
# = round trip / 2. Appends one JSON line (p50/p90/p99 in µs) to --results and exits.
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
parser.add_argument("--pair", default="python-python")
parser.add_argument("--results", required=True)
args = parser.parse_args()

node = Node()
clock = time.monotonic_ns
header = struct.Struct("=q")  # the 8-byte header, native byte order as the C++ nodes write it
size = (args.size,)
latencies = np.empty(args.samples, dtype=np.int64)
for i in range(args.warmup + args.samples):
    t0 = clock()
    with node.loan("ping", size, "bytes") as buf:
        header.pack_into(buf, 0, t0)
    event = node.next()
    if event is None or event["type"] != "INPUT":
        raise SystemExit(f"py_ping: no echo from pong ({event})")
    echoed = header.unpack_from(event["value"])[0]
    del event
    if echoed != t0:
        raise SystemExit(f"py_ping: the echo carried {echoed}, not the {t0} it was sent")
    t1 = clock()
    if i >= args.warmup:
        latencies[i - args.warmup] = (t1 - t0 + 1) // 2
us = latencies / 1000.0
line = {"system": "zeroflow-python", "pair": args.pair, "pattern": "pingpong", "mode": args.mode,
        "size": args.size, "samples": args.samples,
        "p50_us": round(float(np.percentile(us, 50)), 2),
        "p90_us": round(float(np.percentile(us, 90)), 2),
        "p99_us": round(float(np.percentile(us, 99)), 2),
        "p999_us": round(float(np.percentile(us, 99.9)), 2),
        "max_us": round(float(us.max()), 2)}
with open(args.results, "a") as f:
    f.write(json.dumps(line) + "\n")
