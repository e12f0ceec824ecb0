"""The automatic rollout: smoke check, then raise the canary's share step by step, judging
it against the stable revision each interval; promote, roll back, or end safely.

Time is injected (`sleep`, `clock`): queries are evaluated at `clock()`, so a test can
drive the loop over recorded metrics without waiting.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import NoReturn

from ...errors import BridgeError, ClusterError
from ..kube import Kube
from .judge import ADVANCE, ROLLBACK, Thresholds, judge
from .metrics import KNATIVE, MODELSERVER, MetricsSource, MetricsUnavailable, Prometheus
from .report import Decision, RolloutResult
from .shadow import Shadow, ShadowOptions
from .smoke import SmokeRequest, run_smoke
from .traffic import PROMOTE, SERVERLESS, TrafficState, set_share, state

ON_UNDECIDED = ("rollback", "hold")


class _Ended(Exception):
    """Internal: the rollout reached an outcome."""


def plan_steps(steps: list[int], share: int | None) -> list[int]:
    """The shares still to observe, resuming from the current one (0/None: from the start)."""
    below_100 = [p for p in steps if p < 100]
    if not share:
        return below_100
    return sorted({share, *[p for p in below_100 if p > share]}) if share < 100 else []


def auto_rollout(kube: Kube, name: str, prometheus: Prometheus, steps: list[int], interval: float,
                 limits: Thresholds | None = None, *, window: str | None = None,
                 source: MetricsSource | None = None, namespace: str | None = None,
                 on_undecided: str = "rollback", on_decision: Callable[[Decision], None] | None = None,
                 smoke: list[SmokeRequest] | None = None, smoke_url: str | None = None,
                 shadow: ShadowOptions | None = None, dry_run: bool = False,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time) -> RolloutResult:
    """Drive one canary to an end and return the decisions (see report.EXIT_CODES).

    Worse than stable (or than the ceilings) → rolled back. Undecided (too little traffic or
    no metrics for `max_holds` intervals, the canary replaced) → rolled back, or left where it
    is with `on_undecided="hold"`. Ctrl-C/SIGTERM (KeyboardInterrupt) → traffic left; running
    again resumes from the current share. `shadow` first mirrors live requests to a canary that
    takes no traffic yet and judges it the same way. `on_decision` is called with every decision."""
    limits = limits if limits is not None else Thresholds()
    if on_undecided not in ON_UNDECIDED:
        raise BridgeError(f"on_undecided must be one of {', '.join(ON_UNDECIDED)} (got {on_undecided!r})")
    run = _Rollout(kube, name, namespace or kube.namespace, prometheus, limits, interval,
                   window or f"{max(1, round(interval))}s", source, on_undecided, on_decision, sleep, clock)
    try:
        run.go(steps, smoke, smoke_url, shadow, dry_run)
    except _Ended:
        pass
    finally:
        run.stop_shadow()
    return run.result


class _Rollout:
    def __init__(self, kube, name, namespace, prometheus, limits, interval, window, source, on_undecided,
                 on_decision, sleep, clock):
        self.kube, self.name, self.namespace, self.prometheus = kube, name, namespace, prometheus
        self.limits, self.interval, self.window, self.source = limits, interval, window, source
        self.on_undecided, self.on_decision, self.sleep, self.clock = on_undecided, on_decision, sleep, clock
        self.result = RolloutResult(name, namespace)
        self.share: int | None = None
        self.shadow = Shadow(kube, name, namespace)

    def decide(self, action: str, reason: str, canary=None, stable=None, at=None) -> None:
        decision = Decision(self.share, action, reason, canary, stable, at)
        self.result.decisions.append(decision)
        if self.on_decision:
            self.on_decision(decision)

    def end(self, outcome: str, action: str, reason: str, **figures) -> NoReturn:
        self.result.outcome = outcome
        self.decide(action, reason, **figures)
        raise _Ended

    def go(self, steps, smoke, smoke_url, shadow, dry_run) -> None:
        try:
            first = self.start(steps, shadow, dry_run)
            if smoke:
                self.smoke(smoke, smoke_url or first.canary_url)
            if shadow:
                self.shadow_step(first, shadow)
            for percent in plan_steps(steps, first.share):
                self.move(percent)
                self.observe(first)
            self.move(PROMOTE)
            self.share = 100
            self.end("promoted", "promote", f"{first.canary} passed every step; it now takes all traffic")
        except KeyboardInterrupt:
            self.end("interrupted", "interrupted", f"interrupted; traffic left at {self.share or 0}% on the "
                     "canary. Run the same command again to resume from there")
        except ClusterError as exc:  # includes NotFoundError and MetricsUnavailable before the first step
            self.end("aborted", "abort", f"{exc}; traffic left as it was ({self.share or 0}% on the canary)")

    def start(self, steps, shadow, dry_run) -> TrafficState:
        first = state(self.kube, self.name, self.namespace)
        self.share = first.share or 0
        self.result.mode, self.result.canary, self.result.stable = first.mode, first.canary, first.stable
        if not first.in_progress:
            self.end("aborted", "abort", f"no canary in progress on {self.name} (traffic: {first.split}); deploy "
                     "a new version after `kserve-bridge canary start` (or with `deploy --canary PERCENT`) first")
        self.source = self.source or (KNATIVE if first.mode == SERVERLESS else MODELSERVER)
        self.prometheus.query("vector(1)", self.clock())  # unreachable: abort before changing anything
        plan = plan_steps(steps, first.share)
        resumed = f"resuming at {first.share}%; " if first.share else ""
        resumed += f"shadow {shadow.percent:g}% first; " if shadow and not first.share else ""
        self.decide("plan", f"{first.mode} mode, canary {first.canary} vs stable {first.stable}; {resumed}"
                    f"steps {' -> '.join(map(str, plan + [100]))}, {self.interval:g}s each, "
                    f"window {self.window}, {self.source.name} metrics")
        if dry_run:
            h = self.prometheus.health(self.source, first.canary, self.namespace, self.window, self.clock())
            first_patch = next(filter(None, (set_share(self.kube, self.name, p, self.namespace, dry_run=True)[1]
                                             for p in [*plan, PROMOTE])), None)
            self.end("dry_run", "dry-run", f"nothing written; the first change would be the merge patch "
                     f"{json.dumps(first_patch)}; canary queries: {json.dumps(h.queries)}")
        return first

    def shadow_step(self, first: TrafficState, options: ShadowOptions) -> None:
        """Mirror live requests to the dark canary, judge it like a step, then switch mirroring off."""
        if first.share:
            self.decide("shadow", f"skipped: the canary already takes {first.share}% of live traffic")
            return
        if not first.canary_url:
            self.end("aborted", "abort", "the canary has no URL of its own yet (no `latest` tag URL in the "
                     "traffic status) to mirror to")
        self.shadow.start(first.canary_url, first.stable if first.mode == SERVERLESS else None, options)
        self.decide("shadow", f"mirroring {options.percent:g}% of live requests to {first.canary_url} "
                    f"(at most {options.max_in_flight} copies in flight per stable pod; answers discarded)")
        self.observe(first, options.interval or self.interval, passed="shadow")
        self.stop_shadow()

    def stop_shadow(self) -> None:
        """Remove the shadow ConfigMap if this rollout made one; say so if that fails."""
        try:
            if self.shadow.stop():
                self.decide("shadow", "mirroring switched off (ConfigMap deleted)")
        except ClusterError as exc:
            self.decide("shadow", f"could NOT delete the shadow ConfigMap ({exc}); delete it by hand: kubectl "
                        f"delete configmap -n {self.namespace} {self.name}-kserve-bridge-shadow")

    def smoke(self, requests, url) -> None:
        if not url:
            self.end("aborted", "abort", "the canary has no URL of its own yet (no `latest` tag URL in the "
                     "traffic status); pass --smoke-url")
        failures = run_smoke(url, requests)
        if failures:
            self.rollback("rolled_back", f"smoke check against {url} failed: " + "; ".join(failures))
        self.decide("smoke", f"{len(requests)} request(s) to {url} answered as expected")

    def move(self, percent: int | None) -> None:
        if percent:
            self.await_ready()
        set_share(self.kube, self.name, percent, self.namespace)
        if percent is not None:
            self.share = percent

    def await_ready(self) -> None:
        """RawDeployment: a share rises only once the canary reports ready (KServe routes nothing to it
        before); wait up to `max_holds` intervals, then end with traffic where it is."""
        for holds in range(self.limits.max_holds + 1):
            current = state(self.kube, self.name, self.namespace)
            if current.canary_ready:
                return
            if holds == self.limits.max_holds:
                self.end("aborted", "abort", f"the canary {current.canary} did not report ready within {holds} "
                         f"interval(s); traffic left at {self.share or 0}% on it")
            self.decide("hold", f"the canary {current.canary} does not report ready yet; waiting")
            self.sleep(self.interval)

    def rollback(self, outcome: str, why: str, **figures) -> None:
        try:
            set_share(self.kube, self.name, 0, self.namespace)
        except ClusterError as exc:
            self.end("aborted", "abort", f"{why}; rolling back FAILED ({exc}): traffic may still be at "
                     f"{self.share}% on the canary", **figures)
        self.end(outcome, "rollback", f"{why}; all traffic back on the stable revision", **figures)

    def undecided(self, why: str, **figures) -> None:
        if self.on_undecided == "hold":
            self.end("aborted", "abort", f"undecided: {why}; traffic left at {self.share}% (--on-undecided hold)",
                     **figures)
        self.rollback("rolled_back_undecided", f"undecided: {why}", **figures)

    def observe(self, first: TrafficState, interval: float | None = None, passed: str = "advance") -> None:
        """Watch the current share until it is judged; returns on ADVANCE (decision `passed`)."""
        holds = 0
        while True:
            self.sleep(interval or self.interval)
            now = self.clock()
            current = state(self.kube, self.name, self.namespace)
            if current.fingerprint != first.fingerprint:
                self.undecided(f"the canary {first.canary} was replaced (traffic now: {current.split}); "
                               "its figures no longer describe what would be promoted")
            try:
                canary = self.prometheus.health(self.source, first.canary, self.namespace, self.window, now)
                stable = self.prometheus.health(self.source, first.stable, self.namespace, self.window, now)
                verdict, why = judge(canary, stable, self.limits)
            except MetricsUnavailable as exc:
                canary = stable = None
                verdict, why = "hold", str(exc)
            figures = {"canary": canary, "stable": stable, "at": now}
            if verdict == ROLLBACK:
                self.rollback("rolled_back", f"canary worse: {why}", **figures)
            if verdict == ADVANCE:
                self.decide(passed, why, **figures)
                return
            holds += 1
            if holds > self.limits.max_holds:
                self.undecided(f"{why} ({holds} intervals in a row)", **figures)
            self.decide("hold", why, **figures)
