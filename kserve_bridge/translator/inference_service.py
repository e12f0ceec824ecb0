"""RealtimeAPI -> InferenceService (serving.kserve.io/v1beta1)."""
from __future__ import annotations

from pathlib import Path

from ..contract import (
    ALERTS_ENV,
    DEPLOYMENT_ID_LABEL,
    DRAIN_DELAY_ENV,
    GRPC_PORT,
    GRPC_PORT_NAME,
    MODEL_DIR,
    RAW_DEPLOYMENT_DRAIN_DELAY_S,
    SERVER_CONTAINER,
    ServerSettings,
    is_remote,
    server_args,
)
from ..registry import ANNOTATION as REGISTRY_ANNOTATION
from ..registry import registry_annotation
from ..runtimes import MODEL_FORMAT
from ..spec.models import RealtimeAPI
from . import pod
from .autoscaling import autoscaling
from .monitoring import DEPLOYMENT_ID_ANNOTATION, alert_thresholds, drift_record, logger_field, tracing_env
from .processes import cpu_request
from .record import Record
from .runtime import choose_runtime
from .secrets import env_from
from .security import container_security_context, pod_security_context
from .shadow import mount_shadow_config

__all__ = ["MODEL_FORMAT", "inference_service", "default_storage_uri"]
HTTP_PORT = pod.HTTP_PORT
KNATIVE_MAX_TIMEOUT = 600  # Knative's default max-revision-timeout-seconds (config-defaults)


def default_storage_uri(name: str) -> str:
    return f"pvc://kserve-bridge-projects/{name}"


def inference_service(api: RealtimeAPI, rec: Record, *, namespace: str | None, storage_uri: str | None,
                      deployment_id: str, image: str | None = None, env_secret: str | None = None,
                      project: Path | None = None) -> dict:
    """`env_secret`: the Secret with the project's .env variables (see secrets.py), when it has one;
    `project`: the project folder, read for the runtime choice."""
    opts, pred = api.kserve, api.predictor
    uri = opts.storage_uri or storage_uri or default_storage_uri(api.name)
    rec.map("(packaged project)", f"storageUri {uri}" + ("" if opts.storage_uri or storage_uri else
            " (placeholder: pass --storage-uri or set kserve.storage_uri)"))
    scaling, scale_annotations = autoscaling(api, rec)
    container = _container(api, rec, deployment_id, env_secret, project)
    image = pred.image or image
    predictor: dict = {**scaling}
    if image:
        rec.map("predictor.image", f"custom container {image} ({SERVER_CONTAINER}; STORAGE_URI env)")
        predictor["containers"] = [{"name": SERVER_CONTAINER, "image": image,
                                    "args": server_args(api.name, MODEL_DIR, HTTP_PORT),
                                    "ports": pod.ports(opts.protocol == "grpc-v2"),
                                    **container,
                                    "env": [{"name": "STORAGE_URI", "value": uri}] + container["env"]}]
    else:
        runtime = opts.runtime
        if runtime:
            rec.map("kserve.runtime", f"spec.predictor.model.runtime = {runtime} (modelFormat {MODEL_FORMAT})")
        else:
            choice = choose_runtime(api, project)
            runtime = choice.runtime.name
            rec.map("predictor.type", f"spec.predictor.model: modelFormat {MODEL_FORMAT}, runtime {runtime} "
                    f"(image {choice.runtime.image()}), because {choice.because}")
            for warning in choice.warnings:
                rec.warn(warning)
        predictor["model"] = {"modelFormat": {"name": MODEL_FORMAT}, "runtime": runtime, "storageUri": uri,
                              "protocolVersion": opts.protocol, **container}
        if opts.protocol == "grpc-v2":  # merged with the runtime's ports (key containerPort)
            predictor["model"]["ports"] = pod.ports(grpc=True)
    if opts.protocol == "grpc-v2":
        rec.map("kserve.protocol", f"protocolVersion grpc-v2; container port {GRPC_PORT_NAME} {GRPC_PORT} (gRPC, "
                f"inference.GRPCInferenceService) beside http1 {HTTP_PORT}")
    if not opts.restricted_security:
        rec.drop("(pod security)", "kserve.restricted_security is false: no restricted securityContext")
    else:
        predictor["securityContext"] = pod_security_context()
        rec.map("(pod security)", "restricted Pod Security Standard (non-root, no escalation, drop ALL, "
                "RuntimeDefault seccomp)")
    volumes = [pod.scratch_volume(opts.scratch_size)] if opts.restricted_security else []
    if opts.scratch_size:
        rec.map("kserve.scratch_size", f"sizeLimit {opts.scratch_size} on the /tmp emptyDir")
    if pred.shm_size:
        volumes.append({"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": pred.shm_size}})
        rec.map("predictor.shm_size", f"emptyDir (Memory, {pred.shm_size}) mounted at /dev/shm")
    if volumes:
        predictor["volumes"] = volumes
    predictor["timeout"] = opts.request_timeout
    rec.map("kserve.request_timeout", f"spec.predictor.timeout = {opts.request_timeout}s (Knative's request "
            f"timeout) and the model server's: 504 after {opts.request_timeout}s" + (
                " (above Knative's default max-revision-timeout-seconds, 600: raise it in config-defaults)"
                if opts.request_timeout > KNATIVE_MAX_TIMEOUT and opts.deployment_mode == "Serverless" else ""))
    if not opts.service_account_token:
        predictor["automountServiceAccountToken"] = False
        rec.map("(service account token)", "automountServiceAccountToken = false (set "
                "kserve.service_account_token: true if the predictor calls the Kubernetes API)")
    mount_shadow_config(predictor, api.name, rec)
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
    if opts.logger is not None:
        predictor["logger"] = logger_field(opts.logger, rec)
        annotations[DEPLOYMENT_ID_ANNOTATION] = deployment_id
    if api.registered_models:
        annotations[REGISTRY_ANNOTATION] = registry_annotation(api.registered_models)
        rec.map("predictor.models (models:/)", "MLflow registry: " + "; ".join(
            f"{m.uri} = {m.describe()} at {m.source}" for m in api.registered_models)
            + f" (annotation {REGISTRY_ANNOTATION})")
    metadata: dict = {"name": api.name, "annotations": annotations, "labels": labels}
    if namespace:
        metadata["namespace"] = namespace
    _record_dropped(api, rec)
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": metadata,
            "spec": {"predictor": predictor}}


