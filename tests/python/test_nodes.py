# Python nodes against the real daemon: C++ <-> Python and Python <-> Python streams byte-exact
# with dtype, shape and metadata; loans; views that outlive their event, Stop and the node;
# read-only views inside the segment (zero-copy by address); dynamic-node errors; Ctrl-C.
import gc
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from conftest import NODES

import zeroflow  # noqa: E402  (PYTHONPATH: the build tree's module)

sys.path.insert(0, str(NODES))
import common  # noqa: E402


def test_cpp_to_python_to_cpp_is_byte_exact_with_types_shapes_and_metadata(flow):
    flow.run("typed", {
        "source": {"path": "test_node", "outputs": ["out"],
                   "args": ["typed_source", "--count", "90", "--period-us", "2000",
                            "--report", flow.reports / "source.txt"]},
        "relay": {"path": "typed_relay.py", "outputs": ["out"],
                  "inputs": {"in": "{source: source/out, queue_size: 1024}"}},
        "sink": {"path": "test_node", "inputs": {"in": "{source: relay/out, queue_size: 1024}"},
                 "args": ["typed_sink", "--report", flow.reports / "sink.txt"]},
    })
    relay = flow.report("relay")
    assert relay["count"] == 90
    assert relay["verified"] == 90, relay["first_mismatch"]
    assert relay["zero_copy"] == 90  # every view lay inside the dataflow's segment
    assert relay["read_only"] == 90  # writing raised, and so did making it writeable
    assert relay["dropped"] == 0
    sink = dict(line.split("=", 1) for line in
                (flow.reports / "sink.txt").read_text().splitlines())
    assert sink["count"] == "90"
    assert sink["verified"] == "90", sink["first_mismatch"]  # what Python sent, C++ checked
    log = next(flow.root.glob("out/*/log_relay.txt")).read_text()
    assert "relay: relayed 90\n" in log and "relay: on stderr\n" in log


def test_python_to_python_arrays_bytes_lists_and_loans_with_metadata(flow):
    flow.run("pypy", {
        "source": {"path": "py_source.py", "args": [70], "outputs": ["out"]},
        "sink": {"path": "py_sink.py",
                 "inputs": {"in": "{source: source/out, queue_size: 1024}"}},
    }, extra="shm:\n  source/out: {chunks: 4}\n")
    source, sink = flow.report("source"), flow.report("sink")
    assert source == {"sent": 70, "discarded": 70}
    # 70 discarded loans on a 4-chunk pool: each went back, and none arrived.
    assert sink["count"] == 70
    assert sink["verified"] == 70, sink["first_mismatch"]
    assert sink["events"] == ["INPUT_CLOSED", "ALL_INPUTS_CLOSED", "STOP"]
    assert flow.report("write_after_send") == {"raised": True}
    # The scripts are plain 0644 files: `check` finds nothing wrong with them.
    assert not os.access(flow.root / "py_source.py", os.X_OK)
    checked = flow.zeroflow("check", flow.root / "pypy.yml")
    assert checked.returncode == 0 and "ok" in checked.stdout, checked.stdout + checked.stderr
    assert "warning" not in checked.stdout + checked.stderr


def test_views_outlive_their_event_stop_and_node_and_release_their_chunk_when_they_die(flow):
    flow.run("hold", {
        "holder_source": {"path": "holder_source.py", "outputs": ["out"]},
        "sink": {"path": "holder_sink.py", "inputs": {"in": "holder_source/out"}},
    }, extra="shm:\n  holder_source/out: {max_message_size: 4KiB, chunks: 2}\n")
    source, sink = flow.report("holder_source"), flow.report("sink")
    assert sink["held_ok"] == [True, True]
    assert source["exhausted_kind"] == "pool_exhausted"  # both chunks held by views
    assert source["recovered"] is True  # deleting one view gave its chunk back
    assert sink["third_ok"] is True
    assert sink["kinds"] == ["INPUT_CLOSED", "ALL_INPUTS_CLOSED", "STOP"]
    assert sink["after_stop_ok"] is True
    assert sink["after_del_ok"] is True
    assert sink["unmapped"] is True


def start_dynamic(flow):
    flow.up()
    path = flow.write("dyn", {
        "ticker": {"path": "ticker.py", "outputs": ["out"]},
        "viewer": {"path": "dynamic", "inputs": {"in": "ticker/out"}},
        "idle": {"path": "dynamic"},
    })
    started = flow.zeroflow("start", path, "--name", "dyn")
    assert started.returncode == 0, started.stderr + flow.logs()
    os.environ["ZEROFLOW_RUNTIME_DIR"] = str(flow.rt)
    return started.stdout.strip().splitlines()[0]


