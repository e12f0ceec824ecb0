"""Where a predict runs: on the event loop or in the predict thread.

KServe's own `Model.__call__` runs every sync predict on the event loop. We do that only
while predicts are serial anyway (one predict thread, no batching) and fast (a moving
average under INLINE_BUDGET_S): it saves the thread hand-off and the GIL ping-pong between
the loop and the thread (docs/benchmarks.md). Slow predicts stay in the predict thread, so
/healthz, /metrics and the 503s keep answering while they run.

A predict thread's timings include waiting for the GIL while the loop parses requests, so
they overstate the predict under load. While they are under PROBE_LIMIT_S, one request in
PROBE_EVERY switches to the loop and is timed there exactly; the loop is kept only if that
timing is within budget.
"""
from __future__ import annotations

import math

INLINE_BUDGET_S = 0.002
PROBE_LIMIT_S = 0.02
PROBE_EVERY = 64


class Placement:
    """Decides per request; `observe` feeds back each predict's duration."""

    def __init__(self, allowed: bool):
        self.allowed = allowed
        self.inline = False  # the current mode
        self.recent = math.inf  # moving average of predict durations (s); inf until the first
        self.countdown = PROBE_EVERY
        self.probing = False  # the next loop timing replaces the average instead of joining it

    def choose(self) -> bool:
        """True: run this predict on the event loop."""
        if self.allowed and not self.inline and self.recent < PROBE_LIMIT_S:
            self.countdown -= 1
            if self.recent < INLINE_BUDGET_S or self.countdown <= 0:
                self.inline, self.probing, self.countdown = True, True, PROBE_EVERY
        return self.inline

    def observe(self, seconds: float, inline: bool) -> None:
        if inline and self.probing:
            self.recent, self.probing = seconds, False
        elif inline == self.inline:  # a thread's timing after the switch to the loop is stale
            self.recent = seconds if self.recent == math.inf else 0.8 * self.recent + 0.2 * seconds
        if self.inline and self.recent >= INLINE_BUDGET_S:
            self.inline = False
