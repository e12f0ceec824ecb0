"""Server-side apply a tenant's objects (Namespace, quota, RBAC, Istio policies) in order."""
from __future__ import annotations

from .kube import Kube


def apply_tenant(kube: Kube, objects: list[dict]) -> list[dict]:
    """Apply every object in order (the Namespace first); returns them as stored."""
    return [kube.apply(obj) for obj in objects]


def create_tenant(name: str, *, kubeconfig: str | None = None, context: str | None = None,
                  **limits) -> list[dict]:
    """`kserve-bridge tenant NAME --apply` from Python: build the objects (TenantLimits options) and apply them."""
    from ..translator.tenant import tenant_objects
    objects = tenant_objects(name, **limits)
    return apply_tenant(Kube(namespace=name, kubeconfig=kubeconfig, context=context), objects)
