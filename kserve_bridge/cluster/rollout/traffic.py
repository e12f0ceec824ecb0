"""Who takes traffic, and how to move it, in both of KServe's deployment modes.

Serverless (Knative): `spec.predictor.canaryTrafficPercent` splits traffic between the
latest revision (tag `latest`) and the last rolled-out one (tag `prev`); absent promotes,
0 rolls back. RawDeployment: `spec.canary` is a list of `{predictor, trafficPercent}`;
each canary runs as Deployment `{isvc}-{predictor.name}-predictor`; promotion copies the
canary's predictor into `spec.predictor` and removes the entry (KServe's documented way),
rollback sets its `trafficPercent` to 0 (the Deployment stays, dark). Before there is an
entry, the share is kept in an annotation for the next `deploy` (raw.py), as Serverless keeps
canaryTrafficPercent for the next revision; a share rises only once the canary reports ready
and the cluster routes canaries (Gateway API).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

from ...errors import BridgeError, ClusterError
from ..kube import Kube, Ref
from ..status import summarize
from .raw import (
    MODE_ANNOTATION,
    PENDING_ANNOTATION,
    STANDARD_MODES,
    canary_ready,
    pending_share,
    predictor_deployment,
    predictor_digest,
    require_gateway_routing,
)

SERVERLESS, RAW = "serverless", "raw"
PROMOTE = None  # the share that means "the canary takes everything"
_CANARY_ONLY = ("minReplicas", "maxReplicas")  # scaling stays the stable predictor's on promotion


@dataclass(frozen=True)
class TrafficState:
    """The canary and stable revisions of one InferenceService and the canary's share."""

    name: str
    namespace: str
    mode: str
    share: int | None  # the spec's canary percent; None: not set
    canary: str | None  # revision (Serverless) or Deployment (Raw) on trial
    stable: str | None
    canary_url: str | None
    fingerprint: str | None  # changes when the canary is replaced by another one
    split: str
    canary_ready: bool = True  # Raw: the canary reports ready (Knative routes only to ready revisions)

    @property
    def in_progress(self) -> bool:
        return self.canary is not None and self.stable is not None


def mode_of(isvc: dict) -> str:
    meta_mode = ((isvc.get("metadata") or {}).get("annotations") or {}).get(MODE_ANNOTATION)
    status_mode = (isvc.get("status") or {}).get("deploymentMode")
    raw = meta_mode in STANDARD_MODES or status_mode in STANDARD_MODES or bool((isvc.get("spec") or {}).get("canary"))
    return RAW if raw else SERVERLESS


def read_state(isvc: dict) -> TrafficState:
    meta = isvc.get("metadata") or {}
    name, namespace = meta.get("name", "?"), meta.get("namespace", "")
    if mode_of(isvc) == RAW:
        return _raw_state(isvc, name, namespace)
    s = summarize(isvc)
    canary, stable = s.canary, s.stable
    predictor = (isvc.get("status") or {}).get("components", {}).get("predictor") or {}
    url = next((t.get("url") for t in predictor.get("traffic") or [] if t.get("tag") == "latest"), None)
    canary_revision = canary.revision if canary is not None else None
    return TrafficState(name, namespace, SERVERLESS, s.canary_percent, canary_revision,
                        stable.revision if stable is not None else None, url, canary_revision, s.split())


