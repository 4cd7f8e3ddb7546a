# Fixtures of the Python node tests: each test gets its own runtime and dataflow folders, runs the
# real `zeroflow` binary (real daemon, real node processes) and, afterwards, asserts that none of
# its node processes, daemons or shared-memory segments remain.
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
NODES = HERE / "nodes"
CLI = os.environ.get("ZEROFLOW_CLI", "zeroflow")
TEST_NODE = os.environ.get("ZEROFLOW_TEST_NODE", "zeroflow_test_node")


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def segments(uid=os.getuid()):
    """This user's zeroflow segments in /dev/shm."""
    return {p.name for p in Path("/dev/shm").glob(f"zeroflow-{uid}-*")}


class Flow:
    """One test's folders and its way of running `zeroflow`."""

    def __init__(self, root: Path):
        self.root = root
        self.rt = root / "rt"
        self.pids = root / "pids"
        self.reports = root / "reports"
        for d in (self.pids, self.reports):
            d.mkdir(parents=True)
        self.env = dict(os.environ, ZEROFLOW_RUNTIME_DIR=str(self.rt))
        self.daemons = set()

    def report(self, name):
        path = self.reports / f"{name}.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def write(self, name, nodes, extra=""):
        """Writes `name`.yml; `nodes` maps id -> dict(path=, args=[], inputs={}, outputs=[]).
        A path ending in .py names a script of tests/python/nodes (run as a .py node)."""
        lines = ["nodes:"]
        for node_id, spec in nodes.items():
            path = spec["path"]
            if path.endswith(".py"):
                shutil.copy(NODES / path, self.root / path)  # plain file: no executable bit
                os.chmod(self.root / path, 0o644)
            elif path == "test_node":
                path = TEST_NODE
            lines.append(f"  - id: {node_id}")
            lines.append(f"    path: {json.dumps(path)}")
            if spec.get("args"):
                lines.append(f"    args: {json.dumps([str(a) for a in spec['args']])}")
            lines.append("    env:")
            lines.append(f"      ZF_TEST_PID_DIR: {json.dumps(str(self.pids))}")
            lines.append(f"      ZF_TEST_REPORTS: {json.dumps(str(self.reports))}")
            lines.append(f"      PYTHONPATH: {json.dumps(str(NODES))}")
            if spec.get("inputs"):
                lines.append("    inputs:")
                for i, source in spec["inputs"].items():
                    lines.append(f"      {i}: {source}")
            if spec.get("outputs"):
                lines.append(f"    outputs: {json.dumps(spec['outputs'])}")
        path = self.root / f"{name}.yml"
        path.write_text("\n".join(lines) + "\n" + extra)
        return path

    def zeroflow(self, *args, timeout=120):
        return subprocess.run([CLI, *map(str, args)], env=self.env, capture_output=True,
                              text=True, timeout=timeout)

    def run(self, name, nodes, extra="", timeout=120, check=True):
        result = self.zeroflow("run", self.write(name, nodes, extra), timeout=timeout)
        if check:
            assert result.returncode == 0, result.stdout + result.stderr + self.logs()
        return result

    def logs(self):
        return "".join(f"\n--- {p.name}:\n{p.read_text()}" for p in self.root.glob("out/*/log_*.txt"))

    def up(self):
        result = self.zeroflow("up")
        assert result.returncode == 0, result.stderr
        self.daemons.add(int((self.rt / "daemon.lock").read_text().strip()))

    def node_pids(self):
        return {int(p.name) for p in self.pids.iterdir()}


@pytest.fixture
def flow():
    before = segments()
    root = Path(tempfile.mkdtemp(prefix="zfpy-"))  # short: the socket path has a length limit
    f = Flow(root)
    yield f
    if f.daemons:
        f.zeroflow("destroy", "--grace", "1", timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (
            any(alive(p) for p in f.node_pids() | f.daemons) or segments() - before):
        time.sleep(0.05)
    left = [p for p in f.node_pids() | f.daemons if alive(p)]
    stale = segments() - before
    for p in left:  # only what this test started, by pid
        os.kill(p, signal.SIGKILL)
    shutil.rmtree(root, ignore_errors=True)
    assert not left, f"processes left behind: {left}"
    assert not stale, f"segments left in /dev/shm: {stale}"
