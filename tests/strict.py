"""Strict validation that runs in a plain clone (no ../shared).

KServe's kinds are read into the kserve SDK's typed models, which refuse a field the CRD lacks
(tests/translate/sdk_roundtrip.py); core Kubernetes kinds are checked by kubernetes-validate
(Kubernetes' own schemas, strict: unknown fields and wrong types are errors). Kinds no installed
package has a schema for (Istio, the Prometheus Operator, the VPA) are listed in `UNCHECKED` and
left to ../shared's validator, which tests run as a second opinion when it is present.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import kubernetes_validate
from kubernetes_validate.utils import latest_version

from tests.translate.sdk_roundtrip import UnknownField, to_model

SDK_TYPES = {"InferenceService": "V1beta1InferenceService", "InferenceGraph": "V1alpha1InferenceGraph",
             "ClusterServingRuntime": "V1alpha1ClusterServingRuntime", "ServingRuntime": "V1alpha1ServingRuntime"}
UNCHECKED = {"PeerAuthentication", "AuthorizationPolicy", "VirtualService", "DestinationRule", "PodMonitor",
             "ServiceMonitor", "PrometheusRule", "VerticalPodAutoscaler"}
K8S_VERSION = latest_version()


def problems(obj: dict[str, Any]) -> list[str]:
    """What a strict API server would refuse in `obj` (empty: accepted, or a kind in UNCHECKED)."""
    kind = obj.get("kind", "")
    where = f"{kind}/{obj.get('metadata', {}).get('name', '?')}"
    if kind in SDK_TYPES:
        try:
            to_model(obj, SDK_TYPES[kind])
        except (UnknownField, TypeError, ValueError) as exc:
            return [f"{where}: {exc}"]
        return []
    if kind in UNCHECKED:
        return []
    try:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{where}: {exc.message} at {'/'.join(str(p) for p in exc.path)}"]
    except kubernetes_validate.SchemaNotFoundError:
        return [f"{where}: no schema for {obj.get('apiVersion')} {kind} (add it to UNCHECKED if no package has one)"]
    return []


def assert_strict(objects: Iterable[dict[str, Any]]) -> int:
    """Fails with every problem found; returns how many objects were checked against a schema."""
    objects = [o for o in objects if o]
    found = [p for o in objects for p in problems(o)]
    assert not found, "\n".join(found)
    return sum(1 for o in objects if o.get("kind") not in UNCHECKED)
