"""RawDeployment canaries (KServe's `spec.canary`, since v0.20): the object `deploy` applies
when a canary is pending or running, KServe's admission rules for `spec.canary`, and the
routing KServe needs before a canary's share means anything.

Facts from kserve/kserve (v0.21): the validating webhook's `validateCanarySpecs`
(pkg/apis/serving/v1beta1/inference_service_validation.go) holds the rules checked here;
the controller merges each canary's predictor over the stable one and runs it as Deployment
`{isvc}-{name}-predictor` with fixed replicas; traffic weights are written only into Gateway
API HTTPRoutes (`applyCanaryWeights`), and only for canaries whose status says ready. Without
`enableGatewayApi` in the `ingress` key of ConfigMap `inferenceservice-config` (namespace
`kserve`), with `disableIngressCreation`, or for a cluster-local service, a canary silently
gets nothing, so those are refused before any traffic moves.
"""
from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import re

from ...contract import DEPLOYMENT_ID_LABEL, SERVER_CONTAINER
from ...errors import BridgeError, NotFoundError, TranslationError
from ..kube import Kube

PENDING_ANNOTATION = "kserve-bridge.io/canary-percent"  # share the next deploy's canary gets (no canary yet)
MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
STANDARD_MODES = ("RawDeployment", "Standard")  # KServe's webhook turns RawDeployment into Standard
KSERVE_NAMESPACE_ENV = "KSERVE_BRIDGE_KSERVE_NAMESPACE"  # where KServe's controller runs (default kserve)
CONFIG_MAP = "inferenceservice-config"
GATEWAY_API = ("gateway.networking.k8s.io", "v1")
VISIBILITY_LABEL, CLUSTER_LOCAL = "networking.kserve.io/visibility", "cluster-local"
_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")  # PredictorSpec.name's kubebuilder pattern
_IMPLEMENTATIONS = ("xgboost", "pytorch", "triton", "sklearn", "tensorflow", "onnx", "pmml", "lightgbm",
                    "paddle", "huggingface", "model")
_FIXED_REPLICAS = ("maxReplicas", "scaleTarget", "scaleMetric", "autoScaling")  # refused on a canary
_DNS_LABEL_MAX = 63  # the canary's Service name is a DNS-1035 label
log = logging.getLogger(__name__)


def predictor_deployment(isvc_name: str, predictor_name: str | None) -> str:
    """The Deployment (and Service) KServe runs a predictor as: `{isvc}-{name}-predictor`, or
    `{isvc}-predictor` for a predictor without a name."""
    return f"{isvc_name}-{predictor_name}-predictor" if predictor_name else f"{isvc_name}-predictor"


def predictor_digest(predictor: dict | None) -> str:
    """A short content hash of a predictor spec: a canary's version where no deployment id names it."""
    return hashlib.sha256(json.dumps(predictor, sort_keys=True).encode()).hexdigest()[:12]


def canary_name(isvc: dict) -> str:
    """The canary's predictor name: from the deployment id, so each version gets its own Deployment."""
    labels = (isvc.get("metadata") or {}).get("labels") or {}
    dep_id = labels.get(DEPLOYMENT_ID_LABEL) or predictor_digest((isvc.get("spec") or {}).get("predictor"))
    return f"v-{dep_id}"


def canary_object(stored: dict, new: dict, percent: int) -> dict:
    """`new` (a translated InferenceService) as the canary of `stored`: spec.predictor stays the stored
    (stable) one; new's predictor becomes the one spec.canary entry, taking `percent` %. KServe gives a
    canary fixed replicas, at most the stable's minReplicas: autoscaling fields are left out."""
    stable = copy.deepcopy((stored.get("spec") or {}).get("predictor") or {})
    candidate = {k: v for k, v in copy.deepcopy(new["spec"]["predictor"]).items() if k not in _FIXED_REPLICAS}
    candidate["name"] = canary_name(new)
    if "model" in candidate:  # the CRD requires the container name inside spec.canary (not in spec.predictor)
        candidate["model"] = {"name": SERVER_CONTAINER, **candidate["model"]}
    candidate["minReplicas"] = min(candidate.get("minReplicas", 1), stable.get("minReplicas", 1))
    obj = copy.deepcopy(new)
    obj["spec"] = {**obj["spec"], "predictor": stable, "canary": [{"predictor": candidate,
                                                                  "trafficPercent": percent}]}
    return obj


