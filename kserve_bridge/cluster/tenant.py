"""Server-side apply a tenant's objects: core and RBAC kinds with the typed clients, Istio as custom objects."""
from __future__ import annotations

from .kube import APPLY_PATCH, FIELD_MANAGER, Kube

_CORE = {"ResourceQuota": "resource_quota", "LimitRange": "limit_range", "ServiceAccount": "service_account"}
_RBAC = {"Role": "role", "RoleBinding": "role_binding"}
_ISTIO_PLURALS = {"PeerAuthentication": "peerauthentications", "AuthorizationPolicy": "authorizationpolicies"}


def apply_object(kube: Kube, obj: dict) -> dict:
    """Server-side apply one tenant object (field manager kserve-bridge, force) with the typed client."""
    from kubernetes import client
    kind, meta = obj["kind"], obj["metadata"]
    options = {"field_manager": FIELD_MANAGER, "force": True, "_content_type": APPLY_PATCH}
    what = f"apply {kind}/{meta['name']}"
    if kind == "Namespace":
        api = client.CoreV1Api(kube.api.api_client)
        stored = kube._call(what, None, api.patch_namespace, meta["name"], obj, **options)
    elif kind in _CORE or kind in _RBAC:
        group_api = (client.CoreV1Api if kind in _CORE else client.RbacAuthorizationV1Api)(kube.api.api_client)
        method = getattr(group_api, f"patch_namespaced_{_CORE.get(kind) or _RBAC[kind]}")
        stored = kube._call(what, None, method, meta["name"], meta["namespace"], obj, **options)
    else:
        group, version = obj["apiVersion"].split("/")
        return kube._call(what, None, kube.api.patch_namespaced_custom_object, group, version, meta["namespace"],
                          _ISTIO_PLURALS[kind], meta["name"], obj, **options)
    return kube.api.api_client.sanitize_for_serialization(stored)


def apply_tenant(kube: Kube, objects: list[dict]) -> list[dict]:
    """Apply every object in order (the Namespace first); returns them as stored."""
    return [apply_object(kube, obj) for obj in objects]


def create_tenant(name: str, *, kubeconfig: str | None = None, context: str | None = None,
                  **limits) -> list[dict]:
    """`kserve-bridge tenant NAME --apply` from Python: build the objects (TenantLimits options) and apply them."""
    from ..translator.tenant import tenant_objects
    objects = tenant_objects(name, **limits)
    return apply_tenant(Kube(namespace=name, kubeconfig=kubeconfig, context=context), objects)
