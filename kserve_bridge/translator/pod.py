"""What every predictor pod gets whatever runs in it: health probes, a read-only root filesystem with
writable scratch space, and no Kubernetes API token unless the API asks for one.

Knative (>= 1.10, checked in knative/serving pkg/apis/serving) accepts on the serving container:
liveness, readiness and startup probes (an HTTP port must be the container's), emptyDir volumes (the
`kubernetes.podspec-volumes-emptydir` feature, enabled by default), `readOnlyRootFilesystem`, and
`automountServiceAccountToken` only when it is false. RawDeployment pods are plain Deployments.
"""
from __future__ import annotations

from ..contract import GRPC_PORT, GRPC_PORT_NAME, HTTP_PORT

SCRATCH_VOLUME, SCRATCH_DIR = "kserve-bridge-tmp", "/tmp"
PACKAGES_DIR = SCRATCH_DIR + "/kserve-bridge-packages"  # pip installs at start (modelserver/project.py)
PACKAGES_ENV = "KSERVE_BRIDGE_PACKAGES_DIR"

# Startup: the server listens only after requirements.txt / dependencies.sh ran, so allow 15 minutes.
STARTUP = {"periodSeconds": 5, "timeoutSeconds": 3, "failureThreshold": 180, "successThreshold": 1}
# Liveness: /healthz answers while the server's event loop runs; a minute without an answer restarts the pod.
LIVENESS = {"periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 6, "successThreshold": 1}
# Readiness: /readyz is false until the predictor loaded (and after it failed to); out of rotation in 15 s.
READINESS = {"periodSeconds": 5, "timeoutSeconds": 3, "failureThreshold": 3, "successThreshold": 1}


# A predictor that fails to load exits 1 and writes why to /dev/termination-log (`kubectl describe pod`,
# `kserve-bridge get`); other crashes fall back to the tail of the log.
TERMINATION = {"terminationMessagePolicy": "FallbackToLogsOnError"}


def _http(path: str, timing: dict) -> dict:
    return {"httpGet": {"path": path, "port": HTTP_PORT, "scheme": "HTTP"}, **timing}


def probes() -> dict:
    """Container probe fields for the model server (also on a custom --image: it must serve these routes)."""
    return {"startupProbe": _http("/healthz", STARTUP), "livenessProbe": _http("/healthz", LIVENESS),
            "readinessProbe": _http("/readyz", READINESS)}


def ports(grpc: bool = False) -> list[dict]:
    """The server's container ports: HTTP (named http1, as Knative spells it: a Service of several ports
    needs names) and, for kserve.protocol grpc-v2, gRPC named h2c, which KServe's RawDeployment Service
    gives appProtocol kubernetes.io/h2c."""
    http = [{"name": "http1", "containerPort": HTTP_PORT, "protocol": "TCP"}]
    return http + ([{"name": GRPC_PORT_NAME, "containerPort": GRPC_PORT, "protocol": "TCP"}] if grpc else [])


def scratch_volume(size_limit: str | None = None) -> dict:
    """The writable /tmp of a read-only pod; `size_limit` (kserve.scratch_size) makes the kubelet evict a pod
    that writes more, instead of letting it fill the node's ephemeral storage."""
    return {"name": SCRATCH_VOLUME, "emptyDir": {"sizeLimit": size_limit} if size_limit else {}}


def scratch_mount() -> dict:
    return {"name": SCRATCH_VOLUME, "mountPath": SCRATCH_DIR}


def scratch_env() -> dict[str, str]:
    """Where the server and libraries write when the root filesystem is read-only."""
    return {"HOME": SCRATCH_DIR, PACKAGES_ENV: PACKAGES_DIR}
