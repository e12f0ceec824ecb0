"""Server-side batching: items submitted concurrently are handed to one call.

A worker thread waits for the first item, then up to `interval` seconds for
more (at most `max_size`), calls `handler(items)` and resolves each item's
future with the result at the same position. If the handler raises, every
future in the batch gets the exception.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

log = logging.getLogger("modelserver")


class Batcher:
    def __init__(self, handler: Callable[[list[Any]], list[Any]], max_size: int, interval: float, name: str = ""):
        self.handler, self.max_size, self.interval = handler, max_size, interval
        self.pending: queue.SimpleQueue[tuple[Any, Future]] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._loop, name=f"batcher-{name}", daemon=True)
        self.thread.start()

    def submit(self, item: Any) -> Future:
        future: Future = Future()
        self.pending.put((item, future))
        return future

    def _collect(self) -> list[tuple[Any, Future]]:
        batch = [self.pending.get()]
        deadline = time.monotonic() + self.interval
        while len(batch) < self.max_size:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                batch.append(self.pending.get(timeout=left))
            except queue.Empty:
                break
        return batch

    def _loop(self) -> None:
        while True:
            batch = self._collect()
            items = [item for item, _ in batch]
            log.debug("batcher %s: running a batch of %d", self.thread.name, len(items))
            try:
                results = self.handler(items)
                if not isinstance(results, (list, tuple)) or len(results) != len(items):
                    raise TypeError(f"a batched predict must return a list of {len(items)} results, one per "
                                    f"request, got {type(results).__name__}"
                                    f"{f' of {len(results)}' if isinstance(results, (list, tuple)) else ''}")
            except BaseException as exc:  # noqa: BLE001 - every caller must hear about it
                log.error("batch of %d failed: %s", len(items), exc)
                for _, future in batch:
                    future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results):
                future.set_result(result)


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
