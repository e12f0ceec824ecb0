"""SIGTERM drains the Kubernetes way (modelserver/internals.py HttpServer, modelserver/supervisor.py):
/readyz fails at once, the port keeps accepting for --drain_delay_s, then closes and the server
finishes what it holds.

A load balancer is played by threads: clients POST on a new connection each time (no retries) while
the pod is "routed"; an endpoints controller polls /readyz and, after its first non-200, un-routes
the pod once LAG_REQUESTS more requests were sent (in a cluster, endpoints are removed
asynchronously: requests keep arriving for a while after SIGTERM).
"""
from __future__ import annotations

import signal
import threading

import httpx
import pytest

from .conftest import make_project, wait_for

SPEC = """\
- name: drain
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    processes_per_replica: {processes}
"""
PREDICTOR = """\
import os


class PythonPredictor:
    def __init__(self, config):
        pass

    def predict(self, payload):
        return {"pid": os.getpid()}
"""
CLIENTS = 4
LAG_REQUESTS = 10


class LoadBalancer:
    def __init__(self, url: str):
        self.url = url
        self.routed = threading.Event()
        self.routed.set()
        self.sigterm_sent = threading.Event()
        self.lock = threading.Condition()
        self.ok = self.ok_after_sigterm = 0
        self.failures: list[str] = []
        self.unready: dict = {}
        self.threads = [threading.Thread(target=self.client, daemon=True) for _ in range(CLIENTS)]
        self.threads.append(threading.Thread(target=self.controller, daemon=True))
        for thread in self.threads:
            thread.start()

    def client(self) -> None:
        while self.routed.is_set():
            after = self.sigterm_sent.is_set()
            try:
                response = httpx.post(self.url + "/predict", json={}, timeout=60)  # a new connection each time
                failure = None if response.status_code == 200 else f"{response.status_code} {response.text}"
            except httpx.HTTPError as exc:
                failure = f"{type(exc).__name__}: {exc}"
            with self.lock:
                if failure:
                    self.failures.append(failure)
                else:
                    self.ok += 1
                    self.ok_after_sigterm += after
                self.lock.notify_all()

    def controller(self) -> None:
        """Un-route the pod at its first /readyz answer that is not 200 (a probe that cannot connect fails too)."""
        while self.routed.is_set():
            try:
                response = httpx.get(self.url + "/readyz", timeout=60)
                if response.status_code != 200:
                    self.unready = response.json()
                    with self.lock:  # the endpoints' removal takes a while to reach the load balancer
                        self.lock.wait_for(lambda: self.ok_after_sigterm >= LAG_REQUESTS or self.failures, 120)
                    self.routed.clear()
            except httpx.HTTPError as exc:
                self.failures.append(f"readiness probe: {type(exc).__name__}: {exc}")
                self.routed.clear()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(120)


@pytest.mark.parametrize("processes", [1, 2])
def test_sigterm_fails_readiness_first_and_loses_no_request(tmp_path, serve, processes):
    server = serve(make_project(tmp_path / "drain", SPEC.format(processes=processes), PREDICTOR),
                   args=["--drain_delay_s", "5"])
    balancer = LoadBalancer(server.url)
    wait_for(lambda: balancer.ok >= 20 or balancer.failures, "requests served before SIGTERM")
    balancer.sigterm_sent.set()
    server.process.send_signal(signal.SIGTERM)
    balancer.join()
    assert balancer.failures == [], balancer.failures[:5]
    assert balancer.unready.get("error") == "shutting down", balancer.unready
    assert balancer.ok_after_sigterm >= LAG_REQUESTS  # requests kept arriving after SIGTERM, and were served
    assert server.process.wait(120) == 0
    assert "SIGTERM: not ready; still accepting for 5 s before draining" in server.log_text()


def test_draining_answers_close_keep_alive_connections(tmp_path, serve):
    """While draining, answers carry `connection: close`: a keep-alive client reconnects (through the
    load balancer) instead of reusing a connection the server is about to close."""
    server = serve(make_project(tmp_path / "drain", SPEC.format(processes=1), PREDICTOR),
                   args=["--drain_delay_s", "60"])
    with server.client() as client:
        assert "close" not in client.post("/predict", json={}).headers.get("connection", "")
        server.process.send_signal(signal.SIGTERM)
        wait_for(lambda: client.get("/readyz").status_code == 503, "readiness to fail")
        response = client.post("/predict", json={})
        assert response.status_code == 200 and response.headers["connection"] == "close"
    server.process.send_signal(signal.SIGTERM)  # a second signal: stop now
    assert server.process.wait(120) == 0
