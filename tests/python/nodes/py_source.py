# A Python source of every kind of message: numpy arrays of several dtypes and shapes (one not
# contiguous), bytes, bytearray, memoryview, a list, and loans; metadata of every kind. Before
# each message it also opens a loan and raises inside it: that one must never arrive.
import sys
import time

import numpy as np

import common
import zeroflow
from zeroflow import Node

common.register()
count = int(sys.argv[1])
node = Node()
discarded = 0


def message(k):
    """(how it is sent, data, metadata) of message k; py_sink.py knows the same table."""
    form = k % 7
    if form == 0:
        return "array", (k + np.arange(24, dtype=np.float32)).reshape(2, 3, 4), {
            "frame": k, "flag": k % 2 == 0, "scale": k * 0.5, "name": f"n{k}",
            "ints": [1, -2, k], "floats": [0.5, float(k)], "strs": ["x", str(k)],
            "np_int": np.int64(k), "encoding": "f32-cube"}
    if form == 1:
        return "array", bytes([k % 256]) * 10, {"frame": k}
    if form == 2:
        return "array", bytearray(range(k % 200, k % 200 + 5)), {}
    if form == 3:
        return "array", memoryview(bytes(range(3))), {"frame": k}
    if form == 4:
        return "array", [k, k + 1, k + 2], {"frame": k}
    if form == 5:
        return "array", np.arange(6, dtype=np.int16).reshape(2, 3).T * k, {}  # not contiguous
    return "loan", None, {"frame": k, "encoding": "mono16"}


def patiently(action):
    """Runs action(), retrying while the 4-chunk pool is in flight (a slow sink)."""
    for _ in range(10000):
        try:
            return action()
        except zeroflow.Error as e:
            if e.kind != "pool_exhausted":
                raise
            time.sleep(0.001)
    raise SystemExit("the pool never came back")


def doomed_loan():
    try:
        with node.loan("out", shape=(16,), dtype="uint8") as doomed:
            doomed[:] = 0xEE
            raise RuntimeError("discard me")
    except RuntimeError:
        return 1


def send_loan(meta, k):
    with node.loan("out", shape=(3, 4), dtype=np.uint16, metadata=meta) as buf:
        buf[...] = np.arange(12, dtype=np.uint16).reshape(3, 4) * k
    return buf


for event_count in range(count):
    k = event_count + 1
    discarded += patiently(doomed_loan)
    how, data, meta = message(k)
    if how == "array":
        patiently(lambda: node.send_output("out", data, meta))
    else:
        buf = patiently(lambda: send_loan(meta, k))
        try:
            buf[0, 0] = 1  # the chunk was sent: the array is read-only now
            common.report("write_after_send", {"raised": False})
        except ValueError:
            common.report("write_after_send", {"raised": True})
    event = node.next(timeout=0.001)
    if event is not None and event["type"] == "STOP":
        break
common.report(node.id, {"sent": count, "discarded": discarded})