def pending_share(isvc: dict) -> int | None:
    """The share the next deploy's canary gets (PENDING_ANNOTATION), or None (unset or not a number)."""
    value = ((isvc.get("metadata") or {}).get("annotations") or {}).get(PENDING_ANNOTATION)
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


def staged_canary(kube: Kube, stored: dict, new: dict, canary: int | None) -> dict | None:
    """What `deploy` applies for `new` over the RawDeployment `stored`: None when no canary is asked
    for, pending or running (`new` then replaces spec.predictor); else `new` as the spec.canary entry
    at the share asked for, else the pending one, else the running canary's (a new version replaces
    the canary, as a new Knative revision takes canaryTrafficPercent). Checked against KServe's
    admission rules and, for a share above 0, its routing, before anything is written."""
    running = (stored.get("spec") or {}).get("canary") or []
    pending = pending_share(stored)
    share = canary if canary is not None else running[0].get("trafficPercent", 0) if running else pending
    if share is None:
        return None
    if len(running) > 1:
        name = (stored.get("metadata") or {}).get("name", "?")
        raise BridgeError(f"{name} has {len(running)} entries in spec.canary; deploy replaces exactly one")
    candidate = canary_object(stored, new, int(share))
    check_admission(candidate)
    if int(share):
        require_gateway_routing(kube, candidate)
    return candidate


def admission_problems(isvc: dict) -> list[str]:
    """What KServe's validating webhook would refuse about spec.canary (empty: nothing)."""
    spec, meta = isvc.get("spec") or {}, isvc.get("metadata") or {}
    canaries = spec.get("canary") or []
    if not canaries:
        return []
    problems = []
    mode = (meta.get("annotations") or {}).get(MODE_ANNOTATION)
    if mode not in STANDARD_MODES:
        problems.append(f"metadata.annotations[{MODE_ANNOTATION}]: spec.canary needs Standard (RawDeployment) "
                        f"mode (got {mode!r})")
    stable = spec.get("predictor") or {}
    if not stable.get("model") and not _storage_uri(stable):
        problems.append("spec.predictor: a canary needs a stable predictor with a model (a storageUri; "
                        "multi-model serving has no canary)")
    names: set[str] = set()
    total = 0
    for i, entry in enumerate(canaries):
        where, predictor = f"spec.canary[{i}]", entry.get("predictor") or {}
        name = predictor.get("name") or ""
        if not name:
            problems.append(f"{where}.predictor.name is required")
        elif not _NAME.match(name):
            problems.append(f"{where}.predictor.name {name!r} must match {_NAME.pattern}")
        elif name in names:
            problems.append(f"{where}.predictor.name {name!r} is duplicated")
        elif name == stable.get("name"):
            problems.append(f"{where}.predictor.name {name!r} is the stable predictor's name")
        elif len(deployment := predictor_deployment(meta.get("name", ""), name)) > _DNS_LABEL_MAX:
            problems.append(f"{where}.predictor.name: Deployment/Service {deployment} is longer than "
                            f"{_DNS_LABEL_MAX} characters (shorten the API name)")
        names.add(name)
        share = entry.get("trafficPercent")
        if not isinstance(share, int) or not 0 <= share <= 100:
            problems.append(f"{where}.trafficPercent must be between 0 and 100 (got {share!r})")
        else:
            total += share
        implementations = [k for k in _IMPLEMENTATIONS if predictor.get(k) is not None]
        if len(implementations) + bool(predictor.get("containers")) != 1:
            problems.append(f"{where}.predictor: exactly one of {', '.join(_IMPLEMENTATIONS)} or containers")
        if predictor.get("model") is not None and not predictor["model"].get("name"):
            problems.append(f"{where}.predictor.model.name is required (the container name, e.g. {SERVER_CONTAINER})")
        if predictor.get("workerSpec") is not None:
            problems.append(f"{where}.predictor.workerSpec: multi-node predictors have no canary")
        problems += [f"{where}.predictor.{field}: a canary has fixed replicas" for field in _FIXED_REPLICAS
                     if predictor.get(field) not in (None, 0)]
        stable_min = stable.get("minReplicas", 1)
        if predictor.get("minReplicas") is not None and predictor["minReplicas"] > stable_min:
            problems.append(f"{where}.predictor.minReplicas ({predictor['minReplicas']}) must not exceed the "
                            f"stable predictor's ({stable_min})")
    if total > 100:
        problems.append(f"spec.canary: the trafficPercent values add up to {total} (at most 100)")
    return problems


