"""The servers under test, each started as its own process on loopback.

`SERVERS` maps a row name to a function that returns a Launch (argv, prediction URL, body);
`start(launch)` runs it and measures cold start: process start to first successful prediction.
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kserve_bridge.contract import ServerSettings
from kserve_bridge.spec import load_spec

from .load import JSON, LoadResult, drive
from .models import Workload
from .projects import write_project
from .rss import tree_cpu_seconds

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
from loopback import free_port  # noqa: E402  (one copy, shared with the tests and scripts)

MLSERVER_VENV = REPO / "bench" / ".venv-mlserver"


class Unavailable(Exception):
    """This server cannot run this workload here; the message says why."""


@dataclass
class Launch:
    argv: list[str]
    port: int
    path: str  # prediction route
    body: bytes
    env: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))


def speak_v2(launch: Launch, w: Workload, binary: bool) -> Launch:
    """The same server driven over v2 REST: JSON tensors, or binary ones both ways (binary tensor extension)."""
    launch.path = f"/v2/models/{w.name}/infer"
    if binary:
        launch.body, head = w.v2_binary_body()
        launch.headers = {"Content-Type": "application/octet-stream", "Inference-Header-Content-Length": str(head)}
    else:
        launch.body = w.v2_body()
    return launch


def ours(w: Workload, work: Path, batching: bool, processes: int = 1) -> Launch:
    """Started as in the pod: settings in the environment, as `kserve-bridge convert` writes them."""
    project = write_project(w, work / "projects", batching, processes=processes)
    port = free_port()
    argv = [sys.executable, "-m", "modelserver", "--model_dir", str(project), "--model_name", w.name,
            "--http_port", str(port)]
    env = ServerSettings.from_api(load_spec(project).get(w.name)).to_env()
    return Launch(argv, port, f"/v1/models/{w.name}:predict", w.v1_body(), env)


def ours_v2(w: Workload, work: Path, batching: bool) -> Launch:
    return speak_v2(ours(w, work, batching), w, binary=False)


def ours_v2_binary(w: Workload, work: Path, batching: bool) -> Launch:
    return speak_v2(ours(w, work, batching), w, binary=True)


def ours_two_processes(w: Workload, work: Path, batching: bool) -> Launch:
    """`processes_per_replica: 2` (modelserver/supervisor.py); measured without batching only."""
    if batching:
        raise Unavailable("measured without batching only")
    return ours(w, work, batching, processes=2)


def kserve_plain(w: Workload, work: Path, batching: bool) -> Launch:
    if batching:
        raise Unavailable("kserve.ModelServer has no in-process batching (KServe batches in a sidecar agent)")
    port = free_port()
    argv = [sys.executable, "-m", "bench.baseline_kserve", "--kind", w.kind, "--model_path", str(w.model_path),
            "--model_name", w.name, "--http_port", str(port), "--grpc_port", str(free_port())]
    return Launch(argv, port, f"/v1/models/{w.name}:predict", w.v1_body())


def kserve_v2(w: Workload, work: Path, batching: bool) -> Launch:
    return speak_v2(kserve_plain(w, work, batching), w, binary=False)


def kserve_v2_binary(w: Workload, work: Path, batching: bool) -> Launch:
    return speak_v2(kserve_plain(w, work, batching), w, binary=True)


def mlserver(w: Workload, work: Path, batching: bool) -> Launch:
    binary = MLSERVER_VENV / "bin" / "mlserver"
    if not binary.exists():
        raise Unavailable(f"{binary} not installed (pip install mlserver mlserver-sklearn into it)")
    if w.kind != "sklearn":
        raise Unavailable("mlserver-sklearn serves sklearn models only")
    folder = work / "mlserver" / f"{w.name}-{'batched' if batching else 'plain'}"
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (folder / "settings.json").write_text(json.dumps(
        {"http_port": port, "grpc_port": free_port(), "metrics_port": free_port(), "host": "127.0.0.1"}))
    model: dict = {"name": w.name, "implementation": "mlserver_sklearn.SKLearnModel",
                   "parameters": {"uri": str(w.model_path)}}
    if batching:
        model.update(max_batch_size=64, max_batch_time=0.005)
    (folder / "model-settings.json").write_text(json.dumps(model))
    return Launch([str(binary), "start", str(folder)], port, f"/v2/models/{w.name}/infer", w.v2_body())


def floor(w: Workload, work: Path, batching: bool) -> Launch:
    if batching:
        raise Unavailable("the floor does not batch")
    port = free_port()
    argv = [sys.executable, "-m", "bench.floor_app", "--kind", w.kind, "--model_path", str(w.model_path),
            "--http_port", str(port)]
    return Launch(argv, port, "/predict", w.v1_body())


SERVERS: dict[str, Callable[[Workload, Path, bool], Launch]] = {
    "kserve-bridge": ours, "kserve-bridge x2": ours_two_processes, "A: kserve custom": kserve_plain,
    "B: mlserver": mlserver, "floor: bare asgi": floor,
    "kserve-bridge v2": ours_v2, "A: kserve custom v2": kserve_v2,
    "kserve-bridge v2 bin": ours_v2_binary, "A: kserve custom v2 bin": kserve_v2_binary,
}


def post(port: int, path: str, body: bytes, timeout: float = 10.0,
         headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", path, body, headers or JSON)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class Running:
    """A started server; `cold_start_s` is process start to the first 200 on its prediction route."""

    def __init__(self, launch: Launch, log: Path, timeout: float = 180.0):
        self.launch, self.log = launch, log
        env = {**os.environ, "PYTHONPATH": str(REPO), **launch.env}
        began = time.perf_counter()
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(launch.argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self.cold_start_s: float | None = None
        self.first_response = b""
        while time.perf_counter() - began < timeout:
            if self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                status, data = post(launch.port, launch.path, launch.body, headers=launch.headers)
            except OSError:
                status, data = 0, b""
            if status == 200:
                self.cold_start_s, self.first_response = time.perf_counter() - began, data
                return
            time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"no successful prediction within {timeout:.0f}s: {self.log_tail()}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.launch.port}{self.launch.path}"

    def measure(self, concurrency: int, seconds: float) -> tuple[LoadResult, float]:
        """Load the prediction route; the result and the server tree's CPU microseconds per request meanwhile."""
        before = tree_cpu_seconds(self.proc.pid)
        result = drive(self.url, self.launch.body, concurrency, seconds, self.launch.headers)
        return result, (tree_cpu_seconds(self.proc.pid) - before) * 1e6 / max(1, result.requests)

    @classmethod
    def warmed_measure(cls, launch: Launch, log: Path, concurrency: int, seconds: float) -> tuple[LoadResult, float]:
        """Start `launch`, warm it up for a second, `measure` it, stop it."""
        server = cls(launch, log)
        try:
            server.measure(concurrency, 1.0)
            return server.measure(concurrency, seconds)
        finally:
            server.stop()

    def log_tail(self, lines: int = 8) -> str:
        try:
            return " | ".join(self.log.read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