def test_dynamic_node_errors_are_zeroflow_errors_with_their_kind(flow):
    start_dynamic(flow)
    with pytest.raises(zeroflow.Error) as e:
        zeroflow.Node("ticker")
    assert e.value.kind == "node_not_dynamic"
    assert "is not dynamic" in str(e.value)
    with pytest.raises(zeroflow.Error) as e:
        zeroflow.Node("nope")
    assert e.value.kind == "no_such_node"
    with pytest.raises(zeroflow.Error) as e:
        zeroflow.Node("viewer", dataflow="no-such-flow")
    assert e.value.kind == "no_such_dataflow"
    node = zeroflow.Node("viewer", dataflow="dyn")
    assert (node.id, node.inputs(), node.outputs()) == ("viewer", ["in"], [])
    with pytest.raises(zeroflow.Error) as e:
        node.send_output("nope", b"x")
    assert e.value.kind == "invalid_argument" and "no output 'nope'" in str(e.value)
    with pytest.raises(zeroflow.Error) as e:
        node.dropped("typo")
    assert e.value.kind == "invalid_argument"
    event = node.next(timeout=10)
    assert event["type"] == "INPUT" and event["id"] == "in"
    k = event["metadata"]["k"]
    value = event["value"]
    assert value.tolist() == [k, k * k] and value.dtype == np.int64
    assert common.in_segment(value)
    assert abs(event["timestamp"] - time.time_ns()) < 10**9
    address = value.__array_interface__["data"][0]
    del node, event
    gc.collect()
    assert value.tolist() == [k, k * k]  # still mapped: the view holds it
    del value
    gc.collect()
    assert common.segment_mapping(address) is None


def test_ctrl_c_in_a_foreground_python_node_raises_keyboard_interrupt_and_leaves_cleanly(flow):
    start_dynamic(flow)
    script = ("import zeroflow\n"
              "node = zeroflow.Node('idle')\n"
              "try:\n"
              "    print('ready', flush=True)\n"
              "    node.next()\n"
              "except KeyboardInterrupt:\n"
              "    print('interrupted', flush=True)\n")
    child = subprocess.Popen([sys.executable, "-c", script], env=dict(os.environ),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    (flow.pids / str(child.pid)).touch()
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.3)  # it is inside next() now, waiting with the GIL released
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    assert time.monotonic() - sent < 2
    assert "interrupted" in out, err
    assert child.returncode == 0, err
    # It left: the same dynamic node connects again (not node_already_connected).
    again = zeroflow.Node("idle")
    assert again.id == "idle"


def test_a_dead_daemon_gives_a_python_node_an_error_event_then_stop(flow):
    start_dynamic(flow)
    node = zeroflow.Node("idle")
    daemon = next(iter(flow.daemons))
    os.kill(daemon, signal.SIGKILL)  # the daemon this test started
    event = node.next(timeout=10)
    assert event is not None and event["type"] == "ERROR", event
    assert "lost the connection to the zeroflow daemon" in event["error"]
    assert node.next(timeout=10)["type"] == "STOP"
    assert node.next(timeout=0.1) is None  # the stream has ended
    del node, event
    gc.collect()
    # The ticker noticed too and exited; a new daemon of this runtime directory removes the
    # dead one's segment (the fixture then checks that nothing is left).
    flow.daemons.discard(daemon)
    flow.up()


def test_zeroflow_new_python_project_runs_as_printed(flow):
    # As a new user: `zeroflow new` writes the project and prints the command that runs it.
    created = flow.zeroflow("new", flow.root / "robot", "--lang", "python")
    assert created.returncode == 0, created.stderr
    assert "zeroflow run dataflow.yml --stop-after 3s" in created.stdout, created.stdout
    for name in ("dataflow.yml", "talker.py", "listener.py"):
        assert (flow.root / "robot" / name).is_file(), name
    ran = flow.zeroflow("run", flow.root / "robot" / "dataflow.yml", "--stop-after", "2s")
    assert ran.returncode == 0, ran.stdout + ran.stderr + flow.logs()
    assert "talker   | sent hello #1" in ran.stdout, ran.stdout
    assert "listener | heard 'hello #1'" in ran.stdout, ran.stdout
    heard = re.search(r"listener \| heard (\d+) greetings", ran.stdout)
    assert heard and int(heard.group(1)) >= 5, ran.stdout  # 10 Hz for 2 s, minus start-up
    assert "warning" not in ran.stderr, ran.stderr


