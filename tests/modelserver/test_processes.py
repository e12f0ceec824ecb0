"""`processes_per_replica: 2`: real worker processes behind one port (modelserver/supervisor.py).

Every test runs `python -m modelserver` over real HTTP on loopback. The predictor answers with
its pid; a payload {"block": PATH} holds the predict (after writing PATH.entered with its pid)
until the test creates PATH, so the test decides when a request in flight finishes.
"""
from __future__ import annotations

import asyncio
import errno
import json
import multiprocessing
import os
import re
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from modelserver.accept import OneAtATime
from modelserver.replica import ReplicaState
from modelserver.supervisor import listen

from .conftest import REPO, free_port, make_project, metric, wait_for

SPEC = """\
- name: pid
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    processes_per_replica: 2
    threads_per_process: 2
    config:
      load_gate: {gate}
  autoscaling:
    max_replica_concurrency: {limit}
"""
PREDICTOR = """\
import os
import time
from pathlib import Path


def wait_for(path):
    while not os.path.exists(path):
        time.sleep(0.005)


class PythonPredictor:
    def __init__(self, config):
        gate = config.get("load_gate")
        if gate:  # the first process loads at once, the others when the test creates the gate
            try:
                os.close(os.open(gate + ".first", os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                wait_for(gate)

    def predict(self, payload):
        block = payload.get("block") if isinstance(payload, dict) else None
        if block:
            Path(block + ".entered").write_text(str(os.getpid()))
            wait_for(block)
        return {"pid": os.getpid()}
"""
TIMEOUT_S = 120


@pytest.fixture(autouse=True)
def release_everything(serve, tmp_path):
    """After each test, before its servers stop: open every gate, so no predictor is left waiting."""
    yield
    for entered in tmp_path.glob("*.entered"):
        entered.with_suffix("").touch()
    (tmp_path / "load-gate").touch()


def project(tmp_path: Path, limit: int = 1024, gate: str = "") -> Path:
    return make_project(tmp_path / "pid", SPEC.format(limit=limit, gate=f'"{gate}"'), PREDICTOR)


def predict(url: str, payload: dict | None = None, timeout: float = 60) -> httpx.Response:
    """One POST on a fresh connection (so the kernel hands it to whichever worker accepts first)."""
    return httpx.post(url + "/predict", json=payload or {}, timeout=timeout)


def predict_until_each_answered(url: str, pids: set[int], most: int = 400) -> int:
    """Predict (a new connection each time) until every process in `pids` has answered; the requests sent."""
    seen, sent = set(), 0
    while seen != pids and sent < most:
        response = predict(url)
        assert response.status_code == 200
        seen.add(response.json()["pid"])
        sent += 1
    assert seen == pids, f"only {seen} of {pids} answered in {sent} requests"
    return sent


def readiness(url: str) -> tuple[int, dict]:
    try:
        response = httpx.get(url + "/readyz", timeout=10)
    except httpx.HTTPError:
        return 0, {}
    return response.status_code, response.json()


def ready_when(url: str, condition) -> tuple[int, dict]:
    """Poll /readyz until condition(status, body) holds; returns (status, body)."""
    return wait_for(lambda: (lambda r: r if r[1].get("processes") and condition(*r) else None)(readiness(url)),
                    "a /readyz answer that matches")


class InFlight:
    """A blocked POST running in a thread; `release()` lets the predictor return."""

    def __init__(self, url: str, folder: Path, name: str):
        self.gate = folder / name
        self.response: httpx.Response | Exception | None = None
        self.thread = threading.Thread(target=self._run, args=(url,), daemon=True)
        self.thread.start()
        entered = self.gate.with_name(name + ".entered")
        self.pid = int(wait_for(lambda: entered.exists() and entered.read_text(), f"{name} in the predictor"))

    def _run(self, url: str) -> None:
        try:
            self.response = predict(url, {"block": str(self.gate)})
        except Exception as exc:  # noqa: BLE001 - asserted by the test
            self.response = exc

    def release(self) -> httpx.Response | Exception | None:
        self.gate.touch()
        self.thread.join(TIMEOUT_S)
        return self.response


