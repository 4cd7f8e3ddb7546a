# Receives typed_source's stream (C++), checks every message against what it must be (dtype,
# shape, metadata, payload; a read-only view inside the segment), and relays it unchanged to
# a C++ typed_sink: untyped messages as bytes, typed ones as arrays with their metadata.
import sys

import numpy as np

import common
from zeroflow import Node

common.register()
node = Node()
count = verified = zero_copy = read_only = 0
first = ""
for event in node:
    if event["type"] != "INPUT":
        continue
    count += 1
    k = event["sequence"]
    value = event["value"]
    dtype, shape, meta, payload = common.typed_expected(k)
    problem = ""
    if value.dtype != dtype or value.shape != shape:
        problem = f"message {k}: {value.dtype} {value.shape}"
    elif not np.array_equal(value, payload):
        problem = f"message {k}: payload differs"
    elif event["metadata"] != meta or list(event["metadata"]) != list(meta):
        problem = f"message {k}: metadata {event['metadata']} != {meta}"
    if not problem:
        verified += 1
    elif not first:
        first = problem
    zero_copy += common.in_segment(value)
    try:
        value[0] = 1
    except ValueError:
        try:
            value.setflags(write=True)
        except ValueError:
            read_only += 1
    if k % 3 == 1:
        node.send_output("out", memoryview(value))  # untyped stays untyped
    else:
        node.send_output("out", value, event["metadata"])
common.report(node.id, {"count": count, "verified": verified, "zero_copy": zero_copy,
                        "read_only": read_only, "first_mismatch": first,
                        "dropped": node.dropped("in")})
print(f"relay: relayed {count}")  # stdout and stderr land in the node's log
print("relay: on stderr", file=sys.stderr)
