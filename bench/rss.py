"""Resource use of a server process tree (the process and its children), read with psutil:
peak resident memory (sampled in a thread) and CPU seconds consumed."""
from __future__ import annotations

import threading

import psutil


def _tree_sum(pid: int, measure) -> float:
    """Sum of `measure(proc)` over `pid` and its live descendants (0 when it has gone)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for proc in procs:
        try:
            total += measure(proc)
        except psutil.NoSuchProcess:
            pass
    return total


def tree_rss(pid: int) -> int:
    """Current RSS in bytes of `pid` plus its descendants (0 when it has gone)."""
    return int(_tree_sum(pid, lambda proc: proc.memory_info().rss))


def tree_rss_each(pid: int) -> list[int]:
    """RSS in bytes of `pid` and of each live descendant."""
    out: list[int] = []
    _tree_sum(pid, lambda proc: out.append(proc.memory_info().rss) or 0)
    return out


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by `pid` plus its live descendants."""
    return float(_tree_sum(pid, lambda proc: sum(proc.cpu_times()[:2])))


class PeakRSS:
    """Context manager: samples the tree's RSS every `interval` seconds; `.peak` is the largest total,
    `.peak_process` the largest single process (a worker of a multi-process server)."""

    def __init__(self, pid: int, interval: float = 0.1):
        self.pid, self.interval, self.peak, self.peak_process = pid, interval, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _sample(self) -> None:
        each = tree_rss_each(self.pid)
        self.peak = max(self.peak, sum(each))
        self.peak_process = max([self.peak_process, *each])

    def _loop(self) -> None:
        while True:
            self._sample()
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
