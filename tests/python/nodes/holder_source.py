# Sends two 4 KiB messages on an output of two chunks, waits until the sink holds both, checks
# that a third loan fails (pool_exhausted), then retries until the sink's release brings a chunk
# back and sends the third.
import os
import time

import common
import zeroflow
from zeroflow import Node

common.register()
node = Node()


def send(k):
    with node.loan("out", shape=(4096,), dtype="uint8", metadata={"k": k}) as buf:
        buf[:] = k


def wait_for(name, limit=30):
    deadline = time.monotonic() + limit
    while not os.path.exists(os.path.join(common.reports_dir(), name + ".json")):
        if time.monotonic() > deadline:
            raise SystemExit(f"{name} never came")
        node.next(timeout=0.01)


send(1)
send(2)
wait_for("holding")
kind = ""
try:
    send(3)
except zeroflow.Error as e:
    kind = e.kind
common.report("exhausted", {"kind": kind})
recovered = False
deadline = time.monotonic() + 30
while not recovered and time.monotonic() < deadline:
    try:
        send(3)
        recovered = True
    except zeroflow.Error as e:
        assert e.kind == "pool_exhausted", e
        time.sleep(0.01)
common.report(node.id, {"exhausted_kind": kind, "recovered": recovered})
