"""Fixtures for the model server tests: projects in tmp_path, models built at
test time, and real `python -m modelserver` processes on free loopback ports."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.monitoring.conftest import load_script

REPO = Path(__file__).resolve().parents[2]
loopback = load_script("loopback")  # free_port and wait_until, shared with bench/ and the scripts
free_port = loopback.free_port


def python_api(extra: str = "", name: str = "m") -> str:
    """cortex.yaml for one API with a python predictor.py and 4 predict threads; `extra`: more lines
    (predictor fields indented by 4, API fields by 2)."""
    return f"""
- name: {name}
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    threads_per_process: 4
{extra}
"""


def make_project(root: Path, spec: str, predictor: str, **files: str | bytes) -> Path:
    """Write cortex.yaml, predictor.py and extra files (name -> text or bytes) into `root`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "cortex.yaml").write_text(textwrap.dedent(spec))
    (root / "predictor.py").write_text(textwrap.dedent(predictor))
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(textwrap.dedent(content))
    return root


def wait_for(condition, what: str, timeout: float = 120, poll: float = 0.02, process=None):
    """Poll `condition` until it returns something truthy (returned); fails naming `what` after `timeout`,
    or at once when `process` (a Popen that should bring it about) exits first.
    The way tests order events: wait for the state they need, never for a guessed time."""
    try:
        return loopback.wait_until(condition, timeout, what, poll, process)
    except (TimeoutError, RuntimeError) as exc:
        pytest.fail(f"timed out: {exc}" if isinstance(exc, TimeoutError) else str(exc))


def metric(url: str, name: str, **labels: str) -> float:
    """A sample's value from the server's /metrics (0 when absent)."""
    text = httpx.get(url + "/metrics", timeout=60).text
    for line in text.splitlines():
        match = re.match(rf"^{name}{{(.*)}} (\S+)$", line)
        if match and all(f'{k}="{v}"' in match.group(1) for k, v in labels.items()):
            return float(match.group(2))
    return 0.0


def wait_in_flight(url: str, api: str, count: int) -> None:
    """Until the server holds `count` requests of `api` in flight (bodies read, slots taken)."""
    wait_for(lambda: metric(url, "kserve_bridge_requests_in_flight", api=api) == count,
             f"{count} request(s) of {api} in flight")


# Predictor code (append to a predictor's source): `hold(path)` writes PATH.entered, then blocks
# until the test calls `release(path)`, so the test decides when a request in flight finishes.
HOLD = """
def hold(path):
    import os, time
    open(path + ".entered", "w").close()
    deadline = time.monotonic() + 120
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.005)
"""


def release(path: Path) -> None:
    """Let a predictor blocked in `hold(path)` go on."""
    path.touch()


class FakeClock:
    """A clock that moves only when told to (`advance`), for the batcher's interval.

    Every read is counted: `wait_reads(n)` returns once the code under test has looked at
    the time n more times, i.e. it has seen the current time and decided what to do."""

    def __init__(self, now: float = 1000.0):
        self.now, self.reads, self.changed = now, 0, threading.Condition()

    def __call__(self) -> float:
        with self.changed:
            self.reads += 1
            self.changed.notify_all()
            return self.now

    def advance(self, seconds: float) -> None:
        with self.changed:
            self.now += seconds

    def wait_reads(self, count: int = 2, timeout: float = 60) -> None:
        with self.changed:
            target = self.reads + count
            assert self.changed.wait_for(lambda: self.reads >= target, timeout), \
                f"the clock was not read {count} more times within {timeout}s"


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, **kwargs)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_server(project: Path, args: list[str] = (), env: dict[str, str] | None = None,
                 command: list[str] | None = None, wait_ready: bool = True, timeout: float = 120) -> Server:
    port = free_port()
    log = project.parent / f"{project.name}-{port}.log"
    command = command or [sys.executable, "-m", "modelserver", "--model_dir", str(project)]
    command = [*command, "--http_port" if "modelserver" in command else "--port", str(port), "--host", "127.0.0.1",
               *args]
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("KSERVE_BRIDGE_")}
    full_env.update({"PYTHONPATH": str(REPO), "KSERVE_BRIDGE_SKIP_DEPS": "1", **(env or {})})
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=full_env, cwd=project.parent)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    deadline, probe = time.monotonic() + timeout, "/readyz" if wait_ready else "/healthz"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"model server exited with {process.returncode}:\n{server.log_text()[-4000:]}")
        try:
            if httpx.get(server.url + probe, timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"model server not up after {timeout}s:\n{server.log_text()[-4000:]}")


def _server_starter():
    """A `start(project, ...)` function and the list of servers it started (stopped by the caller)."""
    started: list[Server] = []

    def start(project: Path, **kwargs) -> Server:
        started.append(start_server(project, **kwargs))
        return started[-1]

    return start, started


@pytest.fixture
def serve():
    """Start servers with `serve(project, ...)`; every one is stopped at teardown."""
    start, started = _server_starter()
    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def module_servers():
    """Like `serve` but shared by a test module."""
    start, started = _server_starter()
    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> dict[str, Path]:
    """Models produced at test time: iris (joblib, ONNX via skl2onnx), a torch MLP (TorchScript, pickled
    module, ONNX via torch.onnx.export), and the iris data."""
    import joblib
    import numpy as np
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    out = tmp_path_factory.mktemp("models")
    x, y = load_iris(return_X_y=True)
    joblib.dump(LogisticRegression(max_iter=1000, random_state=0).fit(x, y), out / "iris.joblib")
    np.save(out / "iris_x.npy", x.astype(np.float32))

    import torch
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)).eval()
    torch.jit.script(mlp).save(str(out / "mlp_script.pt"))
    torch.save(mlp, out / "mlp_full.pt")
    torch.onnx.export(mlp, (torch.zeros(2, 4),), str(out / "mlp.onnx"), input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False)
    with torch.no_grad():
        np.save(out / "mlp_expected.npy", mlp(torch.from_numpy(x[:5].astype(np.float32))).numpy())
    return {"dir": out, "iris": out / "iris.joblib", "x": out / "iris_x.npy", "script": out / "mlp_script.pt",
            "full": out / "mlp_full.pt", "onnx": out / "mlp.onnx", "expected": out / "mlp_expected.npy"}
