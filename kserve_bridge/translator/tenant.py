"""A team's namespace: what it needs to deploy APIs there, isolated from other teams.

`tenant_objects("team-a")` gives the Namespace (restricted Pod Security, Istio injection), a
ResourceQuota, a LimitRange, the deployer ServiceAccount/Role/RoleBinding and the mTLS and
authorization policies of manifests/base, scoped to that namespace. Plain dicts, no cluster needed;
`kserve_bridge.cluster.tenant.apply_tenant` applies them.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from ..errors import BridgeError
from ..spec.units import parse_quantity

DEPLOYER = "kserve-bridge-deployer"
ISVC_COUNT = "count/inferenceservices.serving.kserve.io"
GRAPH_COUNT = "count/inferencegraphs.serving.kserve.io"
_DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class TenantLimits:
    """Per-namespace limits. Quotas cap the namespace's total; the LimitRange applies per container."""

    cpu: str = "8"                    # sum of CPU requests
    memory: str = "32Gi"              # sum of memory requests (and limits)
    gpus: int = 0                     # sum of nvidia.com/gpu requests
    pods: int = 50
    inference_services: int = 10
    inference_graphs: int = 5
    default_cpu: str = "200m"         # request given to a container that sets none
    default_memory: str = "256Mi"     # request and limit given to a container that sets none
    max_cpu: str = "4"                # largest per-container CPU
    max_memory: str = "16Gi"          # largest per-container memory
    groups: tuple[str, ...] = ()      # who may deploy (RBAC groups) ...
    service_accounts: tuple[str, ...] = field(default=(DEPLOYER,))  # ... and/or service accounts here

    def check(self) -> None:
        problems = []
        for key in ("cpu", "memory", "default_cpu", "default_memory", "max_cpu", "max_memory"):
            try:
                parse_quantity(getattr(self, key))
            except ValueError as exc:
                problems.append(f"{key} {getattr(self, key)!r}: {exc}")
        for key in ("gpus", "pods", "inference_services", "inference_graphs"):
            if not isinstance(getattr(self, key), int) or getattr(self, key) < 0:
                problems.append(f"{key} must be a whole number >= 0, got {getattr(self, key)!r}")
        if not problems:
            for low, high in (("default_cpu", "max_cpu"), ("default_memory", "max_memory"),
                              ("max_cpu", "cpu"), ("max_memory", "memory")):
                if parse_quantity(getattr(self, low)) > parse_quantity(getattr(self, high)):
                    problems.append(f"{low} ({getattr(self, low)}) must be <= {high} ({getattr(self, high)})")
        if not self.groups and not self.service_accounts:
            problems.append("name at least one group or service account that may deploy")
        if problems:
            raise BridgeError("invalid tenant limits: " + "; ".join(problems))


def tenant_objects(name: str, limits: TenantLimits | None = None, **options) -> list[dict]:
    """Every object of the tenant namespace `name`; `options` override TenantLimits' defaults."""
    if not isinstance(name, str) or len(name) > 63 or not _DNS_1123_LABEL.match(name):
        raise BridgeError(f"tenant name {name!r} must be a DNS-1123 label (lowercase letters, digits, '-', "
                          "at most 63 characters)")
    known = asdict(limits or TenantLimits())
    if unknown := sorted(set(options) - set(known)):
        raise BridgeError(f"unknown tenant option(s) {', '.join(unknown)}; known: {', '.join(known)}")
    merged = {**known, **options}
    limits = TenantLimits(**{**merged, "groups": tuple(merged["groups"]),
                             "service_accounts": tuple(merged["service_accounts"])})
    limits.check()
    labels = {"app.kubernetes.io/part-of": "kserve-bridge", "kserve-bridge.io/tenant": name}

    def meta(obj_name: str) -> dict:
        return {"name": obj_name, "namespace": name, "labels": dict(labels)}

    return [_namespace(name, labels), _quota(meta("kserve-bridge-quota"), limits),
            _limit_range(meta("kserve-bridge-limits"), limits),
            *({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(sa)} for sa in limits.service_accounts),
            _role(meta(DEPLOYER)), _binding(meta(DEPLOYER), name, limits), *_istio(meta, name)]


def _namespace(name: str, labels: dict) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {
        **labels, "istio-injection": "enabled",
        "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/audit": "restricted", "pod-security.kubernetes.io/warn": "restricted"}}}


def _quota(metadata: dict, limits: TenantLimits) -> dict:
    hard = {"requests.cpu": limits.cpu, "requests.memory": limits.memory, "limits.memory": limits.memory,
            "requests.nvidia.com/gpu": str(limits.gpus), "pods": str(limits.pods),
            ISVC_COUNT: str(limits.inference_services), GRAPH_COUNT: str(limits.inference_graphs)}
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": metadata, "spec": {"hard": hard}}


def _limit_range(metadata: dict, limits: TenantLimits) -> dict:
    container = {"type": "Container",
                 "defaultRequest": {"cpu": limits.default_cpu, "memory": limits.default_memory},
                 "default": {"cpu": limits.max_cpu, "memory": limits.default_memory},
                 "max": {"cpu": limits.max_cpu, "memory": limits.max_memory}}
    return {"apiVersion": "v1", "kind": "LimitRange", "metadata": metadata, "spec": {"limits": [container]}}


READ, WRITE = ["get", "list", "watch"], ["get", "list", "watch", "create", "update", "patch", "delete"]
DEPLOYER_RULES = [
    {"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices", "inferencegraphs"], "verbs": WRITE},
    {"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices/status", "inferencegraphs/status"],
     "verbs": ["get"]},
    {"apiGroups": ["networking.istio.io"], "resources": ["virtualservices"], "verbs": WRITE},
    {"apiGroups": ["autoscaling.k8s.io"], "resources": ["verticalpodautoscalers"], "verbs": WRITE},
    {"apiGroups": [""], "resources": ["pods", "resourcequotas", "limitranges"], "verbs": READ},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
]


def _role(metadata: dict) -> dict:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": metadata,
            "rules": [dict(rule, verbs=list(rule["verbs"])) for rule in DEPLOYER_RULES]}


def _binding(metadata: dict, namespace: str, limits: TenantLimits) -> dict:
    subjects = [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": g} for g in limits.groups]
    subjects += [{"kind": "ServiceAccount", "name": sa, "namespace": namespace} for sa in limits.service_accounts]
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": metadata,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": DEPLOYER},
            "subjects": subjects}


def _istio(meta, namespace: str) -> list[dict]:
    """mTLS only; predictors callable from the ingress gateway, Knative's activator and this namespace."""
    callers = [{"source": {"namespaces": ["istio-system"], "principals": [
                   "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"]}},
               {"source": {"namespaces": ["knative-serving"]}},
               {"source": {"namespaces": [namespace]}}]
    return [{"apiVersion": "security.istio.io/v1beta1", "kind": "PeerAuthentication", "metadata": meta("default"),
             "spec": {"mtls": {"mode": "STRICT"}}},
            {"apiVersion": "security.istio.io/v1beta1", "kind": "AuthorizationPolicy",
             "metadata": meta("kserve-bridge-predictors"),
             "spec": {"action": "ALLOW", "selector": {"matchLabels": {"component": "predictor"}},
                      "rules": [{"from": callers}]}}]
