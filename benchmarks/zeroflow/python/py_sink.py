# py_sink: the receiving end of a Python one-way point (zf_sink's loop, in Python). For every
# message on `data`: reads the stamp in its first 8 bytes from the numpy view, takes
# CLOCK_MONOTONIC, releases the message and acknowledges on `ack` with the one-way latency
# (now - stamp) as an int64. Ends when the source leaves.
import struct
import time

from zeroflow import Node

node = Node()
clock = time.monotonic_ns
header = struct.Struct("=q")
for event in node:
    if event["type"] != "INPUT":
        continue
    latency = clock() - header.unpack_from(event["value"])[0]
    del event
    node.send_output("ack", header.pack(latency))
