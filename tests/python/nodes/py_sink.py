# Receives py_source.py's stream and checks each message: dtype, shape, payload, metadata.
import numpy as np

import common
from zeroflow import Node

common.register()
node = Node()


def expected(k):
    form = k % 7
    if form == 0:
        return (np.float32, (2, 3, 4), (k + np.arange(24, dtype=np.float32)).reshape(2, 3, 4),
                {"frame": k, "flag": k % 2 == 0, "scale": k * 0.5, "name": f"n{k}",
                 "ints": [1, -2, k], "floats": [0.5, float(k)], "strs": ["x", str(k)],
                 "np_int": k, "encoding": "f32-cube"})
    if form == 1:
        return np.uint8, (10,), np.full(10, k % 256, np.uint8), {"frame": k}
    if form == 2:
        return np.uint8, (5,), np.arange(k % 200, k % 200 + 5).astype(np.uint8), {}
    if form == 3:
        return np.uint8, (3,), np.arange(3, dtype=np.uint8), {"frame": k}
    if form == 4:
        return np.int64, (3,), np.array([k, k + 1, k + 2]), {"frame": k}
    if form == 5:
        return np.int16, (3, 2), np.arange(6, dtype=np.int16).reshape(2, 3).T * k, {}
    return (np.uint16, (3, 4), np.arange(12, dtype=np.uint16).reshape(3, 4) * k,
            {"frame": k, "encoding": "mono16"})


count = verified = 0
first = ""
types = []
for event in node:
    types.append(event["type"])
    if event["type"] != "INPUT":
        continue
    count += 1
    k = count  # discarded loans never arrive, so message k is the k-th event
    dtype, shape, payload, meta = expected(k)
    v = event["value"]
    ok = (v.dtype == dtype and v.shape == shape and np.array_equal(v, payload)
          and event["metadata"] == meta and event["sequence"] == k and common.in_segment(v))
    verified += ok
    if not ok and not first:
        first = f"message {k}: {v.dtype} {v.shape} {v.tolist()} {event['metadata']}"
common.report(node.id, {"count": count, "verified": verified, "first_mismatch": first,
                        "events": types[-3:]})
