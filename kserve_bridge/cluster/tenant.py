"""Server-side apply a tenant's objects (core, RBAC and Istio kinds) through the REST paths."""
from __future__ import annotations

from .kube import APPLY_PATCH, FIELD_MANAGER, Kube

_PLURALS = {"Namespace": "namespaces", "ResourceQuota": "resourcequotas", "LimitRange": "limitranges",
            "ServiceAccount": "serviceaccounts", "Role": "roles", "RoleBinding": "rolebindings",
            "PeerAuthentication": "peerauthentications", "AuthorizationPolicy": "authorizationpolicies"}
CLUSTER_SCOPED = {"Namespace"}


def object_path(obj: dict) -> str:
    """The REST path of one object: /api/v1/... for the core group, /apis/<group>/<version>/... otherwise."""
    api_version, kind, meta = obj["apiVersion"], obj["kind"], obj["metadata"]
    prefix = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
    plural = _PLURALS[kind]
    if kind in CLUSTER_SCOPED:
        return f"{prefix}/{plural}/{meta['name']}"
    return f"{prefix}/namespaces/{meta['namespace']}/{plural}/{meta['name']}"


def request(kube: Kube, method: str, path: str, body: dict | None = None, **query: str) -> dict:
    """One authenticated call to the API server, errors mapped like every other cluster call."""
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = APPLY_PATCH
    return kube._call(f"{method} {path}", None, kube.api.api_client.call_api, path, method,
                      query_params=list(query.items()), header_params=headers, body=body,
                      response_type="object", auth_settings=["BearerToken"], _return_http_data_only=True)


def apply_tenant(kube: Kube, objects: list[dict]) -> list[dict]:
    """Server-side apply (field manager kserve-bridge, force) in order: the Namespace first."""
    return [request(kube, "PATCH", object_path(obj), obj, fieldManager=FIELD_MANAGER, force="true")
            for obj in objects]
