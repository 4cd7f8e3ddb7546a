# python-pipeline/camera: one frame per tick, written by numpy straight into a loan of shared
# memory (no copy on the way to the filter and the sink). The first 32 bytes of every frame are
# the sensor pipeline's FrameHeader (frame, width, height, channels, capture time), so the C++
# filter of examples/sensor-pipeline reads these frames as it reads the C++ camera's.
#
#   args: [--width W] [--height H] [--channels C] [--touch full|row]   (default 1280 720 3 full)
#   --touch row writes one moving row per frame instead of every byte (the 1 kHz benchmark: the
#   producer's own pixel work is not what it measures).
import argparse
import resource
import time

import numpy as np

from zeroflow import Node

parser = argparse.ArgumentParser()
parser.add_argument("--width", type=int, default=1280)
parser.add_argument("--height", type=int, default=720)
parser.add_argument("--channels", type=int, default=3)
parser.add_argument("--touch", choices=["full", "row"], default="full")
args = parser.parse_args()

node = Node()
shape = (args.height, args.width, args.channels)
gradient = (np.arange(args.width, dtype=np.uint16) * 255 // max(args.width - 1, 1)).astype(np.uint8)
frame = 0
failed = 0
for event in node:
    if event["type"] != "INPUT" or event["id"] != "tick":
        continue
    frame += 1
    try:
        with node.loan("image", shape=shape, dtype="uint8",
                       metadata={"encoding": "rgb8" if args.channels == 3 else "mono8",
                                 "frame": frame}) as buf:
            if args.touch == "full":
                buf[...] = (gradient + frame % 256).astype(np.uint8)[None, :, None]
            else:
                buf[frame % args.height, :, :] = frame % 256
            header = buf.reshape(-1)[:32].view(np.uint64)  # the FrameHeader, in place
            header[0] = frame
            header[1] = args.width | (args.height << 32)
            header[2] = args.channels
            header[3] = time.monotonic_ns()  # CLOCK_MONOTONIC, as the C++ nodes use
    except Exception as e:  # zeroflow.Error: pool_exhausted when the receivers hold every chunk
        failed += 1
        if failed <= 3:
            print(f"camera: frame {frame}: {e}")
usage = resource.getrusage(resource.RUSAGE_SELF)
print(f"camera: sent={frame - failed} failed={failed} ticks_dropped={node.dropped('tick')}")
print(f"camera: cpu_user_us={int(usage.ru_utime * 1e6)} cpu_sys_us={int(usage.ru_stime * 1e6)}")
