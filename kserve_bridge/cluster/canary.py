"""Canary rollouts on an InferenceService: set, promote, roll back (in Serverless and
RawDeployment mode alike), and `auto_rollout`, which promotes step by step while the
canary holds up against the stable revision. The parts live in `cluster.rollout`;
this module is the API a promotion script calls.
"""
from __future__ import annotations

from .kube import Kube, Ref
from .rollout import (  # noqa: F401
    EXIT_CODES,
    Decision,
    RolloutResult,
    ShadowOptions,
    Thresholds,
    TrafficState,
    auto_rollout,
    judge,
    load_smoke,
    state,
)
from .rollout.traffic import PROMOTE, set_share
from .status import ApiStatus, summarize


def set_canary_percent(kube: Kube, name: str, percent: int | None, namespace: str | None = None,
                       dry_run: bool = False) -> tuple[ApiStatus, dict | None]:
    """Give the canary `percent` % (None: promote); returns the status and the patch written
    (None: nothing to change). With `dry_run` nothing is written and the patch is the one that would be."""
    obj, patch = set_share(kube, name, percent, namespace, dry_run=dry_run)
    return summarize(obj), patch


def start(kube: Kube, name: str, percent: int, namespace: str | None = None,
          dry_run: bool = False) -> tuple[ApiStatus, dict | None]:
    """Serverless: the next revision (or the current canary) takes `percent` %.
    RawDeployment: the spec.canary entry takes `percent` %."""
    return set_canary_percent(kube, name, percent, namespace, dry_run)


def promote(kube: Kube, name: str, namespace: str | None = None,
            dry_run: bool = False) -> tuple[ApiStatus, dict | None]:
    """Send all traffic to the canary (Serverless: remove canaryTrafficPercent; Raw: the
    canary's predictor becomes spec.predictor and the spec.canary entry goes)."""
    return set_canary_percent(kube, name, PROMOTE, namespace, dry_run)


def rollback(kube: Kube, name: str, namespace: str | None = None,
             dry_run: bool = False) -> tuple[ApiStatus, dict | None]:
    """Send all traffic back to the stable revision (canary share 0)."""
    return set_canary_percent(kube, name, 0, namespace, dry_run)


def status(kube: Kube, name: str, namespace: str | None = None) -> ApiStatus:
    return summarize(kube.get(Ref.isvc(name, namespace or kube.namespace)))


def traffic(kube: Kube, name: str, namespace: str | None = None) -> TrafficState:
    """Canary, stable, share and mode of one InferenceService."""
    return state(kube, name, namespace)