def test_replica_state_permits_are_shared_and_a_dead_workers_come_back():
    import multiprocessing

    state = ReplicaState(2, 3, multiprocessing.get_context("spawn"))
    assert [state.enter(0), state.enter(1), state.enter(1), state.enter(0)] == [True, True, True, False]
    state.leave(0)
    assert state.enter(0) and not state.enter(1)
    state.claim(1, 4242)
    assert state.free(1) == 2  # slot 1 died holding two requests
    assert state.enter(0) and state.enter(0) and not state.enter(0)
    assert state.describe() == [{"pid": None, "ready": False}, {"pid": None, "ready": False}]


class Probe(asyncio.Protocol):
    """Records each connection a `OneAtATime` hands over: its TCP_NODELAY setting."""
    made: list[int]

    def connection_made(self, transport):
        self.made.append(transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


def two_workers() -> ReplicaState:
    """The shared state of a replica of two live, loaded workers; tests act as the worker in slot 0."""
    state = ReplicaState(2, 8, multiprocessing.get_context("spawn"))
    for slot, pid in enumerate((101, 102)):
        state.claim(slot, pid)
        state.loaded(slot, True)
    return state


def accepting(test):
    """Run `test(acceptor, made, shared, state)` on uvloop (what workers run) with the OneAtATime of
    slot 0 on a fresh replica socket, whose connections go to `Probe`s."""
    uvloop = pytest.importorskip("uvloop")
    shared, state = listen("127.0.0.1", 0), two_workers()
    made: list[int] = []

    async def main():
        probe = type("P", (Probe,), {"made": made})
        acceptor = OneAtATime(shared.dup(), probe, asyncio.get_running_loop(), state, 0)  # slot 0's own copy
        try:
            return await test(acceptor, made, shared, state)
        finally:
            acceptor.close()
            await acceptor.wait_closed()
    try:
        return uvloop.run(main())
    finally:
        shared.close()


async def until(condition, what: str):
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0)


def test_a_worker_accepts_one_connection_per_wakeup_sets_nodelay_and_counts_it():
    """A burst of queued connections spreads over the workers: each wakeup takes one (libuv's own
    listeners take them all), and leaves the rest queued on the shared socket for the others."""
    async def test(acceptor, made, shared, state):
        clients = [socket.create_connection(shared.getsockname()[:2], timeout=30) for _ in range(8)]
        acceptor._accept()  # what one readable event does
        await until(lambda: made, "the accepted connection to reach its protocol")
        assert made == [made[0]] and made[0] != 0  # one connection, with TCP_NODELAY
        assert list(state.connections) == [1, 0]
        shared.settimeout(30)
        others = [shared.accept()[0] for _ in range(7)]  # the rest are still queued for another worker
        for conn in [*others, *clients]:
            conn.close()
        await until(lambda: state.connections[0] == 0, "the closed connection to be counted out")
    accepting(test)


def test_a_busier_worker_leaves_a_connection_to_the_others_once():
    async def test(acceptor, made, shared, state):
        state.connections[0], state.connections[1] = 3, 2  # slot 1 is less busy
        client = socket.create_connection(shared.getsockname()[:2], timeout=30)
        acceptor.start()
        acceptor._accept()
        assert not made and not acceptor.accepting and acceptor.resume_handle is not None  # left to slot 1
        await until(lambda: made, "the connection to be taken after the pause, since slot 1 did not")
        assert state.connections[0] == 4 and acceptor.accepting
        state.pids[1] = 0  # slot 1's worker died: nobody to leave connections to
        second = socket.create_connection(shared.getsockname()[:2], timeout=30)
        acceptor._accept()
        await until(lambda: len(made) == 2, "the second connection")
        client.close()
        second.close()
    accepting(test)


def test_a_worker_accepts_until_closed_then_leaves_the_queue_to_the_others():
    async def test(acceptor, made, shared, state):
        state.connections[1] = 10  # slot 0 is the least busy: it takes everything
        acceptor.start()
        clients = [socket.create_connection(shared.getsockname()[:2], timeout=30) for _ in range(4)]
        await until(lambda: len(made) == 4, "all four connections accepted")
        acceptor.close()  # uvicorn's shutdown: this worker's copy of the socket is closed
        late = socket.create_connection(shared.getsockname()[:2], timeout=30)
        shared.settimeout(30)
        queued, _ = shared.accept()  # still there: the closed acceptor did not take it
        assert len(made) == 4
        for conn in [queued, late, *clients]:
            conn.close()
    accepting(test)