def _raw_state(isvc: dict, name: str, namespace: str) -> TrafficState:
    spec = isvc.get("spec") or {}
    canaries = spec.get("canary") or []
    if len(canaries) > 1:
        raise BridgeError(f"{name} has {len(canaries)} canaries in spec.canary; rollouts drive exactly one")
    stable_name = (spec.get("predictor") or {}).get("name")
    stable = predictor_deployment(name, stable_name)
    if not canaries:
        pending = pending_share(isvc)
        return TrafficState(name, namespace, RAW, pending, None, stable, None, None, f"{stable} 100%", False)
    entry = canaries[0]
    cname = (entry.get("predictor") or {}).get("name", "?")
    deployment, share = predictor_deployment(name, cname), int(entry.get("trafficPercent") or 0)
    ready = {c.get("name"): c.get("ready") for c in (isvc.get("status") or {}).get("canaryStatuses") or []}
    routed = share if ready.get(cname) else 0
    version = f"{deployment}@{predictor_digest(entry.get('predictor'))}"
    return TrafficState(name, namespace, RAW, share, deployment, stable,
                        f"http://{deployment}.{namespace}.svc.cluster.local", version,
                        f"{deployment} {routed}%{'' if ready.get(cname) else ' (not ready)'}, "
                        f"{stable} {100 - routed}%", canary_ready(isvc))


class CanaryNotReady(ClusterError):
    """A RawDeployment canary's share would rise before it reports ready."""


def share_patch(isvc: dict, percent: int | None) -> dict | None:
    """The merge patch that gives the canary `percent` % (PROMOTE: all of it); None if already so."""
    if percent is not None and not 0 <= percent <= 100:
        raise BridgeError(f"canary percent must be between 0 and 100 (got {percent})")
    spec = isvc.get("spec") or {}
    if mode_of(isvc) == SERVERLESS:
        current = (spec.get("predictor") or {}).get("canaryTrafficPercent")
        return None if current == percent else {"spec": {"predictor": {"canaryTrafficPercent": percent}}}
    canaries = copy.deepcopy(spec.get("canary") or [])
    name = (isvc.get("metadata") or {}).get("name", "?")
    pending = pending_share(isvc)
    clear = {"metadata": {"annotations": {PENDING_ANNOTATION: None}}} if pending is not None else {}
    if len(canaries) > 1:
        raise BridgeError(f"{name} runs in RawDeployment mode with {len(canaries)} entries in spec.canary: "
                          "rollouts drive exactly one")
    if not canaries:  # no canary yet: the share waits for the next deploy
        if percent is None:
            return clear or None
        return None if pending == percent else {"metadata": {"annotations": {PENDING_ANNOTATION: str(percent)}}}
    if percent is None:
        promoted = {k: v for k, v in canaries[0]["predictor"].items() if k not in _CANARY_ONLY}
        return {**clear, "spec": {"predictor": promoted, "canary": None}}
    current = canaries[0].get("trafficPercent") or 0
    if current == percent:
        return None
    if percent > current and not canary_ready(isvc):
        cname = (canaries[0].get("predictor") or {}).get("name", "?")
        raise CanaryNotReady(f"{name}: canary {cname} does not report ready yet (status.canaryStatuses); its share "
                             f"stays {current}% until it does (KServe routes nothing to it before)")
    canaries[0]["trafficPercent"] = percent
    return {"spec": {"canary": canaries}}  # listType=atomic: the list is replaced whole


def set_share(kube: Kube, name: str, percent: int | None, namespace: str | None = None,
              dry_run: bool = False) -> tuple[dict, dict | None]:
    """Move traffic; returns (the object as stored, the patch written or, with `dry_run`, that would be)."""
    ref = Ref.isvc(name, namespace or kube.namespace)

    def patch_for(isvc: dict) -> dict | None:
        patch = share_patch(isvc, percent)
        if patch is not None and percent and mode_of(isvc) == RAW:
            require_gateway_routing(kube, isvc)
        return patch

    if dry_run:
        current = kube.get(ref)
        return current, patch_for(current)
    written: list[dict | None] = [None]

    def change(isvc: dict) -> dict | None:
        written[0] = patch_for(isvc)
        return copy.deepcopy(written[0])

    obj, changed = kube.update(ref, change)
    return obj, written[0] if changed else None


def state(kube: Kube, name: str, namespace: str | None = None) -> TrafficState:
    try:
        return read_state(kube.get(Ref.isvc(name, namespace or kube.namespace)))
    except KeyError as exc:  # an object without the fields KServe always writes
        raise ClusterError(f"{name}: unexpected InferenceService shape ({exc})") from exc
