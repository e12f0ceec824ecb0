"""RealtimeAPI -> InferenceService (serving.kserve.io/v1beta1)."""
from __future__ import annotations

from ..contract import DEPLOYMENT_ID_LABEL, ServerSettings
from ..spec.models import RealtimeAPI
from ..spec.rules import is_remote
from .autoscaling import autoscaling
from .processes import cpu_request
from .record import Record
from .security import container_security_context, pod_security_context

MODEL_FORMAT = "kserve-bridge"
MODEL_DIR = "/mnt/models"
HTTP_PORT = 8080


def default_storage_uri(name: str) -> str:
    return f"pvc://kserve-bridge-projects/{name}"


def inference_service(api: RealtimeAPI, rec: Record, *, namespace: str | None, storage_uri: str | None,
                      deployment_id: str, image: str | None = None) -> dict:
    opts, pred = api.kserve, api.predictor
    uri = opts.storage_uri or storage_uri or default_storage_uri(api.name)
    rec.map("(packaged project)", f"storageUri {uri}" + ("" if opts.storage_uri or storage_uri else
            " (placeholder: pass --storage-uri or set kserve.storage_uri)"))
    scaling, scale_annotations = autoscaling(api, rec)
    container = _container(api, rec, deployment_id)
    image = pred.image or image
    predictor: dict = {**scaling}
    if image:
        rec.map("predictor.image", f"custom container {image} (kserve-container; STORAGE_URI env)")
        predictor["containers"] = [{"name": "kserve-container", "image": image,
                                    "args": ["--model_dir", MODEL_DIR, "--model_name", api.name,
                                             "--http_port", str(HTTP_PORT)],
                                    "ports": [{"containerPort": HTTP_PORT, "protocol": "TCP"}],
                                    **container,
                                    "env": [{"name": "STORAGE_URI", "value": uri}] + container["env"]}]
    else:
        rec.map("predictor.type", f"spec.predictor.model: modelFormat {MODEL_FORMAT}, runtime {opts.runtime}")
        predictor["model"] = {"modelFormat": {"name": MODEL_FORMAT}, "runtime": opts.runtime, "storageUri": uri,
                              "protocolVersion": opts.protocol, **container}
    if not opts.restricted_security:
        rec.drop("(pod security)", "kserve.restricted_security is false: no restricted securityContext")
    else:
        predictor["securityContext"] = pod_security_context()
        rec.map("(pod security)", "restricted Pod Security Standard (non-root, no escalation, drop ALL, "
                "RuntimeDefault seccomp)")
    if pred.shm_size:
        predictor["volumes"] = [{"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": pred.shm_size}}]
        rec.map("predictor.shm_size", f"emptyDir (Memory, {pred.shm_size}) mounted at /dev/shm")
    if opts.timeout is not None:
        predictor["timeout"] = opts.timeout
        rec.map("kserve.timeout", f"spec.predictor.timeout = {opts.timeout}s")
    if opts.canary_traffic_percent is not None:
        predictor["canaryTrafficPercent"] = opts.canary_traffic_percent
        rec.map("kserve.canary_traffic_percent", f"spec.predictor.canaryTrafficPercent = "
                f"{opts.canary_traffic_percent}")
    if opts.service_account:
        predictor["serviceAccountName"] = opts.service_account
        rec.map("kserve.service_account", f"spec.predictor.serviceAccountName = {opts.service_account}")
    annotations = {"serving.kserve.io/deploymentMode": opts.deployment_mode,
                   "serving.kserve.io/enable-prometheus-scraping": "true", **scale_annotations, **opts.annotations}
    labels = {"app.kubernetes.io/name": api.name, "app.kubernetes.io/managed-by": "kserve-bridge",
              DEPLOYMENT_ID_LABEL: deployment_id, **opts.labels}
    rec.map("kserve.deployment_mode", f"annotation serving.kserve.io/deploymentMode = {opts.deployment_mode}")
    metadata: dict = {"name": api.name, "annotations": annotations, "labels": labels}
    if namespace:
        metadata["namespace"] = namespace
    _record_dropped(api, rec)
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": metadata,
            "spec": {"predictor": predictor}}


def _container(api: RealtimeAPI, rec: Record, deployment_id: str) -> dict:
    """Container-level fields shared by the runtime model and a custom container."""
    pred, compute = api.predictor, api.compute
    settings = ServerSettings.from_api(api, deployment_id)
    env = {**pred.env, **settings.to_env()}
    rec.map("predictor.config/env/python_path/server_side_batching/processes/threads/models",
            "env KSERVE_BRIDGE_SETTINGS (read by the model server)")
    if pred.env:
        rec.map("predictor.env", f"container env ({len(pred.env)} variables)")
    requests, limits = {}, {}
    cpu = cpu_request(api, rec)
    if cpu:
        requests["cpu"] = cpu
    if compute.mem:
        requests["memory"] = limits["memory"] = compute.mem
        rec.map("compute.mem", f"resources.requests/limits.memory = {compute.mem}")
    if compute.gpu:
        limits["nvidia.com/gpu"] = requests["nvidia.com/gpu"] = str(compute.gpu)
        rec.map("compute.gpu", f"resources.limits nvidia.com/gpu = {compute.gpu}")
    if compute.inf:
        limits["aws.amazon.com/neuron"] = requests["aws.amazon.com/neuron"] = str(compute.inf)
        rec.map("compute.inf", f"resources.limits aws.amazon.com/neuron = {compute.inf}")
    out: dict = {"env": [{"name": k, "value": v} for k, v in sorted(env.items())],
                 "resources": {k: v for k, v in (("requests", requests), ("limits", limits)) if v}}
    if api.kserve.restricted_security:
        out["securityContext"] = container_security_context()
    if pred.shm_size:
        out["volumeMounts"] = [{"name": "dshm", "mountPath": "/dev/shm"}]
    return out


def _record_dropped(api: RealtimeAPI, rec: Record) -> None:
    pred = api.predictor
    models = pred.models
    remote = [m for m in ([models.path, models.dir] + [p.path for p in models.paths or []] if models else [])
              if m and is_remote(m)]
    if remote:
        rec.map("predictor.models (remote)", "downloaded by the model server at load with KServe's storage "
                "library (credentials from the service account)")
    if pred.tensorflow_serving_image:
        rec.drop("predictor.tensorflow_serving_image", "SavedModels run in-process with TensorFlow; no TF "
                 "Serving sidecar")
    if models and models.disk_cache_size:
        rec.drop("predictor.models.disk_cache_size", "models stay where the storage initializer put them")
    if api.networking.api_gateway or api.networking.local_port:
        rec.drop("networking.api_gateway/local_port", "Cortex v0.25 and earlier; KServe exposes every API")
    if api.monitoring:
        rec.drop("monitoring", "Cortex v0.25 monitoring; use the model server's /metrics in Prometheus")
    rec.map("networking.endpoint", f"model server route {api.endpoint} (and /predict, "
            f"/v1/models/{api.name}:predict)")
