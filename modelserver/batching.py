"""Server-side batching: items submitted concurrently are handed to one call.

A worker thread waits for the first item, then up to `interval` seconds for
more (at most `max_size`), calls `handler(items)` and resolves each item's
future with the result at the same position. If the handler raises, every
future in the batch gets the exception. `interval` is a maximum, as in Cortex:
given `in_flight` (the server's requests in flight), the batch runs as soon as
every request in flight is in it, since nobody else can join (no 5 ms tax at
low load), if it is alone or holds as many as were in flight at once in the
last second or two: under load a transport holds requests not counted yet
(grpc.aio admits one call per turn of the event loop), which will join. The
interval is measured with `clock` (`time.monotonic`; tests pass a fake one).
Threads `submit` and wait on a concurrent Future; coroutines `await run(item)`,
and a batch wakes their event loop once, not once per item (docs/benchmarks.md).
`close()` runs what is queued, then ends the thread.
"""
from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from . import metrics
from .errors import as_exception

log = logging.getLogger("modelserver")
_CLOSE: Any = ("close", None)  # the queue entry that ends a batcher's thread


class Batcher:
    def __init__(self, handler: Callable[[list[Any]], list[Any]], max_size: int, interval: float, name: str = "",
                 in_flight: Callable[[], int] | None = None, api: str | None = None, model: str = "",
                 clock: Callable[[], float] = time.monotonic):
        self.handler, self.max_size, self.interval, self.in_flight = handler, max_size, interval, in_flight
        self.clock = clock  # seconds; tests pass a fake one to drive the interval
        self.sizes = metrics.BATCH_SIZE.labels(api or name, model)
        self.pending: queue.SimpleQueue[tuple[Any, Future | asyncio.Future]] = queue.SimpleQueue()
        self.busy_since: float | None = None  # `clock()` when the running batch started (liveness reads it)
        self.closing = False  # the batch being collected is the last (close() was called)
        self.peaks = [0, 0, 0.0]  # most requests in flight at once: last window, this window, its start
        self.traced: dict[int, list] = {}  # id(future) of traced requests -> [enqueued at, batch size, started]
        self.thread = threading.Thread(target=self._loop, name=f"batcher-{name}", daemon=True)
        self.thread.start()

    def submit(self, item: Any) -> Future:
        future: Future = Future()
        self.pending.put((item, future))
        return future

    async def run(self, item: Any) -> Any:
        return await self.enqueue(item)

    def enqueue(self, item: Any, traced: bool = False) -> asyncio.Future:
        """Queue `item` from a coroutine; await the returned future for its result. `traced`: keep
        the batch's size and the wait for it, for `describe`."""
        future = asyncio.get_running_loop().create_future()
        if traced:
            self.traced[id(future)] = [self.clock(), 0, 0.0]
        self.pending.put((item, future))
        return future

    def close(self, timeout: float | None = None) -> None:
        """Run the batches of what was queued so far, then end the thread; waits up to `timeout` for it."""
        self.pending.put(_CLOSE)
        self.thread.join(timeout)
    def describe(self, future: asyncio.Future, span: Any) -> None:
        """Put a traced request's batch (size, seconds waited for it to start) on its span."""
        enqueued, size, started = self.traced.pop(id(future), (0.0, 0, 0.0))
        if size:
            span.set_attribute("kserve_bridge.batch.size", size)
            span.set_attribute("kserve_bridge.batch.wait_s", max(0.0, started - enqueued))

    def _collect(self) -> list[tuple[Any, Future | asyncio.Future]]:
        """The next batch, empty once `close()`'s marker is reached."""
        first = None if self.closing else self.pending.get()
        if first is None or first is _CLOSE:
            return []
        batch, clock = [first], self.clock
        deadline = clock() + self.interval
        # Requests in flight but not in the batch yet may still join: look again every `step`.
        step = max(self.interval / 10, 0.0002) if self.in_flight else self.interval
        while len(batch) < self.max_size:
            left = deadline - clock()
            if left <= 0 or self._nobody_else(len(batch)):
                break
            try:
                entry = self.pending.get(timeout=min(left, step))
            except queue.Empty:
                continue
            if entry is _CLOSE:
                self.closing = True  # this batch is the last
                break
            batch.append(entry)
        return batch

    def _nobody_else(self, size: int) -> bool:
        """True when every request in flight is already in the batch (0 means unknown: keep waiting), and
        it is alone or the batch holds as many as were in flight at once within the last second or two:
        a transport may hold requests not yet counted (a gRPC call waits in gRPC's queue until the
        event loop admits it, one at a time), and under load these are still to come."""
        known = self.in_flight() if self.in_flight else 0
        peaks, now = self.peaks, self.clock()
        if now - peaks[2] >= 1.0:  # a new window; the last one's peak counts unless that too is over
            peaks[:] = [peaks[1] if now - peaks[2] < 2.0 else 0, 0, now]
        peaks[1] = max(peaks[1], known)
        return 0 < known <= size and (known == 1 or size >= max(peaks[0], peaks[1]))

    def _loop(self) -> None:
        while batch := self._collect():
            items = [item for item, _ in batch]
            self.sizes.observe(len(items))
            log.debug("batcher %s: running a batch of %d", self.thread.name, len(items))
            self.busy_since = self.clock()
            if self.traced:
                for _, future in batch:
                    if id(future) in self.traced:
                        self.traced[id(future)][1:] = [len(items), self.busy_since]
            try:
                results = self.handler(items)
                if not isinstance(results, (list, tuple)) or len(results) != len(items):
                    raise TypeError(f"a batched predict must return a list of {len(items)} results, one per "
                                    f"request, got {type(results).__name__}"
                                    f"{f' of {len(results)}' if isinstance(results, (list, tuple)) else ''}")
                outcomes: list[tuple[Any, Any, Exception | None]] = [
                    (future, result, None) for (_, future), result in zip(batch, results, strict=False)]
            except BaseException as exc:  # noqa: BLE001 - every caller must hear about it
                log.error("batch of %d failed: %s", len(items), exc)
                error = as_exception(exc)  # a SystemExit would stop the event loop that receives it
                outcomes = [(future, None, error) for _, future in batch]
            self.busy_since = None
            by_loop: dict[asyncio.AbstractEventLoop, list] = {}
            for outcome in outcomes:
                future = outcome[0]
                if isinstance(future, asyncio.Future):
                    by_loop.setdefault(future.get_loop(), []).append(outcome)
                else:
                    _settle([outcome])
            for loop, settled in by_loop.items():
                try:
                    loop.call_soon_threadsafe(_settle, settled)
                except RuntimeError:  # that event loop is closed: nobody is waiting any more
                    pass


def _settle(outcomes: list[tuple[Any, Any, BaseException | None]]) -> None:
    for future, result, error in outcomes:
        if future.done():  # an awaiting request was cancelled (client went away)
            continue
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)


def stacked(run: Callable[[dict], dict]) -> Callable[[list[dict]], list[dict]]:
    """A batch handler for tensor models: concatenate each input along axis 0, run once, split outputs."""
    import numpy as np

    def handle(feeds: list[dict]) -> list[dict]:
        rows = [len(next(iter(f.values()))) if f else 0 for f in feeds]
        joined = run({name: np.concatenate([f[name] for f in feeds], axis=0) for name in feeds[0]})
        bounds = np.cumsum(rows)[:-1]
        split = {name: np.split(value, bounds, axis=0) for name, value in joined.items()}
        return [{name: parts[i] for name, parts in split.items()} for i in range(len(feeds))]

    return handle
