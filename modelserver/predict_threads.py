"""`PredictThreads`: where user code runs, never on the event loop.

Every predict (and post_predict) runs in one of N predict threads, so the event loop
only parses requests and writes answers: /healthz, /readyz, /metrics and the 503s keep
answering whatever a predictor does (sleeps, spins, hangs for good). The loop's share
of a request is bounded by the server's own code (tens of microseconds per request),
never by the predictor's.

The hand-off is a `queue.SimpleQueue` (C, no locks in Python) and one
`call_soon_threadsafe` per result; see docs/benchmarks.md for what it costs against
running fast predicts on the loop. A coroutine awaiting a result may stop waiting
(`PredictTimeout`); the thread finishes the call and its result is dropped.
`stuck_for()` tells the liveness probe how long every thread has been busy with one call.
"""
from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from .errors import as_exception

Job = tuple[Callable[..., Any], tuple, "asyncio.Future | None", "asyncio.AbstractEventLoop | None"]


class PredictThreads:
    def __init__(self, count: int, name: str = "predict"):
        self.jobs: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self.busy_since: list[float | None] = [None] * count  # monotonic start of each thread's current call
        self.threads = [threading.Thread(target=self._work, args=(index,), name=f"{name}-{index}", daemon=True)
                        for index in range(count)]
        for thread in self.threads:
            thread.start()

    def run(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future:
        """`fn(*args)` in a predict thread; await the returned future for its result."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.jobs.put((fn, args, future, loop))
        return future

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """`fn(*args)` in a predict thread, after the calls queued before it; nobody waits for it."""
        self.jobs.put((fn, args, None, None))

    def close(self, timeout: float | None = None) -> None:
        """Let each thread finish the calls queued so far, then end; waits up to `timeout` for them."""
        for _ in self.threads:
            self.jobs.put((_stop, (), None, None))
        for thread in self.threads:
            thread.join(timeout)

    def stuck_for(self) -> float:
        """Seconds every thread has been inside its current call (0 when one is free)."""
        starts = self.busy_since
        if any(start is None for start in starts):
            return 0.0
        return time.monotonic() - max(start for start in starts if start is not None)

    def _work(self, index: int) -> None:
        while True:
            fn, args, future, loop = self.jobs.get()
            if fn is _stop:
                return
            self.busy_since[index] = time.monotonic()
            result: Any = None
            error: Exception | None = None
            try:
                result = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - user code may raise SystemExit; the server stays up
                error = as_exception(exc)
            self.busy_since[index] = None
            if future is not None and loop is not None:
                try:
                    loop.call_soon_threadsafe(_settle, future, result, error)
                except RuntimeError:  # the loop is closed: the server is stopping
                    pass


def _stop() -> None:
    """The job that ends a predict thread (`close`)."""


def _settle(future: asyncio.Future, result: Any, error: Exception | None) -> None:
    if future.done():  # the waiter gave up (timeout) or went away
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


def expire(future: asyncio.Future, error: Exception) -> None:
    """A `loop.call_later` callback: fail `future` with `error` unless it is done."""
    if not future.done():
        future.set_exception(error)
