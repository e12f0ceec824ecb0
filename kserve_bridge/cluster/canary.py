"""Canary rollouts on an InferenceService: set, promote, roll back, and an automatic
rollout that promotes step by step while Prometheus says the canary is healthy.

Traffic is driven only by `spec.predictor.canaryTrafficPercent` (KServe
Serverless mode): N routes N % to the latest revision; absent promotes it;
0 rolls back to the previous revision.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from ..errors import BridgeError, ClusterError
from .kube import Kube, Ref
from .metrics import KNATIVE, MetricsSource, MetricsUnavailable, Prometheus, RevisionHealth
from .status import ApiStatus, summarize

PROMOTED, ROLLED_BACK, ABORTED = 0, 3, 4


def set_canary_percent(kube: Kube, name: str, percent: int | None,
                       namespace: str | None = None) -> tuple[ApiStatus, bool]:
    """Set (None: remove) canaryTrafficPercent; returns the new status and whether anything changed."""
    if percent is not None and not 0 <= percent <= 100:
        raise BridgeError(f"canary percent must be between 0 and 100 (got {percent})")

    def change(isvc: dict) -> dict | None:
        current = ((isvc.get("spec") or {}).get("predictor") or {}).get("canaryTrafficPercent")
        return None if current == percent else {"spec": {"predictor": {"canaryTrafficPercent": percent}}}

    obj, changed = kube.update(Ref.isvc(name, namespace or kube.namespace), change)
    return summarize(obj), changed


def start(kube: Kube, name: str, percent: int, namespace: str | None = None) -> tuple[ApiStatus, bool]:
    """The next revision (or the current canary) takes `percent` % of traffic."""
    return set_canary_percent(kube, name, percent, namespace)


def promote(kube: Kube, name: str, namespace: str | None = None) -> tuple[ApiStatus, bool]:
    """Send all traffic to the latest revision (removes canaryTrafficPercent)."""
    return set_canary_percent(kube, name, None, namespace)


def rollback(kube: Kube, name: str, namespace: str | None = None) -> tuple[ApiStatus, bool]:
    """Send all traffic back to the previous revision (canaryTrafficPercent 0)."""
    return set_canary_percent(kube, name, 0, namespace)


def status(kube: Kube, name: str, namespace: str | None = None) -> ApiStatus:
    return summarize(kube.get(Ref.isvc(name, namespace or kube.namespace)))


@dataclass(frozen=True)
class Decision:
    """One step of an automatic rollout and the figures behind it."""

    percent: int
    action: str  # "advance", "hold", "promote", "rollback", "abort"
    reason: str
    canary: RevisionHealth | None = None
    stable: RevisionHealth | None = None

    def describe(self) -> str:
        figures = "".join(f"\n    {role:<6} {h.describe()}" for role, h in
                          (("canary", self.canary), ("stable", self.stable)) if h is not None)
        return f"[{self.percent:>3}%] {self.action}: {self.reason}{figures}"


@dataclass
class RolloutResult:
    """How an automatic rollout ended: `exit_code` 0 promoted, 3 rolled back, 4 aborted."""

    outcome: str
    exit_code: int
    decisions: list[Decision] = field(default_factory=list)


@dataclass(frozen=True)
class Thresholds:
    max_error_rate: float = 0.01
    max_p99_ms: float = 250.0
    min_requests: int = 100
    max_holds: int = 3


def judge(canary: RevisionHealth, limits: Thresholds) -> tuple[str, str]:
    """('advance' | 'hold' | 'rollback', why) for one observation of the canary."""
    if canary.requests < limits.min_requests:
        return "hold", f"only {canary.requests:.0f} canary requests (need {limits.min_requests})"
    problems = []
    if canary.error_rate > limits.max_error_rate:
        problems.append(f"error rate {canary.error_rate:.2%} > {limits.max_error_rate:.2%}")
    if canary.p99_ms is not None and canary.p99_ms > limits.max_p99_ms:
        problems.append(f"p99 {canary.p99_ms:.0f}ms > {limits.max_p99_ms:g}ms")
    if problems:
        return "rollback", "; ".join(problems)
    if canary.p99_ms is None:
        return "hold", "no latency data yet"
    return "advance", (f"error rate {canary.error_rate:.2%} <= {limits.max_error_rate:.2%}, "
                       f"p99 {canary.p99_ms:.0f}ms <= {limits.max_p99_ms:g}ms")


def auto_rollout(kube: Kube, name: str, prometheus: Prometheus, steps: list[int], interval: float,
                 limits: Thresholds = Thresholds(), *, window: str | None = None,
                 source: MetricsSource = KNATIVE, namespace: str | None = None,
                 report: Callable[[Decision], None] = lambda d: None,
                 sleep: Callable[[float], None] = time.sleep) -> RolloutResult:
    """Raise the canary's share through `steps`, watching it for `interval` seconds at each;
    promote after the last healthy step, roll back at the first unhealthy observation.
    A missing object, an unreachable Prometheus or too little traffic aborts without
    touching traffic further."""
    namespace = namespace or kube.namespace
    window = window or f"{max(1, round(interval))}s"
    result = RolloutResult("aborted", ABORTED)

    def decide(decision: Decision) -> Decision:
        result.decisions.append(decision)
        report(decision)
        return decision

    def end(outcome: str, code: int) -> RolloutResult:
        result.outcome, result.exit_code = outcome, code
        return result

    at = 0  # canary share set by this rollout so far
    try:
        initial = status(kube, name, namespace)
        at = initial.canary_percent or 0
        if initial.canary is None or initial.stable is None:
            decide(Decision(at, "abort",
                            f"no canary in progress on {name} (traffic: {initial.split()}); deploy a new "
                            "revision after `kserve-bridge canary start` first"))
            return end("aborted", ABORTED)
        canary_rev, stable_rev = initial.canary.revision, initial.stable.revision
        prometheus.query("vector(1)")  # unreachable Prometheus: abort before changing anything
        for percent in [p for p in steps if p < 100]:
            set_canary_percent(kube, name, percent, namespace)
            at, holds = percent, 0
            while True:
                sleep(interval)
                current = status(kube, name, namespace)
                if current.canary is None or current.canary.revision != canary_rev:
                    decide(Decision(percent, "abort", f"canary revision changed under us "
                                    f"(was {canary_rev}, traffic now: {current.split()})"))
                    return end("aborted", ABORTED)
                canary = prometheus.health(source, canary_rev, namespace, window)
                stable = prometheus.health(source, stable_rev, namespace, window)
                verdict, why = judge(canary, limits)
                if verdict == "rollback":
                    rollback(kube, name, namespace)
                    decide(Decision(percent, "rollback", why, canary, stable))
                    return end("rolled_back", ROLLED_BACK)
                if verdict == "advance":
                    decide(Decision(percent, "advance", why, canary, stable))
                    break
                holds += 1
                if holds > limits.max_holds:
                    decide(Decision(percent, "abort", f"{why}, {holds} times; traffic left at {percent}%",
                                    canary, stable))
                    return end("aborted", ABORTED)
                decide(Decision(percent, "hold", why, canary, stable))
        promote(kube, name, namespace)
        decide(Decision(100, "promote", f"{canary_rev} healthy at every step; it now takes all traffic"))
        return end("promoted", PROMOTED)
    except (MetricsUnavailable, ClusterError) as exc:
        decide(Decision(at, "abort", f"{exc}; traffic left as it was"))
        return end("aborted", ABORTED)
