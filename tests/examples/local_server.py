"""Run `kserve-bridge serve` as a real subprocess on a free loopback port, and stop it afterwards."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.modelserver.conftest import free_port, loopback
from tests.monitoring.conftest import load_script

stop_process_group = load_script("monitoring_stack").stop  # one definition: SIGTERM the group, then SIGKILL

REPO = Path(__file__).resolve().parents[2]
QUIET_ENV = {"PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0"}


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`kserve-bridge ARGS` in a subprocess (the interpreter running the tests), output captured."""
    return subprocess.run([sys.executable, "-m", "kserve_bridge", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **QUIET_ENV})


def _ready(base: str) -> bool:
    """True once /readyz says ready; raises when the predictor failed to load (the server stays up)."""
    try:
        answer = httpx.get(f"{base}/readyz", timeout=2)
    except httpx.TransportError:
        return False
    if answer.status_code == 503 and answer.json().get("error", "loading") != "loading":
        raise AssertionError(f"predictor failed to load: {answer.json()['error']}")
    return answer.status_code == 200


@contextmanager
def serving(project: Path, api: str, ready_timeout: float = 120, extra: tuple[str, ...] = ()) -> Iterator[str]:
    """Serve `api` of `project` locally; yields the base URL once the model answers ready."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen([sys.executable, "-m", "kserve_bridge", "serve", str(project), "--api", api,
                                 "--port", str(port), *extra], cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, **QUIET_ENV}, start_new_session=True)

        def output() -> str:
            log.flush()
            log.seek(0)
            return log.read()[-4000:]

        try:
            try:
                loopback.wait_until(lambda: _ready(base), ready_timeout, f"server for {api} ready", process=proc)
            except (TimeoutError, RuntimeError) as exc:
                raise AssertionError(f"{exc}:\n{output()}") from None
            yield base
        finally:
            stop_process_group(proc)  # SIGTERM the server and its workers, SIGKILL after 15 s
