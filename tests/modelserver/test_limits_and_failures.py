"""Max concurrency, a predictor that fails to load, project dependencies, and `kserve-bridge serve`."""
from __future__ import annotations

import subprocess
import sys
import threading
import time

import httpx
import pytest

from .conftest import REPO, make_project, start_server

pytestmark = pytest.mark.slow


def spec(extra: str = "") -> str:
    return f"""
- name: m
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    threads_per_process: 4
{extra}
"""


SLOW_PREDICTOR = '''
import time


class PythonPredictor:
    def __init__(self, config):
        pass

    def predict(self, payload):
        time.sleep(payload.get("sleep", 0))
        return {"ok": True}
'''


def test_max_concurrency_answers_503_then_recovers(tmp_path, serve):
    server = serve(make_project(tmp_path / "slow", spec("  autoscaling:\n    max_replica_concurrency: 1"),
                                SLOW_PREDICTOR))
    slow: list[httpx.Response] = []
    worker = threading.Thread(target=lambda: slow.append(httpx.post(server.url + "/m", json={"sleep": 2}, timeout=30)))
    worker.start()
    time.sleep(0.7)
    busy = httpx.post(server.url + "/m", json={})
    assert httpx.get(server.url + "/healthz").status_code == 200  # probes are never limited
    worker.join()
    assert busy.status_code == 503
    assert "max_concurrency 1" in busy.json()["error"]
    assert slow[0].json() == {"ok": True}
    assert httpx.post(server.url + "/m", json={}).json() == {"ok": True}


CORRUPT_MODEL = '''
class PythonPredictor:
    def __init__(self, config, python_client):
        pass

    def load_model(self, model_path):
        raise ValueError(f"corrupt model file {model_path.rsplit('/', 1)[-1]}")

    def predict(self, payload):
        return 1
'''


@pytest.mark.parametrize("predictor, fragment, extra", [
    (("class PythonPredictor:\n    def __init__(self, config):\n        raise OSError('no GPU here')\n"
      "    def predict(self, payload):\n        return 1\n"), "PythonPredictor.__init__ failed: OSError: no GPU here", ""),
    ("class PythonPredictor:\n    def predict(self, payload, foo):\n        return 1\n",
     "PythonPredictor.predict(self, payload, foo): unknown argument(s) foo", ""),
    ("class ONNXPredictor:\n    def predict(self, payload):\n        return 1\n",
     "must define exactly one predictor class, PythonPredictor", ""),
    ("import no_such_module_xyz\n", "ModuleNotFoundError", ""),
    # Models load before the API is ready: a bad one is reported at startup, not on the first request.
    (CORRUPT_MODEL, "ValueError: corrupt model file model.bin", "    models:\n      path: model.bin"),
])
def test_load_failure_keeps_server_alive_and_not_ready(tmp_path, serve, predictor, fragment, extra):
    project = make_project(tmp_path / "broken", spec(extra), predictor, **{"model.bin": b"not a model"})
    server = serve(project, wait_ready=False)
    with server.client() as http:
        assert http.get("/healthz").status_code == 200
        ready = http.get("/readyz")
        assert ready.status_code == 503 and fragment in ready.json()["error"], ready.text
        assert http.get("/v1/models/m").status_code == 503
        r = http.post("/m", json={})
        assert r.status_code == 503 and fragment in r.json()["error"]
        assert http.get("/predict").json()["model_metadata"]["error"]
    assert server.process.poll() is None
    assert fragment in server.log_text()


def test_dependencies_installed_or_skipped(tmp_path, serve):
    files = {"requirements.txt": "numpy>=1.0\n", "dependencies.sh": "echo ran > deps-ran.txt\n",
             ".env": "GREETING=from-dotenv\n", "lib/helper.py": "VALUE = 'from python_path'\n"}
    predictor = '''
import os
import helper


class PythonPredictor:
    def predict(self, payload):
        return {"greeting": os.environ["GREETING"], "helper": helper.VALUE, "extra": os.environ["EXTRA"]}
'''
    extra = "    python_path: lib\n    env:\n      EXTRA: from-spec"
    project = make_project(tmp_path / "deps", spec().rstrip() + "\n" + extra, predictor, **files)
    server = serve(project, env={"KSERVE_BRIDGE_SKIP_DEPS": "0"})
    assert httpx.post(server.url + "/m", json={}).json() == {
        "greeting": "from-dotenv", "helper": "from python_path", "extra": "from-spec"}
    assert (project / "deps-ran.txt").read_text().strip() == "ran"
    assert "every requirement already satisfied" in server.log_text()
    server.stop()
    (project / "deps-ran.txt").unlink()
    skipped = serve(project)  # KSERVE_BRIDGE_SKIP_DEPS=1
    assert httpx.post(skipped.url + "/m", json={}).status_code == 200
    assert not (project / "deps-ran.txt").exists()
    assert "KSERVE_BRIDGE_SKIP_DEPS is set" in skipped.log_text()


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "kserve_bridge", *args]


def test_cli_serve_rejects_bad_spec_with_exit_2(tmp_path):
    project = make_project(tmp_path / "bad", "- name: m\n  kind: RealtimeAPI\n  predictor: {type: nope}\n", "")
    done = subprocess.run(cli("serve", str(project)), capture_output=True, text=True, cwd=REPO, timeout=60,
                          check=False)
    assert done.returncode == 2
    assert "predictor" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run(cli("serve", str(make_project(tmp_path / "ok", spec(), SLOW_PREDICTOR)), "--api", "zzz"),
                          capture_output=True, text=True, cwd=REPO, timeout=60,
                          check=False)
    assert done.returncode == 2 and "no RealtimeAPI named 'zzz'" in done.stderr


def test_cli_serve_runs_the_model_server(tmp_path):
    project = make_project(tmp_path / "ok", spec(), SLOW_PREDICTOR)
    server = start_server(project, command=cli("serve", str(project), "--api", "m"))
    try:
        assert httpx.post(server.url + "/m", json={}).json() == {"ok": True}
        assert httpx.post(server.url + "/v1/models/m:predict", json={}).json() == {"ok": True}
    finally:
        server.stop()