def start_loop(flow, extra=""):
    """A dataflow of two dynamic nodes, src/out -> dst/in, both connected by this process."""
    flow.up()
    path = flow.write("loop", {
        "src": {"path": "dynamic", "outputs": ["out"]},
        "dst": {"path": "dynamic", "inputs": {"in": "src/out"}},
    }, extra=extra)
    started = flow.zeroflow("start", path, "--name", "loop")
    assert started.returncode == 0, started.stderr + flow.logs()
    os.environ["ZEROFLOW_RUNTIME_DIR"] = str(flow.rt)


def test_a_node_with_a_thread_waiting_in_next_exits_cleanly_holding_views_and_loans(flow):
    # A receiver thread (daemon) inside next() when the main thread ends: the interpreter ends
    # that thread as it takes the GIL back, which must not abort the process (it did: SIGABRT,
    # "terminate called without an active exception"), nor hang on the node's lock. The held
    # loan and error keep the exit's clean-up going while the thread wakes (the abort was 3 of 3).
    start_loop(flow)
    script = ("import threading, time, numpy as np, zeroflow\n"
              "src, dst = zeroflow.Node('src'), zeroflow.Node('dst')\n"
              "src.send_output('out', np.arange(4), {'k': 1})\n"
              "event = dst.next(timeout=10)\n"
              "value, meta = event['value'], event['metadata']\n"
              "loan = src.loan('out', 8)\n"
              "buf = loan.__enter__()\n"
              "try:\n"
              "    src.send_output('nope', b'')\n"
              "except zeroflow.Error as e:\n"
              "    error = e\n"
              "def receive():\n"
              "    while True:\n"
              "        dst.next()\n"
              "threading.Thread(target=receive, daemon=True).start()\n"
              "time.sleep(0.3)\n"
              "print('bye', flush=True)\n")
    child = subprocess.run([sys.executable, "-c", script], env=dict(os.environ),
                           capture_output=True, text=True, timeout=30)
    assert (child.returncode, child.stdout, child.stderr) == (0, "bye\n", "")


def test_arguments_take_the_documented_types(flow):
    start_loop(flow)
    src, dst = zeroflow.Node("src"), zeroflow.Node("dst")
    with pytest.raises(RuntimeError):
        dst.__init__("dst")  # would free the node under a thread inside next()
    # next(timeout=inf) waits like None (it returned None after 0.1 s); nan is no timeout.
    threading.Timer(0.3, lambda: src.send_output("out", b"late")).start()
    event = dst.next(timeout=float("inf"))
    assert event is not None and bytes(event["value"]) == b"late"
    with pytest.raises(ValueError):
        dst.next(timeout=float("nan"))
    assert dst.next(timeout=1e300 * 0) is None
    with pytest.raises(TypeError):
        dst.dropped(5)  # was RuntimeError "Unable to cast Python instance"
    assert dst.dropped(input_id="in") == 0
    # Shapes: ints, numpy integers (was TypeError / RuntimeError), lists and numpy arrays.
    for shape, expected in [((2, 3), (2, 3)), (np.int64(5), (5,)), ((np.int32(2), 3), (2, 3)),
                            ([4], (4,)), (np.array([2, 2]), (2, 2)), (7, (7,))]:
        with src.loan("out", shape, dtype="float32") as buf:
            assert buf.shape == expected
            buf[...] = 1.5
        got = dst.next(timeout=10)["value"]
        assert got.shape == expected and got.dtype == np.float32 and (got == 1.5).all()
    for shape in (3.0, (2.0,), "ab", {"a": 1}):
        with pytest.raises(TypeError):
            src.loan("out", shape)
    with pytest.raises(ValueError):
        src.loan("out", (-1,))


RECEIVE_ONE = ("import os, threading, time, zeroflow\n"
               "dst = zeroflow.Node('dst')\n"
               "event = dst.next(timeout=10)\n"
               "value = event['value']\n"
               "print('got', bytes(value), flush=True)\n")


