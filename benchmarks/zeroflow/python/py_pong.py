# py_pong: echoes every message of `ping` on `pong` (same size, same 8-byte header, loaned; the
# received message is released before the reply is loaned, as zf_pong does). Ends when ping
# leaves.
import struct

from zeroflow import Node

node = Node()
header = struct.Struct("=q")
for event in node:
    if event["type"] != "INPUT":
        continue
    value = event["value"]
    size = value.shape
    echoed = header.unpack_from(value)[0]
    del value, event
    with node.loan("pong", size, "bytes") as buf:
        header.pack_into(buf, 0, echoed)
