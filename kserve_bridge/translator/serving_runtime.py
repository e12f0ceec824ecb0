"""The ClusterServingRuntime manifest of one runtime of the image table (`kserve_bridge/runtimes.py`).

Rendered here, beside the InferenceService, so that both take the pod's probes, termination policy and
security context from the same modules (scripts/update_runtimes.py writes manifests/base from it).
"""
from __future__ import annotations

from ..contract import HTTP_PORT, MODEL_DIR, SERVER_CONTAINER, server_args
from ..runtimes import MODEL_FORMAT, Runtime
from .pod import TERMINATION, ports, probes
from .security import RUN_AS_USER, container_security_context


def cluster_serving_runtime(rt: Runtime) -> dict:
    """The ClusterServingRuntime manifest of one runtime (GPU runtimes ask for no GPU themselves:
    the InferenceService's compute.gpu adds the limit)."""
    formats = [{"name": MODEL_FORMAT, "version": "1", "autoSelect": rt.auto_select}]
    for f in rt.frameworks:  # kserve-bridge-<framework>, for InferenceServices written by hand
        entry: dict = {"name": f"{MODEL_FORMAT}-{f}", "version": "1", "autoSelect": False}
        if rt.accelerator == "cpu" and (rt.auto_select or f == rt.frameworks[-1]):
            # One priority per runtime and format: the specialised image first, then the full one.
            entry.update(autoSelect=True, priority=1 if rt.auto_select else 2)
        formats.append(entry)
    return {
        "apiVersion": "serving.kserve.io/v1alpha1", "kind": "ClusterServingRuntime",
        "metadata": {"name": rt.name, "labels": {
            "kserve-bridge.io/accelerator": rt.accelerator,
            "kserve-bridge.io/frameworks": "-".join(rt.frameworks)}},
        "spec": {
            "supportedModelFormats": formats,
            "protocolVersions": ["v1", "v2", "grpc-v2"],  # grpc-v2: the InferenceService adds port h2c
            "multiModel": False,
            "annotations": {"prometheus.kserve.io/port": str(HTTP_PORT), "prometheus.kserve.io/path": "/metrics"},
            "containers": [{
                "name": SERVER_CONTAINER, "image": rt.image(),
                "args": server_args("{{.Name}}", MODEL_DIR, HTTP_PORT),
                "ports": ports(),
                **TERMINATION,
                "resources": {"requests": {"cpu": "200m", "memory": "512Mi"}, "limits": {"memory": "2Gi"}},
                # The runtime has no pod-level context of its own: the user goes on the container.
                "securityContext": {**container_security_context(), "runAsUser": RUN_AS_USER},
                **probes(),  # the same probes the translator writes on every InferenceService
            }],
        },
    }
