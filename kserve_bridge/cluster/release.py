"""Deploy a version and roll it out, in one call: what a pipeline step (Metaflow, Kubeflow
Pipelines) runs. The first version of an API is deployed and waited for; a new version of an
API already serving becomes a canary with `canary` % of traffic and, given a Prometheus, is
judged step by step against the stable version (`auto_rollout`) until it is promoted or rolled
back. Without a Prometheus the canary stays at its share for `kserve-bridge canary auto` (or a
person) to finish.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .client import Client
from .rollout import Thresholds, auto_rollout, state
from .rollout.metrics import Prometheus

DEPLOYED, UNCHANGED, CANARY = "deployed", "unchanged", "canary"  # outcomes besides auto_rollout's


@dataclass(frozen=True)
class Release:
    """How a release ended: the API's deployment id and URL, and the rollout's report."""

    api: str
    deployment_id: str | None
    url: str | None
    outcome: str  # deployed, unchanged, canary, or an auto_rollout outcome (promoted, rolled_back, ...)
    report: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """The new version serves (or waits, as a canary): not rolled back, aborted or interrupted."""
        return self.outcome in (DEPLOYED, UNCHANGED, CANARY, "promoted", "dry_run")


def release(client: Client, api_spec: dict, project_dir: str | Path | None = None, *, canary: int = 10,
            prometheus: str | None = None, steps: Sequence[int] = (10, 25, 50, 100), interval: float = 60,
            window: str | None = None, limits: Thresholds | None = None, timeout: float = 600,
            upload: bool = True) -> Release:
    """Deploy `api_spec` (files in `project_dir`) and roll it out (see the module's docstring)."""
    name = api_spec.get("name", "")
    serving = name in {s.name for s in client.list_apis()}
    status = client.create_api(api_spec, project_dir=project_dir, canary=canary if serving else None,
                               wait=True, timeout=timeout, upload=upload)
    traffic = state(client.kube, name)
    summary = {"api": name, "namespace": client.namespace, "mode": traffic.mode, "canary": traffic.canary,
               "stable": traffic.stable, "decisions": []}
    if not serving or not traffic.in_progress:
        outcome = DEPLOYED if not serving else UNCHANGED
        return Release(name, status.deployment_id, status.url, outcome, {**summary, "outcome": outcome})
    if prometheus is None:
        return Release(name, status.deployment_id, status.url, CANARY,
                       {**summary, "outcome": CANARY, "share": traffic.share})
    result = auto_rollout(client.kube, name, Prometheus(prometheus), list(steps), interval, limits, window=window)
    return Release(name, status.deployment_id, status.url, result.outcome, result.to_dict())