def _container(api: RealtimeAPI, rec: Record, deployment_id: str, env_secret: str | None,
               project: Path | None) -> dict:
    """Container-level fields shared by the runtime model and a custom container."""
    pred, compute = api.predictor, api.compute
    settings = ServerSettings.from_api(api, deployment_id, project)
    drift_record(api, settings, project, rec)
    read_only = api.kserve.restricted_security
    traces = tracing_env(api, deployment_id)
    env = {**(pod.scratch_env() if read_only else {}), **traces, **pred.env, **settings.to_env()}
    if api.kserve.deployment_mode == "RawDeployment":  # Knative's queue-proxy drains Serverless pods itself
        env[DRAIN_DELAY_ENV] = str(RAW_DEPLOYMENT_DRAIN_DELAY_S)
        rec.map("(shutdown)", f"env {DRAIN_DELAY_ENV}={RAW_DEPLOYMENT_DRAIN_DELAY_S}: on SIGTERM /readyz fails and "
                "the server keeps accepting while the endpoints' removal propagates, then drains")
    if traces:
        rec.map("kserve.tracing", f"env OTEL_EXPORTER_OTLP_ENDPOINT={traces['OTEL_EXPORTER_OTLP_ENDPOINT']} "
                f"(traces over OTLP/HTTP to /v1/traces), OTEL_TRACES_SAMPLER parentbased_traceidratio "
                f"{traces['OTEL_TRACES_SAMPLER_ARG']}, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES "
                "(predictor.env overrides any of them)")
    if api.kserve.alerts is not None:
        env[ALERTS_ENV] = alert_thresholds(api.kserve.alerts)
        rec.map("kserve.alerts", f"env {ALERTS_ENV} (exported as kserve_bridge_alert_threshold; "
                "manifests/monitoring alerts compare against it)")
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
    if env_secret:
        out["envFrom"] = env_from(env_secret)
        rec.map(".env", f"envFrom Secret {env_secret} (the file is not bundled; deploy creates the Secret)")
    out.update(pod.probes(), **pod.TERMINATION)
    rec.map("(health)", "startupProbe + livenessProbe GET /healthz, readinessProbe GET /readyz on port "
            f"{HTTP_PORT}")
    mounts = [pod.scratch_mount()] if read_only else []
    if read_only:
        out["securityContext"] = {**container_security_context(), "readOnlyRootFilesystem": True}
        rec.map("(root filesystem)", f"read-only; writable emptyDir at {pod.SCRATCH_DIR} (HOME, pip installs "
                f"at start in {pod.PACKAGES_DIR})")
    if pred.shm_size:
        mounts.append({"name": "dshm", "mountPath": "/dev/shm"})
    if mounts:
        out["volumeMounts"] = mounts
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
        rec.drop("monitoring", "Cortex <= v0.25 charted the predicted value (key, model_type) in CloudWatch; "
                 "KServe has no such chart: log responses (kserve.logger, mode response) and chart them from "
                 "the records; latency/requests/errors: manifests/monitoring")
    rec.map("networking.endpoint", f"model server route {api.endpoint} (and /predict, "
            f"/v1/models/{api.name}:predict)")