def test_a_worker_out_of_file_descriptors_pauses_accepting():
    async def test(acceptor, made, shared, state):
        def no_descriptors():
            raise OSError(errno.EMFILE, "Too many open files")
        own_copy = acceptor.sock
        acceptor.sock = type("S", (), {"accept": staticmethod(no_descriptors), "fileno": own_copy.fileno,
                                       "close": own_copy.close})()
        acceptor.start()
        acceptor._accept()
        assert not acceptor.accepting and acceptor.resume_handle is not None  # tries again after a pause
        acceptor.resume_handle.cancel()
    accepting(test)


def test_port_in_use_is_a_clear_error(tmp_path):
    import subprocess
    import sys

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "modelserver", "--model_dir", str(project(tmp_path)),
                               "--http_port", str(port), "--host", "127.0.0.1"], capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=TIMEOUT_S)
    assert done.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


def test_one_port_both_processes_answer_and_metrics_cover_the_replica(tmp_path, serve):
    server = serve(project(tmp_path))
    status, ready = readiness(server.url)
    assert status == 200 and ready["ready"] is True
    pids = {p["pid"] for p in ready["processes"]}
    assert len(pids) == 2 and server.process.pid not in pids and all(p["ready"] for p in ready["processes"])
    sent = predict_until_each_answered(server.url, pids)
    # whichever process answers /metrics, it reports every request the replica served (a request is
    # counted just after its response is sent, hence the wait for the last one)
    count = lambda: metric(server.url, "kserve_bridge_requests_total", route="/predict", code="200")  # noqa: E731
    wait_for(lambda: count() == sent, f"{sent} requests in /metrics")
    assert [count() for _ in range(4)] == [sent] * 4
    # every process answers the v2 lane too (a new connection per request reaches either)
    body, seen_v2, tries = {"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1.0]}]}, set(), 0
    while seen_v2 != pids and tries < 400:
        answer = httpx.post(server.url + "/v2/models/pid/infer", json=body, timeout=TIMEOUT_S)
        assert answer.status_code == 200, answer.text
        seen_v2.add(answer.json()["outputs"][0]["data"][0])
        tries += 1
    assert seen_v2 == pids, f"only {seen_v2} of {pids} answered over v2 in {tries} requests"


def test_kserve_bridge_serve_runs_every_process_of_the_replica(tmp_path, serve):
    """`kserve-bridge serve` runs the server in its own process; the workers it spawns start as in the pod."""
    root = project(tmp_path)
    server = serve(root, command=[sys.executable, "-m", "kserve_bridge", "serve", str(root)])
    status, ready = readiness(server.url)
    pids = {p["pid"] for p in ready["processes"]}
    assert status == 200 and len(pids) == 2 and server.process.pid not in pids
    predict_until_each_answered(server.url, pids)


def test_every_process_writes_payload_records_to_the_one_file(tmp_path, serve):
    """--log_requests with N processes: each worker runs its own logger; a file sink gets every
    request and response once, whole lines, whichever process served it."""
    records = tmp_path / "records.jsonl"
    server = serve(project(tmp_path), args=["--log_requests", str(records)])
    _, ready = readiness(server.url)
    workers, served = {p["pid"] for p in ready["processes"]}, []
    while set(served) != workers and len(served) < 400:
        served.append(predict(server.url, {"n": len(served)}).json()["pid"])
    assert set(served) == workers, f"only {set(served)} of {workers} answered in {len(served)} requests"
    server.stop()  # SIGTERM: each worker delivers what it queued before it exits
    events = [json.loads(line) for line in records.read_text().splitlines()]
    requests = sorted(e["data"]["n"] for e in events if e["type"].endswith(".request"))
    responses = [e["data"]["pid"] for e in events if e["type"].endswith(".response")]
    assert requests == list(range(len(served)))
    assert sorted(responses) == sorted(served)


def test_max_replica_concurrency_holds_across_processes(tmp_path, serve):
    server = serve(project(tmp_path, limit=2))
    blocked = [InFlight(server.url, tmp_path, f"hold{i}") for i in range(2)]
    assert metric(server.url, "kserve_bridge_requests_in_flight", api="pid") == 2  # both processes' gauges
    # every further POST is refused, whichever process accepts the connection
    for _ in range(8):
        response = predict(server.url)
        assert response.status_code == 503, response.text
        assert "max_concurrency 2 across the replica's 2 processes" in response.json()["error"]
    assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200  # probes are never limited
    for request in blocked:
        response = request.release()
        assert isinstance(response, httpx.Response) and response.status_code == 200
    assert predict(server.url).status_code == 200
    wait_for(lambda: metric(server.url, "kserve_bridge_requests_in_flight", api="pid") == 0, "no request in flight")
    assert metric(server.url, "kserve_bridge_requests_total", route="unmatched", code="503") == 8


def test_ready_only_when_every_process_loaded(tmp_path, serve):
    gate = tmp_path / "load-gate"
    server = serve(project(tmp_path, gate=str(gate)), wait_ready=False)
    status, body = ready_when(server.url, lambda status, body: True)
    assert status == 503 and body["error"] == "1 of 2 processes loaded"
    first = next(p["pid"] for p in body["processes"] if p["ready"])
    assert predict(server.url).json() == {"pid": first}  # the loaded process serves meanwhile
    gate.touch()
    status, body = ready_when(server.url, lambda status, body: status == 200)
    assert all(p["ready"] for p in body["processes"])


def test_a_predictor_that_fails_to_load_stops_the_replica(tmp_path):
    """As with one process (exit 1 with the reason): the pod restarts with back-off and says why."""
    import subprocess
    import sys

    broken = make_project(tmp_path / "broken", SPEC.format(limit=8, gate='""'),
                          "class PythonPredictor:\n    def __init__(self, config):\n"
                          "        raise OSError('no model')\n\n"
                          "    def predict(self, payload):\n        return payload\n")
    termination = tmp_path / "termination-log"
    termination.write_text("")
    port = free_port()
    done = subprocess.run([sys.executable, "-m", "modelserver", "--model_dir", str(broken), "--http_port", str(port),
                           "--host", "127.0.0.1"], capture_output=True, text=True, timeout=TIMEOUT_S,
                          env={**os.environ, "PYTHONPATH": str(REPO),
                               "KSERVE_BRIDGE_TERMINATION_LOG": str(termination)})
    assert done.returncode == 1, done.stderr[-2000:]
    assert "could not load the predictor; stopping the replica" in done.stderr
    assert termination.read_text().endswith("OSError: no model")


def test_killed_worker_is_restarted_and_its_permits_come_back(tmp_path, serve):
    gate = tmp_path / "load-gate"
    server = serve(project(tmp_path, limit=1, gate=str(gate)), wait_ready=False)
    ready_when(server.url, lambda status, body: status == 503)
    gate.touch()
    _, body = ready_when(server.url, lambda status, body: status == 200)
    before = {p["pid"] for p in body["processes"]}
    gate.unlink()  # from now on a new worker waits in its predictor's __init__ until the test says so
    doomed = InFlight(server.url, tmp_path, "doomed")
    (survivor,) = before - {doomed.pid}
    assert predict(server.url).status_code == 503  # the one permit is held
    os.kill(doomed.pid, signal.SIGKILL)
    assert isinstance(doomed.release(), Exception)  # its connection died with it

    def replacement_loading(status: int, body: dict) -> bool:
        return any(p["pid"] not in before and p["pid"] and not p["ready"] for p in body["processes"])
    status, body = ready_when(server.url, replacement_loading)
    assert status == 200 and body["ready"] is True  # the replica was ready: the survivor serves meanwhile
    response = predict(server.url)
    assert response.status_code == 200 and response.json() == {"pid": survivor}  # the dead worker's permit is back
    gate.touch()
    _, body = ready_when(server.url, lambda status, body: all(p["ready"] for p in body["processes"]))
    after = {p["pid"] for p in body["processes"]}
    assert survivor in after and doomed.pid not in after and len(after) == 2
    assert server.process.poll() is None
    assert re.search(rf"worker \d \[{doomed.pid}\] exited with -9", server.log_text())


def test_sigterm_drains_every_process(tmp_path, serve):
    server = serve(project(tmp_path))
    _, ready = readiness(server.url)
    workers = [p["pid"] for p in ready["processes"]]
    busy = InFlight(server.url, tmp_path, "busy")
    server.process.send_signal(signal.SIGTERM)
    port = int(server.url.rsplit(":", 1)[1])

    def refused() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        except ConnectionRefusedError:
            return True
        return False
    wait_for(refused, "the port to stop accepting")  # every process stopped accepting...
    assert server.process.poll() is None  # ...while the busy one still finishes its request
    response = busy.release()
    assert isinstance(response, httpx.Response) and response.status_code == 200
    assert response.json() == {"pid": busy.pid}
    assert server.process.wait(TIMEOUT_S) == 0
    for pid in workers:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
