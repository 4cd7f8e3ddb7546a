# py_pong: echoes every message of `ping` on `pong` (same size, same 8-byte header, loaned; the
# received message is released before the reply is loaned, as zf_pong does). Ends when ping
# leaves.
import numpy as np

from zeroflow import Node

node = Node()
for event in node:
    if event["type"] != "INPUT":
        continue
    value = event["value"]
    size = value.shape[0]
    header = value[:8].copy()
    del value, event
    with node.loan("pong", shape=(size,), dtype="bytes") as buf:
        buf[:8] = header
