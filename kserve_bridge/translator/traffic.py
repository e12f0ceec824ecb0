"""TrafficSplitter -> InferenceGraph (Splitter) and, for a shadow, an Istio VirtualService mirror."""
from __future__ import annotations

from ..spec.models import TrafficSplitter
from .record import Record

GATEWAY = "knative-serving/knative-ingress-gateway"


def inference_graph(split: TrafficSplitter, rec: Record, namespace: str | None) -> list[dict]:
    live = [t for t in split.apis if not t.shadow]
    steps = [{"name": t.name, "serviceName": t.name, "weight": t.weight} for t in live]
    rec.map("apis[].name/weight", "InferenceGraph root Splitter: " + ", ".join(f"{t.name} {t.weight}%" for t in live))
    meta: dict = {"name": split.name, "labels": {"app.kubernetes.io/name": split.name,
                                                 "app.kubernetes.io/managed-by": "kserve-bridge"}}
    if namespace:
        meta["namespace"] = namespace
    objects = [{"apiVersion": "serving.kserve.io/v1alpha1", "kind": "InferenceGraph", "metadata": meta,
                "spec": {"nodes": {"root": {"routerType": "Splitter", "steps": steps}}}}]
    shadow = next((t for t in split.apis if t.shadow), None)
    if shadow is not None:
        objects.append(_shadow_mirror(split, shadow.name, shadow.weight, namespace))
        rec.map("apis[].shadow", f"Istio VirtualService {split.name}-shadow mirrors {shadow.weight}% of "
                f"{split.endpoint} to {shadow.name} (responses discarded)")
    rec.map("networking.endpoint", f"VirtualService match {split.endpoint}" if shadow else
            f"InferenceGraph URL (the endpoint {split.endpoint} needs an ingress route of your own)")
    return objects


def _shadow_mirror(split: TrafficSplitter, shadow: str, percent: int, namespace: str | None) -> dict:
    ns = namespace or "default"
    meta: dict = {"name": f"{split.name}-shadow", "labels": {"app.kubernetes.io/name": split.name,
                                                             "app.kubernetes.io/managed-by": "kserve-bridge"}}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": "networking.istio.io/v1beta1", "kind": "VirtualService", "metadata": meta,
            "spec": {"hosts": ["*"], "gateways": [GATEWAY], "http": [{
                "match": [{"uri": {"exact": split.endpoint}}],
                "rewrite": {"uri": "/predict"},
                "route": [{"destination": {"host": f"{split.name}.{ns}.svc.cluster.local"}}],
                "mirror": {"host": f"{shadow}-predictor.{ns}.svc.cluster.local"},
                "mirrorPercentage": {"value": float(percent)}}]}}
