"""`processes_per_replica: 2`: real worker processes behind one port (modelserver/supervisor.py).

Every test runs `python -m modelserver` over real HTTP on loopback. The predictor answers with
its pid; a payload {"block": PATH} holds the predict (after writing PATH.entered with its pid)
until the test creates PATH, so the test decides when a request in flight finishes.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from modelserver.replica import ReplicaState
from modelserver.supervisor import listen

from .conftest import REPO, make_project

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


def wait_for(condition, what: str, timeout: float = TIMEOUT_S):
    """Poll `condition` until it returns something truthy (returned); fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


def project(tmp_path: Path, limit: int = 1024, gate: str = "") -> Path:
    return make_project(tmp_path / "pid", SPEC.format(limit=limit, gate=f'"{gate}"'), PREDICTOR)


def predict(url: str, payload: dict | None = None, timeout: float = 60) -> httpx.Response:
    """One POST on a fresh connection (so the kernel hands it to whichever worker accepts first)."""
    return httpx.post(url + "/predict", json=payload or {}, timeout=timeout)


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


def metric(url: str, name: str, **labels: str) -> float:
    """A sample's value from /metrics (0 when absent)."""
    text = httpx.get(url + "/metrics", timeout=10).text
    for line in text.splitlines():
        match = re.match(rf"^{name}{{(.*)}} (\S+)$", line)
        if match and all(f'{k}="{v}"' in match.group(1) for k, v in labels.items()):
            return float(match.group(2))
    return 0.0


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


def test_connections_on_the_replica_socket_have_nodelay():
    """Without TCP_NODELAY a keep-alive client waits out delayed ACKs (~40 ms per response)."""
    import asyncio

    sock = listen("127.0.0.1", 0)

    async def accepted_nodelay() -> int:
        loop = asyncio.get_running_loop()
        seen = loop.create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport):
                seen.set_result(transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP,
                                                                              socket.TCP_NODELAY))
        server = await loop.create_server(Probe, sock=sock)
        _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
        try:
            return await asyncio.wait_for(seen, TIMEOUT_S)
        finally:
            writer.close()
            server.close()
            await server.wait_closed()
    assert asyncio.run(accepted_nodelay()) != 0


def test_a_stop_signal_before_uvicorn_runs_is_not_lost():
    """SIGTERM between KServe installing its handlers and uvicorn installing its own: uvicorn must
    still be told to drain (KServe's own stop() only stops its multi-process and gRPC servers)."""
    from kserve.protocol.rest.server import RESTServer

    from modelserver.server import BridgeModelServer

    server = BridgeModelServer(host="127.0.0.1", asgi_app=None, http_port=0, enable_grpc=False, workers=1)
    server._rest_server = RESTServer("kserve.model_server:app", server.dataplane,
                                     server.model_repository_extension, 0)
    assert server._rest_server._server.should_exit is False
    server.stop(signal.SIGTERM)  # no event loop running yet, as in the window
    assert server._rest_server._server.should_exit is True


def test_a_workers_listen_keeps_the_shared_queue():
    """asyncio calls listen(1) on a worker's socket (one accept per wakeup); the queue stays 2048."""
    from modelserver.worker import SharedListener

    sock = SharedListener(fileno=listen("127.0.0.1", 0).detach())
    sock.listen(1)
    clients = [socket.create_connection(sock.getsockname()[:2], timeout=30) for _ in range(16)]  # none accepted
    for client in clients:
        client.close()
    sock.close()


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
    seen, sent = set(), 0
    while seen != pids and sent < 400:
        response = predict(server.url)
        assert response.status_code == 200
        seen.add(response.json()["pid"])
        sent += 1
    assert seen == pids, f"only {seen} of {pids} answered in {sent} requests"
    # whichever process answers /metrics, it reports every request the replica served (a request is
    # counted just after its response is sent, hence the wait for the last one)
    count = lambda: metric(server.url, "kserve_bridge_requests_total", route="/predict", code="200")  # noqa: E731
    wait_for(lambda: count() == sent, f"{sent} requests in /metrics")
    assert [count() for _ in range(4)] == [sent] * 4


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
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
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
