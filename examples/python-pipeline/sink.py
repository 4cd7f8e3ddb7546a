# python-pipeline/sink: the filter's summaries (end-to-end latency camera -> filter -> sink) and
# the raw frames (read where they lie in shared memory). Prints fps, latency and drops every
# second and a summary line at the end.
import resource
import time

import numpy as np

from zeroflow import Node

SUMMARY = np.dtype([("frame", "<u8"), ("capture_ns", "<u8"), ("filter_ns", "<u8"),
                    ("mean", "<f8")])  # sensor_pipeline::Summary


def in_shared_memory(array):
    address = array.__array_interface__["data"][0]
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            if lo <= address < hi:
                return len(fields) > 5 and ("/dev/shm/" in fields[5] or "memfd:" in fields[5])
    return False


node = Node()
latencies, all_latencies = [], []
frames = images = summary_gaps = image_gaps = zero_copy = 0
last_frame = last_image = 0
started = None  # the first summary's arrival: fps counts from there, not from start-up
window = time.monotonic()
checked_zero_copy = False
for event in node:
    if event["type"] != "INPUT":
        continue
    now = time.monotonic_ns()
    if event["id"] == "summary":
        s = np.frombuffer(event["value"], dtype=SUMMARY)[0]
        latencies.append((now - int(s["capture_ns"])) / 1000)
        if last_frame and s["frame"] != last_frame + 1:
            summary_gaps += int(s["frame"] - last_frame - 1)
        last_frame = int(s["frame"])
        frames += 1
        if started is None:
            started = time.monotonic()
    else:
        image = event["value"]  # (height, width, channels) uint8, read-only, in shared memory
        header = image.reshape(-1)[:32].view(np.uint64)
        if last_image and header[0] != last_image + 1:
            image_gaps += int(header[0] - last_image - 1)
        last_image = int(header[0])
        images += 1
        if not checked_zero_copy:
            zero_copy = in_shared_memory(image)
            checked_zero_copy = True
    if time.monotonic() - window >= 1.0 and latencies:
        lat = np.array(latencies)
        print(f"sink: fps={len(latencies) / (time.monotonic() - window):.1f} "
              f"latency_p50_us={np.percentile(lat, 50):.1f} "
              f"latency_p99_us={np.percentile(lat, 99):.1f} "
              f"drops={node.dropped('summary') + node.dropped('image')}")
        all_latencies += latencies
        latencies = []
        window = time.monotonic()
all_latencies += latencies
elapsed = time.monotonic() - started if started is not None else 0.0
lat = np.array(all_latencies) if all_latencies else np.zeros(1)
print(f"sink: frames={frames} fps={(frames - 1) / elapsed if elapsed > 0 else 0:.1f} "
      f"latency_p50_us={np.percentile(lat, 50):.1f} latency_p99_us={np.percentile(lat, 99):.1f} "
      f"summary_gaps={summary_gaps} dropped_summary={node.dropped('summary')}")
print(f"sink: details: image_frames={images} image_gaps={image_gaps} "
      f"dropped_image={node.dropped('image')} zero_copy={'yes' if zero_copy else 'no'}")
usage = resource.getrusage(resource.RUSAGE_SELF)
print(f"sink: cpu_user_us={int(usage.ru_utime * 1e6)} cpu_sys_us={int(usage.ru_stime * 1e6)}")
