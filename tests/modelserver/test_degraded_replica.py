"""A replica at half capacity is visible (modelserver/supervisor.py, metrics.Processes): a real worker
killed with SIGKILL while its model store (a real HTTP server on loopback) is down cannot reload."""
from __future__ import annotations

import http.server
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from .conftest import REPO, free_port, make_project, wait_for

SPEC = """\
- name: store
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    processes_per_replica: 2
    config:
      store: {store}
"""
PREDICTOR = """\
import os
import urllib.request


class PythonPredictor:
    def __init__(self, config):
        self.model = urllib.request.urlopen(config["store"], timeout=30).read().decode()

    def predict(self, payload):
        return {"pid": os.getpid(), "model": self.model}
"""


class ModelStore:
    """An HTTP model store on a fixed loopback port that can go down and come back."""

    def __init__(self, folder: Path):
        (folder / "model.txt").write_text("weights")
        self.folder, self.port, self.server = folder, free_port(), None
        self.url = f"http://127.0.0.1:{self.port}/model.txt"
        self.up()

    def up(self) -> None:
        handler = lambda *args: http.server.SimpleHTTPRequestHandler(*args, directory=str(self.folder))  # noqa: E731
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def store(tmp_path):
    folder = tmp_path / "store"
    folder.mkdir()
    store = ModelStore(folder)
    yield store
    store.down()


def samples(url: str) -> dict[str, float]:
    """Every sample on /metrics of the form name{api="store"...} value, by name and labels."""
    out = {}
    for line in httpx.get(url + "/metrics", timeout=60).text.splitlines():
        match = re.match(r'^(kserve_bridge_[a-z_]+)(\{[^}]*\})? (\S+)$', line)
        if match and 'api="store"' in (match.group(2) or ""):
            out[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return out


def value(found: dict[str, float], name: str) -> float | None:
    hits = [v for k, v in found.items() if k.split("{")[0] == name]
    assert len(hits) <= 1, f"{name} has several series: {found}"
    return hits[0] if hits else None


def kill_one_worker(url: str) -> tuple[int, int]:
    """SIGKILL one worker; returns (killed pid, survivor pid)."""
    processes = httpx.get(url + "/readyz", timeout=30).json()["processes"]
    doomed, survivor = processes[0]["pid"], processes[1]["pid"]
    os.kill(doomed, signal.SIGKILL)
    return doomed, survivor


def test_half_capacity_is_in_the_metrics_and_heals(tmp_path, serve, store):
    server = serve(make_project(tmp_path / "api", SPEC.format(store=store.url), PREDICTOR))
    healthy = samples(server.url)
    assert value(healthy, "kserve_bridge_processes") == 2 and value(healthy, "kserve_bridge_processes_ready") == 2
    assert value(healthy, "kserve_bridge_process_restarts_total") == 0
    store.down()
    doomed, survivor = kill_one_worker(server.url)

    def degraded() -> dict | None:
        found = samples(server.url)
        return found if value(found, "kserve_bridge_process_restarts_total") >= 2 else None
    found = wait_for(degraded, "a replacement worker that failed to load and was restarted again")
    assert value(found, "kserve_bridge_processes") == 2 and value(found, "kserve_bridge_processes_ready") == 1
    # one series per gauge for the replica: no dead worker's value left behind (it said 1 before)
    assert value(found, "kserve_bridge_api_ready") == 1 and value(found, "kserve_bridge_model_load_seconds") > 0
    ready = httpx.get(server.url + "/readyz", timeout=30)
    assert ready.status_code == 200  # the survivor serves meanwhile
    assert httpx.post(server.url + "/predict", json={}, timeout=30).json()["pid"] == survivor
    assert "API store failed to load" in server.log_text() and "Connection refused" in server.log_text()
    store.up()
    wait_for(lambda: value(samples(server.url), "kserve_bridge_processes_ready") == 2, "the worker restored")
    assert doomed not in {p["pid"] for p in httpx.get(server.url + "/readyz", timeout=30).json()["processes"]}
    wait_for(lambda: "worker 0 restored after" in server.log_text() or "worker 1 restored after" in server.log_text(),
             "the supervisor to log the restore")


def test_a_worker_that_cannot_be_restored_stops_the_replica(tmp_path, store):
    project = make_project(tmp_path / "api", SPEC.format(store=store.url), PREDICTOR)
    termination = tmp_path / "termination-log"
    termination.write_text("")
    port = free_port()
    log = tmp_path / "server.log"
    env = {**os.environ, "PYTHONPATH": str(REPO), "KSERVE_BRIDGE_SKIP_DEPS": "1",
           "KSERVE_BRIDGE_TERMINATION_LOG": str(termination), "KSERVE_BRIDGE_RESTORE_DEADLINE_S": "3"}
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "modelserver", "--model_dir", str(project), "--http_port",
                                    str(port), "--host", "127.0.0.1"], stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            try:
                return httpx.get(url + "/readyz", timeout=5).status_code == 200
            except httpx.HTTPError:
                return process.poll() is not None
        wait_for(ready, "the replica ready")
        store.down()
        kill_one_worker(url)
        assert process.wait(120) == 1
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = log.read_text()
    assert "could not be restored for 3s" in text and "stopping the replica" in text
    assert termination.read_text().startswith("worker ") and "could not be restored" in termination.read_text()
