"""Free loopback ports and waiting for what another process does: the one copy that the tests,
bench/ and the scripts use (tests reach it through tests/modelserver/conftest.py's `free_port` and
`wait_for`)."""
from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from typing import Any


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], Any], timeout: float, what: str, poll: float = 0.2,
               process: subprocess.Popen | None = None) -> Any:
    """Poll `check` until it returns something truthy (returned). TimeoutError naming `what` after `timeout`
    seconds; RuntimeError at once when `process` (the one expected to bring it about) has exited."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with {process.returncode} first")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not within {timeout:.0f}s")
        time.sleep(poll)
