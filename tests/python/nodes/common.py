# Shared by the test nodes: pid registration (the tests check that none survives), reports, and
# the typed message stream of the C++ test node (typed_source / typed_sink), recomputed in Python.
import json
import os

import numpy as np

MASK = (1 << 64) - 1


def register():
    d = os.environ.get("ZF_TEST_PID_DIR")
    if d:
        open(os.path.join(d, str(os.getpid())), "w").close()


def report(name, data):
    path = os.path.join(os.environ["ZF_TEST_REPORTS"], name + ".json")
    with open(path + ".tmp", "w") as f:
        json.dump(data, f)
    os.replace(path + ".tmp", path)


def reports_dir():
    return os.environ["ZF_TEST_REPORTS"]


def fill(seq, seed, n):
    """test_node.cpp's fill(): the sequence number, then xorshift bytes."""
    state = ((seed * 0x9E3779B97F4A7C15) & MASK) ^ (seq + 1)
    out = bytearray(n)
    for i in range(n):
        if i < 8:
            out[i] = (seq >> (8 * i)) & 0xFF
            continue
        state ^= (state << 13) & MASK
        state ^= state >> 7
        state ^= (state << 17) & MASK
        out[i] = state & 0xFF
    return bytes(out)


def typed_expected(k):
    """(dtype, shape, metadata, payload) of message k of typed_source."""
    if k % 3 == 1:
        return np.uint8, (15,), {}, np.frombuffer(fill(k, 3, 15), dtype=np.uint8)
    if k % 3 == 2:
        payload = ((k + np.arange(60)) % 256).astype(np.uint8).reshape(4, 5, 3)
        return np.uint8, (4, 5, 3), {"frame": k, "camera": "front", "encoding": "rgb8"}, payload
    payload = (k * 100 + np.arange(24)).astype(np.float32).reshape(2, 3, 4)
    meta = {"frame": k, "flag": k % 2 == 0, "scale": k * 0.5, "name": f"f{k}",
            "dims": [2, 3, 4], "gains": [float(k), -0.25 * k], "tags": ["a", f"b{k}"]}
    return np.float32, (2, 3, 4), meta, payload


def segment_mapping(address):
    """The /proc/self/maps line of the shared mapping that holds `address`, or None."""
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            if lo <= address < hi:
                return line.strip()
    return None


def in_segment(array):
    """True when the array's data lies in a zeroflow shared-memory mapping of this process."""
    line = segment_mapping(array.__array_interface__["data"][0])
    if line is None:
        return False
    fields = line.split()
    path = fields[5] if len(fields) > 5 else ""
    shared = fields[1][3] == "s"
    return shared and ("/dev/shm/zeroflow-" in path or path.startswith("/memfd:"))