def test_a_dynamic_receiver_that_received_and_left_connects_again(flow):
    # `dst` takes a message and leaves (cleanly, with a daemon thread inside next(), or by
    # os._exit); as soon as `src` (connected here) sends or polls once, `dst` connects again.
    # While `src` does neither (this very thread waits in the connect), the connect gives up
    # after the library's 5 s of retries with a kind a user can act on (it read `internal`).
    start_loop(flow)
    src = zeroflow.Node("src")
    endings = ["pass",
               "threading.Thread(target=lambda: dst.next(), daemon=True).start(); time.sleep(0.3)",
               "os._exit(0)"]
    for ending in endings:
        child = subprocess.Popen([sys.executable, "-c", RECEIVE_ONE + ending + "\n"], env=flow.env
                                 | {"ZEROFLOW_RUNTIME_DIR": str(flow.rt)}, stdout=subprocess.PIPE,
                                 text=True)
        deadline = time.monotonic() + 10
        while child.poll() is None and time.monotonic() < deadline:
            src.send_output("out", b"x")
            src.next(timeout=0.05)
        assert child.wait(timeout=5) == 0 and child.stdout.read() == "got b'x'\n", ending
        for _ in range(10):  # the daemon sees the exit a moment later: poll as a node does
            src.send_output("out", b"x")
            src.next(timeout=0.02)
        t0 = time.monotonic()
        dst = zeroflow.Node("dst")
        assert time.monotonic() - t0 < 1, ending
        del dst  # leaves: the next round's child reconnects after src's next poll
        for _ in range(10):
            src.send_output("out", b"x")
            src.next(timeout=0.02)
    src.send_output("out", b"x")  # to dst's connection, which is live again ...
    dst = zeroflow.Node("dst")
    del dst  # ... and dead: src does not poll before the next connect
    t0 = time.monotonic()
    with pytest.raises(zeroflow.Error) as e:
        zeroflow.Node("dst")
    assert e.value.kind == "node_already_connected", e.value
    assert "still being cleaned up by its senders" in str(e.value)
    assert 4 < time.monotonic() - t0 < 10
    src.next(timeout=0.05)
    zeroflow.Node("dst")


def wait_not_connected(flow, node_id):
    """Until `zeroflow list` shows the dynamic node `node_id` as not connected (the daemon saw
    its connection end)."""
    def nodes(j):
        if isinstance(j, dict):
            if "id" in j and "status" in j:
                yield j
            for v in j.values():
                yield from nodes(v)
        elif isinstance(j, list):
            for v in j:
                yield from nodes(v)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        listed = flow.zeroflow("list", "--json")
        if any(n["id"] == node_id and n["status"] == "not connected"
               for n in nodes(json.loads(listed.stdout))):
            return
        time.sleep(0.02)
    raise AssertionError(f"{node_id} still connected: {listed.stdout}")


def test_a_dynamic_receiver_connects_again_while_its_dynamic_sender_is_away_or_back(flow):
    # `src` (a process of its own) sends one message to `dst` and leaves before it reclaimed
    # dst's connection: dst connected again only once src came back and did not even then (a
    # new sender did not acknowledge a dead connection) — it must connect at once, both times.
    start_loop(flow)
    src_script = ("import sys, time, zeroflow\n"
                  "src = zeroflow.Node('src')\n"
                  "print('up', flush=True)\n"
                  "if sys.argv[1] == 'send':\n"
                  "    time.sleep(0.5)\n"
                  "    src.send_output('out', b'x')\n"
                  "sys.stdin.read()\n")
    env = flow.env | {"ZEROFLOW_RUNTIME_DIR": str(flow.rt)}
    src = subprocess.Popen([sys.executable, "-c", src_script, "send"], env=env, text=True,
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert src.stdout.readline() == "up\n"
    dst = subprocess.Popen([sys.executable, "-c", RECEIVE_ONE], env=env, stdout=subprocess.PIPE,
                           text=True)
    assert dst.wait(timeout=10) == 0 and dst.stdout.read() == "got b'x'\n"
    wait_not_connected(flow, "dst")  # src idles (no send, no next) while dst's exit is seen
    src.stdin.close()
    assert src.wait(timeout=10) == 0  # and leaves without reclaiming
    t0 = time.monotonic()
    node = zeroflow.Node("dst")  # src is away
    assert time.monotonic() - t0 < 1
    del node
    wait_not_connected(flow, "dst")  # src attaches after dst's death
    src = subprocess.Popen([sys.executable, "-c", src_script, "idle"], env=env, text=True,
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert src.stdout.readline() == "up\n"
    t0 = time.monotonic()
    node = zeroflow.Node("dst")  # src is back (attached after dst's death), idle
    assert time.monotonic() - t0 < 1
    del node
    src.stdin.close()
    assert src.wait(timeout=10) == 0
