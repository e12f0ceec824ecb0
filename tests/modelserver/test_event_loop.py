"""Which event loop the model server runs on (modelserver/server.py)."""
from __future__ import annotations

import asyncio

import pytest

from modelserver.server import use_uvloop

uvloop = pytest.importorskip("uvloop")


@pytest.fixture
def restore_policy():
    before = asyncio.get_event_loop_policy()
    yield
    asyncio.set_event_loop_policy(before)


def loop_type_after_setup() -> type:
    use_uvloop()

    async def running() -> type:
        return type(asyncio.get_running_loop())
    return asyncio.run(running())


def test_the_server_runs_on_uvloop(restore_policy):
    """Single process and replica workers alike (workers accept for themselves: modelserver/accept.py)."""
    assert issubclass(loop_type_after_setup(), uvloop.Loop)
