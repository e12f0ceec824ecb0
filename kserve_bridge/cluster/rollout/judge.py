"""Judge one observation: the canary against the stable revision in the same window,
with absolute limits as a ceiling that no comparison can lift."""
from __future__ import annotations

from dataclasses import dataclass

from .metrics import RevisionHealth

ADVANCE, HOLD, ROLLBACK = "advance", "hold", "rollback"


@dataclass(frozen=True)
class Thresholds:
    """When a canary is good enough.

    Ceilings (always apply): `max_error_rate`, `max_p99_ms`.
    Against stable: error rate at most `error_rate_margin` above stable's (absolute,
    0.005 = half a percentage point); p99 at most `p99_factor` x stable's, except that a
    canary p99 under `p99_floor_ms` never fails the comparison (tiny latencies are noise).
    Evidence: both sides need `min_requests` requests in the window; after `max_holds`
    undecided observations in a row the rollout is undecided.
    """

    max_error_rate: float = 0.01
    max_p99_ms: float = 250.0
    min_requests: int = 100
    max_holds: int = 3
    error_rate_margin: float = 0.005
    p99_factor: float = 1.5
    p99_floor_ms: float = 20.0


def judge(canary: RevisionHealth, stable: RevisionHealth, limits: Thresholds) -> tuple[str, str]:
    """(ADVANCE | HOLD | ROLLBACK, why) for one window."""
    for role, side in (("canary", canary), ("stable", stable)):
        if side.requests is None:  # no data
            return HOLD, f"no metrics for the {role} revision {side.revision} in the window"
        if side.requests < limits.min_requests:
            return HOLD, f"only {side.requests:.0f} {role} requests (need {limits.min_requests} on each side)"
    problems = []
    if canary.error_rate > limits.max_error_rate:
        problems.append(f"error rate {canary.error_rate:.2%} > limit {limits.max_error_rate:.2%}")
    elif canary.error_rate > stable.error_rate + limits.error_rate_margin:
        problems.append(f"error rate {canary.error_rate:.2%} > stable's {stable.error_rate:.2%} "
                        f"+ {limits.error_rate_margin:.2%}")
    if canary.p99_ms is not None and canary.p99_ms > limits.max_p99_ms:
        problems.append(f"p99 {canary.p99_ms:.0f}ms > limit {limits.max_p99_ms:g}ms")
    elif canary.p99_ms is not None and stable.p99_ms is not None and \
            canary.p99_ms > max(stable.p99_ms * limits.p99_factor, limits.p99_floor_ms):
        problems.append(f"p99 {canary.p99_ms:.0f}ms > {limits.p99_factor:g} x stable's {stable.p99_ms:.0f}ms")
    if problems:
        return ROLLBACK, "; ".join(problems)
    if canary.p99_ms is None or stable.p99_ms is None:
        return HOLD, "no latency data yet"
    return ADVANCE, (f"error rate {canary.error_rate:.2%} vs stable {stable.error_rate:.2%} "
                     f"(margin {limits.error_rate_margin:.2%}, limit {limits.max_error_rate:.2%}); "
                     f"p99 {canary.p99_ms:.0f}ms vs stable {stable.p99_ms:.0f}ms "
                     f"(x{limits.p99_factor:g}, limit {limits.max_p99_ms:g}ms)")
