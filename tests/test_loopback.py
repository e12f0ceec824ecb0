"""scripts/loopback.py: the one free_port and polling loop of the tests, bench/ and the scripts."""
from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.modelserver.conftest import free_port, loopback, wait_for


def test_free_port_can_be_listened_on() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()


def test_wait_until_returns_what_the_check_found() -> None:
    answers = iter([None, 0, {}, "ready"])
    assert loopback.wait_until(lambda: next(answers), 3600, "an answer", poll=0) == "ready"


def test_a_process_that_exits_first_ends_the_wait_at_once() -> None:
    """Given an hour, the wait still ends as soon as the process that should bring it about is gone."""
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    proc.wait(60)
    with pytest.raises(RuntimeError, match="server up: the process exited with 3 first"):
        loopback.wait_until(lambda: False, 3600, "server up", process=proc)
    with pytest.raises(pytest.fail.Exception, match="server up: the process exited with 3"):
        wait_for(lambda: False, "server up", 3600, process=proc)
