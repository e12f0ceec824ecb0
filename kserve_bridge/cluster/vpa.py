"""The VerticalPodAutoscaler beside an API: its current recommendation next to the requests."""
from __future__ import annotations

from ..contract import SERVER_CONTAINER
from ..errors import ClusterError
from .kube import Kube, Ref


def vpa_ref(api: str, namespace: str) -> Ref:
    return Ref("autoscaling.k8s.io", "v1", "verticalpodautoscalers", namespace, f"{api}-predictor")


def _resources(values: dict | None) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted((values or {}).items())) or "-"


def requests_of(isvc: dict) -> dict:
    predictor = (isvc.get("spec") or {}).get("predictor") or {}
    container = predictor.get("model") or (predictor.get("containers") or [{}])[0]
    return (container.get("resources") or {}).get("requests") or {}


def vpa_rows(kube: Kube, isvc: dict) -> list[tuple[str, str]]:
    """(label, value) rows for `kserve-bridge get API`; none when the API has no VPA (or it cannot be read)."""
    meta = isvc.get("metadata") or {}
    rows = [("requests", _resources(requests_of(isvc)))]
    try:
        vpa = kube.get(vpa_ref(meta.get("name", ""), meta.get("namespace") or kube.namespace))
    except ClusterError:  # no VPA, no VPA CRD, or not allowed to read it
        return rows
    mode = ((vpa.get("spec") or {}).get("updatePolicy") or {}).get("updateMode", "Recreate")
    rows.append(("vpa", f"{vpa['metadata']['name']} (updateMode {mode})"))
    recs = ((vpa.get("status") or {}).get("recommendation") or {}).get("containerRecommendations") or []
    rec = next((r for r in recs if r.get("containerName") == SERVER_CONTAINER), None)
    if rec is None:
        rows.append(("vpa recommendation", "none yet (the recommender needs a few minutes of metrics)"))
        return rows
    rows.append(("vpa recommendation", _resources(rec.get("target"))))
    rows.append(("vpa range", f"{_resources(rec.get('lowerBound'))} .. {_resources(rec.get('upperBound'))}"))
    return rows


def delete_vpa(kube: Kube, api: str) -> bool:
    """Delete the API's VPA if it has one (it has no owner reference to the InferenceService)."""
    try:
        kube.delete(vpa_ref(api, kube.namespace))
    except ClusterError:  # none, or no VPA CRD on this cluster
        return False
    return True
