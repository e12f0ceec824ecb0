"""The shadow step's cluster side: a ConfigMap that tells the stable revision's model
servers to copy a share of their predict requests to the canary's own URL (the server
side is modelserver/shadow.py; every translated predictor mounts the ConfigMap,
optional). Created for the step, deleted when the rollout ends, whatever the outcome.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from ...contract import SHADOW_FILE, shadow_config_map
from ...errors import BridgeError
from ..kube import ISVC_LABEL, Kube


@dataclass(frozen=True)
class ShadowOptions:
    """Mirror `percent` % of live requests to the canary for `interval` seconds (None: the
    rollout's interval), never more than `max_in_flight` copies at once per stable pod."""

    percent: float
    interval: float | None = None
    max_in_flight: int = 4

    def __post_init__(self) -> None:
        if not 0 < self.percent <= 100:
            raise BridgeError(f"shadow percent must be within (0, 100] (got {self.percent:g})")
        if not 1 <= self.max_in_flight <= 64:
            raise BridgeError(f"shadow max in flight must be within 1..64 (got {self.max_in_flight})")


def config_map(api: str, namespace: str, target: str, stable: str | None, options: ShadowOptions) -> dict:
    """The ConfigMap object (strict-valid core/v1)."""
    config = {"target": target, "percent": options.percent, "max_in_flight": options.max_in_flight}
    if stable:
        config["source_revision"] = stable
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": shadow_config_map(api), "namespace": namespace,
                         "labels": {"app.kubernetes.io/managed-by": "kserve-bridge",
                                    ISVC_LABEL: api}},
            "data": {SHADOW_FILE: json.dumps(config, sort_keys=True)}}


class Shadow:
    """Switch mirroring on (`start`) and off again (`stop`, idempotent)."""

    def __init__(self, kube: Kube, api: str, namespace: str):
        self.kube, self.api, self.namespace, self.started = kube, api, namespace, False

    def start(self, target: str, stable: str | None, options: ShadowOptions) -> dict:
        obj = config_map(self.api, self.namespace, target, stable, options)
        self.started = True  # before the write: a failed or interrupted write is still cleaned up
        self.kube.apply(obj)
        return obj

    def stop(self) -> bool:
        """Delete the ConfigMap; True when one was deleted."""
        if not self.started:
            return False
        deleted = self.kube.delete_config_map(shadow_config_map(self.api), self.namespace)
        self.started = False
        return deleted
