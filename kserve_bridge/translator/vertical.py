"""`kserve.vertical_scaling` -> a VerticalPodAutoscaler (autoscaling.k8s.io/v1) for the predictor.

Only RawDeployment APIs get one (spec/vertical.py says why): KServe names their Deployment
`<api>-predictor`. The VPA resizes the model server's container only; sidecars (istio-proxy) keep
their requests.
"""
from __future__ import annotations

from ..contract import SERVER_CONTAINER
from ..spec.models import RealtimeAPI
from .record import Record

UPDATE_MODES = {"recommend": "Off", "initial": "Initial", "auto": "Recreate"}
WHAT = {"recommend": "recommendations only (status.recommendation; pods untouched)",
        "initial": "requests set when a pod starts; running pods untouched",
        "auto": "requests set when a pod starts, and running pods evicted to resize them (only while at "
                "least 2 replicas run: the VPA updater's default --min-replicas)"}


def predictor_deployment(api_name: str) -> str:
    """The Deployment KServe creates for a RawDeployment API's predictor."""
    return f"{api_name}-predictor"


def _bounds(bounds) -> dict:
    if bounds is None:
        return {}
    return {k: v for k, v in (("cpu", bounds.cpu), ("memory", bounds.mem)) if v is not None}


def _text(values: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in values.items()) or "-"


def vertical_pod_autoscaler(api: RealtimeAPI, rec: Record, namespace: str | None) -> list[dict]:
    """[the VPA] or [] when vertical scaling is off or absent."""
    vertical = api.kserve.vertical_scaling
    if vertical is None:
        return []
    if vertical.mode == "off":
        rec.map("kserve.vertical_scaling.mode", "off: no VerticalPodAutoscaler")
        return []
    target = predictor_deployment(api.name)
    policy: dict = {"containerName": SERVER_CONTAINER, "mode": "Auto",
                    "controlledResources": list(vertical.controlled_resources)}
    if low := _bounds(vertical.min):
        policy["minAllowed"] = low
    if high := _bounds(vertical.max):
        policy["maxAllowed"] = high
    rec.map("kserve.vertical_scaling.mode", f"VerticalPodAutoscaler {target} on Deployment {target}, updateMode "
            f"{UPDATE_MODES[vertical.mode]}: {WHAT[vertical.mode]}")
    rec.map("kserve.vertical_scaling.controlled_resources",
            f"containerPolicies {SERVER_CONTAINER} controlledResources {', '.join(policy['controlledResources'])} "
            "(sidecars: mode Off)")
    if low or high:
        rec.map("kserve.vertical_scaling.min/max", f"minAllowed {_text(low)}, maxAllowed {_text(high)}")
    metadata: dict = {"name": target, "labels": {"app.kubernetes.io/name": api.name,
                                                 "app.kubernetes.io/managed-by": "kserve-bridge"}}
    if namespace:
        metadata["namespace"] = namespace
    return [{"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler", "metadata": metadata,
             "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                      "updatePolicy": {"updateMode": UPDATE_MODES[vertical.mode]},
                      "resourcePolicy": {"containerPolicies": [policy, {"containerName": "*", "mode": "Off"}]}}}]
