"""Will an API fit its namespace's ResourceQuota at max_replicas? Checked before `deploy` applies.

Per quota and resource: what the API needs at `maxReplicas` (the model server's requests times the
replicas; sidecars such as queue-proxy and istio-proxy come on top and are not counted) against
what is left (hard - used). A request the API does not set is the namespace's LimitRange default,
as Kubernetes would give it. An API that already runs is credited with what its pods use now, since
`used` counts them.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..spec.units import format_quantity, parse_quantity
from .kube import ISVC_LABEL, Kube

ISVC_COUNT = "count/inferenceservices.serving.kserve.io"
_RESOURCE_KEYS = {  # quota key -> (requests or limits, resource)
    "requests.cpu": ("requests", "cpu"), "cpu": ("requests", "cpu"),
    "requests.memory": ("requests", "memory"), "memory": ("requests", "memory"),
    "limits.cpu": ("limits", "cpu"), "limits.memory": ("limits", "memory"),
    "requests.nvidia.com/gpu": ("requests", "nvidia.com/gpu"),
}


@dataclass(frozen=True)
class Shortfall:
    """One quota resource the API would exceed."""

    api: str
    quota: str
    resource: str
    replicas: int
    per_replica: Decimal
    need: Decimal
    left: Decimal
    hard: Decimal
    used: Decimal

    def __str__(self) -> str:
        def q(value: Decimal) -> str:
            return format_quantity(value, binary="memory" in self.resource)
        each = "" if self.resource in ("pods", ISVC_COUNT) else f" ({self.replicas} x {q(self.per_replica)})"
        return (f"{self.api} at max_replicas {self.replicas} would not fit ResourceQuota {self.quota}: "
                f"{self.resource} needs {q(self.need)}{each}, {q(self.left)} left of {q(self.hard)} "
                f"({q(self.used)} used)")


def _container_resources(isvc: dict) -> dict:
    predictor = isvc["spec"]["predictor"]
    container = predictor.get("model") or (predictor.get("containers") or [{}])[0]
    return container.get("resources") or {}


def _requests_of(resources: dict, kind: str, resource: str) -> Decimal:
    values = resources.get(kind) or {}
    if resource not in values and kind == "requests":  # Kubernetes defaults a missing request to the limit
        values = resources.get("limits") or {}
    return parse_quantity(values[resource]) if resource in values else Decimal(0)


def container_defaults(limit_ranges: list[dict]) -> dict:
    """What a LimitRange gives a container that sets no request/limit: {"requests": {...}, "limits": {...}}."""
    out: dict = {"requests": {}, "limits": {}}
    for item in (i for lr in limit_ranges for i in (lr.get("spec") or {}).get("limits") or []):
        if item.get("type") == "Container":
            out["limits"].update(item.get("default") or {})
            out["requests"].update({**(item.get("default") or {}), **(item.get("defaultRequest") or {})})
    return out


def _with_defaults(resources: dict, defaults: dict) -> dict:
    """The container's resources after LimitRange defaulting (a missing request falls back to the limit)."""
    limits = {**defaults.get("limits", {}), **(resources.get("limits") or {})}
    requests = {**defaults.get("requests", {}), **(resources.get("limits") or {}), **(resources.get("requests") or {})}
    return {"requests": requests, "limits": limits}


def _needs(isvc: dict, key: str, exists: bool, defaults: dict) -> tuple[Decimal, Decimal]:
    """(per replica, at max replicas) of one quota key for an InferenceService."""
    replicas = int(isvc["spec"]["predictor"].get("maxReplicas") or 1)
    if key == "pods":
        return Decimal(1), Decimal(replicas)
    if key == ISVC_COUNT:
        return Decimal(0 if exists else 1), Decimal(0 if exists else 1)
    each = _requests_of(_with_defaults(_container_resources(isvc), defaults), *_RESOURCE_KEYS[key])
    return each, each * replicas


def _running(pods: list[dict], key: str) -> Decimal:
    """What an API's current pods count against one quota key (every container, sidecars included)."""
    if key == "pods":
        return Decimal(len(pods))
    if key == ISVC_COUNT:
        return Decimal(0)
    kind, resource = _RESOURCE_KEYS[key]
    return sum((_requests_of(c.get("resources") or {}, kind, resource)
                for pod in pods for c in (pod.get("spec") or {}).get("containers") or []), Decimal(0))


def shortfalls(objects: list[dict], quotas: list[dict], pods_of: dict[str, list[dict]],
               existing: set[str], defaults: dict | None = None) -> list[Shortfall]:
    """Every (API, quota, resource) that would not fit; pure, for the objects `deploy` is about to apply."""
    out = []
    for isvc in (o for o in objects if o.get("kind") == "InferenceService"):
        name = isvc["metadata"]["name"]
        replicas = int(isvc["spec"]["predictor"].get("maxReplicas") or 1)
        for quota in quotas:
            status = quota.get("status") or {}
            hard = status.get("hard") or (quota.get("spec") or {}).get("hard") or {}
            used = status.get("used") or {}
            for key in sorted(hard):
                if key not in _RESOURCE_KEYS and key not in ("pods", ISVC_COUNT):
                    continue
                each, need = _needs(isvc, key, name in existing, defaults or {})
                hard_v, used_v = parse_quantity(hard[key]), parse_quantity(used.get(key, "0"))
                left = hard_v - used_v + _running(pods_of.get(name, []), key)
                if need > left:
                    out.append(Shortfall(name, quota["metadata"]["name"], key, replicas, each, need,
                                         max(left, Decimal(0)), hard_v, used_v))
    return out


def check_quota(kube: Kube, objects: list[dict], namespace: str | None = None) -> list[Shortfall]:
    """Read the namespace's ResourceQuotas (and the pods of APIs that already run) and compare."""
    from kubernetes import client
    namespace = namespace or kube.namespace
    core = client.CoreV1Api(kube.api.api_client)
    serialize = kube.api.api_client.sanitize_for_serialization
    quotas = serialize(kube._call("LIST resourcequotas", None, core.list_namespaced_resource_quota,
                                  namespace)).get("items") or []
    if not quotas:
        return []
    limit_ranges = serialize(kube._call("LIST limitranges", None, core.list_namespaced_limit_range,
                                        namespace)).get("items") or []
    names = [o["metadata"]["name"] for o in objects if o.get("kind") == "InferenceService"]
    existing = {i["metadata"]["name"] for i in kube.list("serving.kserve.io", "v1beta1", "inferenceservices",
                                                           namespace)}
    pods_of = {name: serialize(kube._call("LIST pods", None, core.list_namespaced_pod, namespace,
                                          label_selector=f"{ISVC_LABEL}={name}")).get("items") or []
               for name in names if name in existing}
    return shortfalls(objects, quotas, pods_of, existing, container_defaults(limit_ranges))


class QuotaWarning(UserWarning):
    """An API at max_replicas would not fit the namespace's ResourceQuota left."""


def warn_quota(kube: Kube, objects: list[dict]) -> list[Shortfall]:
    """`check_quota` for the Python client: each shortfall as a QuotaWarning; an unreadable quota is skipped."""
    import warnings

    from ..errors import ClusterError
    try:
        short = check_quota(kube, objects)
    except ClusterError:
        return []
    for item in short:
        warnings.warn(f"{item} (sidecars not counted)", QuotaWarning, stacklevel=3)
    return short
