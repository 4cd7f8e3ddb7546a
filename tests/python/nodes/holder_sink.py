# Holds views of its messages past their events, past Stop and past `del node`, and checks they
# still read right; releasing one lets holder_source.py loan again.
import gc
import os
import time

import numpy as np

import common
from zeroflow import Node

common.register()
node = Node()
views = []
for event in node:
    if event["type"] == "INPUT":
        views.append(event["value"][1:])  # a derived view only: the Event object goes away
    if len(views) == 2:
        break
del event
gc.collect()
held_ok = [bool((v == k + 1).all()) for k, v in enumerate(views)]
common.report("holding", {})
deadline = time.monotonic() + 30
while not os.path.exists(os.path.join(common.reports_dir(), "exhausted.json")):
    assert time.monotonic() < deadline
    time.sleep(0.01)
del views[0]  # message 1's chunk goes back to the source now
third = node.next(timeout=30)
v3 = third["value"]
third_ok = bool((v3 == 3).all()) and third["metadata"] == {"k": 3}
del third
kinds = [event["type"] for event in node]  # to the end of the stream
after_stop_ok = bool((views[0] == 2).all() and (v3 == 3).all())
address = v3.__array_interface__["data"][0]
del node
gc.collect()
after_del_ok = bool((views[0] == 2).all() and (v3 == 3).all()) and common.in_segment(v3)
del v3, views
gc.collect()
unmapped = common.segment_mapping(address) is None  # the last view took the mapping with it
common.report("sink", {"held_ok": held_ok, "third_ok": third_ok, "kinds": kinds,
                       "after_stop_ok": after_stop_ok, "after_del_ok": after_del_ok,
                       "unmapped": unmapped})