def check_admission(isvc: dict) -> None:
    problems = admission_problems(isvc)
    if problems:
        name = (isvc.get("metadata") or {}).get("name", "?")
        raise TranslationError(f"{name}: KServe would refuse this spec.canary:\n" +
                               "\n".join(f"  {p}" for p in problems))


def canary_ready(isvc: dict) -> bool:
    """Whether the (one) canary reports ready for the current spec (KServe routes only to ready ones)."""
    canaries = (isvc.get("spec") or {}).get("canary") or []
    if not canaries:
        return False
    status, meta = isvc.get("status") or {}, isvc.get("metadata") or {}
    observed = status.get("observedGeneration")
    if observed is not None and observed != meta.get("generation"):
        return False  # the controller has not seen this spec yet
    name = (canaries[0].get("predictor") or {}).get("name")
    return any(c.get("name") == name and c.get("ready") for c in status.get("canaryStatuses") or [])


def _storage_uri(predictor: dict) -> str | None:
    """The stable predictor's storageUri, as KServe's GetStorageUri reads it (custom container: STORAGE_URI)."""
    for key in _IMPLEMENTATIONS:
        if (predictor.get(key) or {}).get("storageUri"):
            return predictor[key]["storageUri"]
    for container in predictor.get("containers") or []:
        if container.get("name") == SERVER_CONTAINER:
            return next((e.get("value") for e in container.get("env") or [] if e.get("name") == "STORAGE_URI"), None)
    return None


def require_gateway_routing(kube: Kube, isvc: dict) -> None:
    """Raise with the fix when KServe would not route a share to this API's canary; log a warning
    when that cannot be told (KServe's ConfigMap unreadable)."""
    problem = _routing_unknown(kube, isvc)
    if problem:
        log.warning("warning: could not check that the cluster routes canary traffic: %s", problem)


def _routing_unknown(kube: Kube, isvc: dict) -> str | None:
    namespace = os.environ.get(KSERVE_NAMESPACE_ENV) or "kserve"
    name = (isvc.get("metadata") or {}).get("name", "?")
    where = f"ConfigMap {CONFIG_MAP} (namespace {namespace}, key ingress)"
    why_none = f"{name}: KServe gives a RawDeployment canary its share only through Gateway API HTTPRoutes"
    try:
        ingress = json.loads((kube.config_map(CONFIG_MAP, namespace).get("data") or {}).get("ingress") or "{}")
    except NotFoundError:
        return f"no {CONFIG_MAP} in namespace {namespace} (set {KSERVE_NAMESPACE_ENV} to KServe's namespace)"
    except BridgeError as exc:  # e.g. no permission to read KServe's namespace
        return str(exc)
    except ValueError as exc:
        return f"{where} is not JSON ({exc})"
    if not ingress.get("enableGatewayApi"):
        raise BridgeError(f"{why_none}, and {where} has enableGatewayApi false: the canary would get no traffic. "
                          f"Set \"enableGatewayApi\": true there (with the Gateway API CRDs and the Gateway named "
                          f"by kserveIngressGateway installed) and restart the KServe controller")
    if ingress.get("disableIngressCreation"):
        raise BridgeError(f"{why_none}, and {where} has disableIngressCreation true (no HTTPRoutes): set it false")
    labels = (isvc.get("metadata") or {}).get("labels") or {}
    if labels.get(VISIBILITY_LABEL) == CLUSTER_LOCAL or ingress.get("ingressDomain") == "svc.cluster.local":
        raise BridgeError(f"{why_none}, and a cluster-local InferenceService gets none: remove the label "
                          f"{VISIBILITY_LABEL}={CLUSTER_LOCAL} (or the cluster-local ingressDomain in {where})")
    if "HTTPRoute" not in kube.served_kinds(*GATEWAY_API):
        raise BridgeError(f"{why_none}, and this cluster does not serve the HTTPRoute kind "
                          f"({'/'.join(GATEWAY_API)}): install the Gateway API CRDs and restart the KServe controller")
    return None
