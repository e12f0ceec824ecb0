"""The hook for shadow traffic: every predictor mounts its API's shadow ConfigMap,
optional, so `canary auto --shadow` can switch mirroring on in running pods (by creating
the ConfigMap) without a new revision. Absent ConfigMap: an empty directory, mirroring off."""
from __future__ import annotations

from ..contract import SHADOW_DIR, shadow_config_map
from .record import Record

VOLUME = "kserve-bridge-shadow"


def mount_shadow_config(predictor: dict, api_name: str, rec: Record) -> None:
    """Add the optional ConfigMap volume to `predictor` and mount it in its model-server container."""
    container = predictor["containers"][0] if predictor.get("containers") else predictor["model"]
    predictor["volumes"] = [*predictor.get("volumes", []),
                            {"name": VOLUME, "configMap": {"name": shadow_config_map(api_name), "optional": True}}]
    container["volumeMounts"] = [*container.get("volumeMounts", []),
                                 {"name": VOLUME, "mountPath": SHADOW_DIR, "readOnly": True}]
    rec.map("(shadow traffic)", f"optional ConfigMap {shadow_config_map(api_name)} mounted at {SHADOW_DIR} "
            "(created only by `canary auto --shadow`)")
