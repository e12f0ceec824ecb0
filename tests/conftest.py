"""Shared fixtures. Test folders are packages (tests.spec, tests.cluster, ...):
import helpers from siblings as `from tests.cluster.fake_kube import ...`."""
from __future__ import annotations

import gc
import os
import threading
import time
from pathlib import Path

import pytest
from hypothesis import settings

# The same examples on every run, so that CI's verdict is the code's, not the draw's.
# `HYPOTHESIS_PROFILE=explore pytest tests/spec tests/modelserver/test_v2_decode.py` draws new ones.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared (reference material and the strict validator); skips when absent."""
    if not (SHARED / "tools" / "k8s-strict-validate").exists():
        pytest.skip("../shared is not present; strict-validation checks skipped")
    return SHARED


def _leaked_threads(before: set[threading.Thread], grace: float = 10) -> list[threading.Thread]:
    """Non-daemon threads started since `before` that are still alive after `grace` seconds.
    Daemon threads (the batcher's, the predict threads, uvicorn's, prometheus') cannot keep
    the interpreter alive and are not counted."""
    started = [t for t in threading.enumerate() if t not in before and not t.daemon]
    if started:
        gc.collect()  # an executor nobody references lets its idle workers go
    deadline = time.monotonic() + grace
    for thread in started:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [t for t in started if t.is_alive()]


def _fail_if_leaked(before: set[threading.Thread], what: str) -> None:
    leaked = _leaked_threads(before)
    if leaked:
        names = ", ".join(f"{t.name} (running {getattr(t, '_target', None)!r})" for t in leaked)
        pytest.fail(f"{what} left {len(leaked)} non-daemon thread(s) running: {names}; stop or join what "
                    f"the test starts", pytrace=False)


@pytest.fixture(autouse=True)
def no_leaked_threads(request):
    """Threads a test starts are stopped by its end (its function-scoped fixtures included)."""
    before = set(threading.enumerate())
    yield
    _fail_if_leaked(before, request.node.nodeid)


@pytest.fixture(scope="module", autouse=True)
def no_leaked_module_threads(request):
    """Likewise for a module and its module-scoped fixtures (shared servers)."""
    before = set(threading.enumerate())
    yield
    _fail_if_leaked(before, request.node.nodeid)
