# Sends a counter (int64 array) every 10 ms until Stop.
import numpy as np

import common
from zeroflow import Node

common.register()
node = Node()
k = 0
while True:
    event = node.next(timeout=0.01)
    if event is not None and event["type"] == "STOP":
        break
    k += 1
    node.send_output("out", np.array([k, k * k]), {"k": k})
