"""Max concurrency, a predictor that fails to load, project dependencies, and `kserve-bridge serve`."""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import httpx
import pytest

from .conftest import HOLD, REPO, free_port, make_project, python_api, release, start_server, wait_in_flight

pytestmark = pytest.mark.slow


SLOW_PREDICTOR = HOLD + '''

class PythonPredictor:
    def __init__(self, config):
        pass

    def predict(self, payload):
        if payload.get("hold"):
            hold(payload["hold"])
        return {"ok": True}
'''


def test_max_concurrency_answers_503_then_recovers(tmp_path, serve):
    server = serve(make_project(tmp_path / "slow", python_api("  autoscaling:\n    max_replica_concurrency: 1"),
                                SLOW_PREDICTOR))
    slow: list[httpx.Response] = []
    gate = tmp_path / "slow-gate"
    worker = threading.Thread(target=lambda: slow.append(httpx.post(server.url + "/m", json={"hold": str(gate)},
                                                                    timeout=120)))
    worker.start()
    try:
        wait_in_flight(server.url, "m", 1)  # the held request has the only slot
        busy = httpx.post(server.url + "/m", json={})
        assert httpx.get(server.url + "/healthz").status_code == 200  # probes are never limited
    finally:
        release(gate)
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
      "    def predict(self, payload):\n        return 1\n"),
     "predictor.py:3: PredictorError: PythonPredictor.__init__ failed: OSError: no GPU here", ""),
    # caught by the spec's static check before anything loads (exit 2, as `validate`)
    ("class PythonPredictor:\n    def predict(self, payload, foo):\n        return 1\n",
     "predictor.py:2: apis[0](m): PythonPredictor.predict: unknown argument(s) foo", ""),
    ("class ONNXPredictor:\n    def predict(self, payload):\n        return 1\n",
     "must define exactly one predictor class, PythonPredictor", ""),
    ("import no_such_module_xyz\nclass PythonPredictor:\n    def predict(self, payload):\n        return 1\n",
     "predictor.py:1: PredictorError: importing predictor.py failed: "
                                     "ModuleNotFoundError", ""),
    ("class PythonPredictor:\n    def predict(self, payload)\n", "predictor.py:2: apis[0](m): syntax error", ""),
    # Models load before the API is ready: a bad one is reported at startup, not on the first request.
    (CORRUPT_MODEL, "predictor.py:7: ValueError: corrupt model file model.bin", "    models:\n      path: model.bin"),
])
def test_load_failure_exits_with_the_reason(tmp_path, predictor, fragment, extra):
    """The server exits 1 with the predictor's file, line and exception, also in the termination message."""
    project = make_project(tmp_path / "broken", python_api(extra), predictor, **{"model.bin": b"not a model"})
    termination = tmp_path / "termination-log"
    termination.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KSERVE_BRIDGE_")}
    env.update(PYTHONPATH=str(REPO), KSERVE_BRIDGE_SKIP_DEPS="1", KSERVE_BRIDGE_TERMINATION_LOG=str(termination))
    done = subprocess.run([sys.executable, "-m", "modelserver", "--model_dir", str(project), "--http_port",
                           str(free_port()), "--host", "127.0.0.1"], capture_output=True, text=True, env=env,
                          timeout=300)
    assert fragment in done.stderr, done.stderr
    if "apis[0](m)" in fragment or "exactly one" in fragment:
        assert done.returncode == 2 and "Traceback" not in done.stderr
        return
    assert done.returncode == 1, done.stdout + done.stderr
    assert termination.read_text().startswith("API m failed to load: ")
    assert fragment in termination.read_text()


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
    project = make_project(tmp_path / "deps", python_api().rstrip() + "\n" + extra, predictor, **files)
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
    project = make_project(tmp_path / "ok", python_api(), SLOW_PREDICTOR)
    done = subprocess.run(cli("serve", str(project), "--api", "zzz"), capture_output=True, text=True, cwd=REPO,
                          timeout=60, check=False)
    assert done.returncode == 2 and "no RealtimeAPI named 'zzz'" in done.stderr


def test_cli_serve_runs_the_model_server(tmp_path):
    project = make_project(tmp_path / "ok", python_api(), SLOW_PREDICTOR)
    server = start_server(project, command=cli("serve", str(project), "--api", "m"))
    try:
        assert httpx.post(server.url + "/m", json={}).json() == {"ok": True}
        assert httpx.post(server.url + "/v1/models/m:predict", json={}).json() == {"ok": True}
    finally:
        server.stop()


def test_cli_serve_stops_when_the_predictor_fails_to_load(tmp_path):
    predictor = "import os\n\nclass PythonPredictor:\n    def __init__(self, config):\n" \
                "        open(os.path.join('data', 'missing.csv'))\n\n" \
                "    def predict(self, payload):\n        return 1\n"
    project = make_project(tmp_path / "broken", python_api(), predictor)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KSERVE_BRIDGE_")}
    env.update(PYTHONPATH=str(REPO), KSERVE_BRIDGE_SKIP_DEPS="1")
    done = subprocess.run(cli("serve", str(project), "--port", str(free_port())), capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=300, check=False)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "API m failed to load: predictor.py:5: PredictorError: PythonPredictor.__init__ failed: " \
           "FileNotFoundError" in done.stderr
