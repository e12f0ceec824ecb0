"""The Cortex-style spec as pydantic models: fields, types, ranges and defaults.

Cross-field rules (min <= init <= max, paths inside the project, ...) live in
`rules.py` so that every violation is reported, not just the first.
"""
from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, PrivateAttr, model_validator

from ..contract import DEFAULT_ALERTS, DEPENDENCY_FILES, PredictorType
from .legacy import aliases, modernise, old_keys
from .types import AnyMap, Duration, Quantity, SpecModel, StrMap, SurgeValue

INT32_MAX = 2**31 - 1


class ModelPath(SpecModel):
    """One named model of a multi-model API."""

    legacy_keys: ClassVar[tuple[str, ...]] = old_keys("ModelPath")

    name: str = Field(description="Model name used to select it at predict time", pattern=r"^[a-zA-Z0-9_-]+$",
                      max_length=253)
    path: str = Field(description="Local path inside the project, a remote URI (s3://, gs://, https://) or "
                                  "a version in MLflow's registry (models:/NAME/VERSION, models:/NAME@ALIAS)",
                      min_length=1, max_length=4096, validation_alias=aliases("ModelPath", "path"))
    signature_key: str | None = Field(None, description="SavedModel signature (tensorflow only)")

    @model_validator(mode="before")
    @classmethod
    def _legacy_spellings(cls, data: Any) -> Any:
        return modernise("ModelPath", data)


class Models(SpecModel):
    """Where the predictor's model(s) live: exactly one of path, paths or dir."""

    path: str | None = Field(None, description="A single model (a path, a remote URI or models:/NAME/VERSION, "
                                                 "models:/NAME@ALIAS)", min_length=1, max_length=4096)
    paths: list[ModelPath] | None = Field(None, description="Several named models", min_length=1)
    dir: str | None = Field(None, description="A folder with one sub-folder per model (numeric sub-folders "
                                                 "are versions)", min_length=1, max_length=4096)
    signature_key: str | None = Field(None, description="Default SavedModel signature (tensorflow only)")
    cache_size: int | None = Field(None, gt=0, le=INT32_MAX, description="Models kept loaded in memory (LRU)")
    disk_cache_size: int | None = Field(None, gt=0, le=INT32_MAX, description="Models kept on local disk")


class Batching(SpecModel):
    """Server-side batching: concurrent requests grouped into one predict call."""

    max_batch_size: int = Field(ge=1, le=1024, description="Largest batch handed to predict")
    batch_interval: Duration = Field(description="Longest wait to fill a batch, e.g. 0.1s")


class Dependencies(SpecModel):
    """Files installed before the server starts (Cortex v0.30+)."""

    pip: str = Field(DEPENDENCY_FILES["pip"], description="pip requirements file")
    conda: str = Field("conda-packages.txt", description="conda packages file (not supported in our image)")
    shell: str = Field(DEPENDENCY_FILES["shell"], description="shell script run at start")


class Predictor(SpecModel):
    """The user's predictor class and how it is run."""

    legacy_keys: ClassVar[tuple[str, ...]] = old_keys("Predictor")

    type: PredictorType = Field(description="python, tensorflow, onnx, or our additions pytorch and sklearn")
    path: str = Field(description="The predictor .py file, relative to the project directory", min_length=1,
                      max_length=4096)
    models: Models | None = Field(None, description="Model locations (also spelt multi_model_reloading)",
                                     validation_alias=aliases("Predictor", "models"))
    server_side_batching: Batching | None = None
    processes_per_replica: int = Field(1, ge=1, le=100, description="Worker processes per replica")
    threads_per_process: int = Field(1, ge=1, le=INT32_MAX, description="Concurrent predict calls per process")
    config: AnyMap = Field(default_factory=dict, description="Passed to the predictor's constructor")
    env: StrMap = Field(default_factory=dict, description="Environment variables for the predictor")
    python_path: str | None = Field(None, description="Folder added to sys.path, relative to the project")
    image: str | None = Field(None, description="Custom container image (replaces the serving runtime)")
    tensorflow_serving_image: str | None = Field(None, description="Accepted for compatibility; unused")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    shm_size: Quantity | None = Field(None, description="Size of /dev/shm")
    dependencies: Dependencies = Field(default_factory=Dependencies)

    @model_validator(mode="before")
    @classmethod
    def _legacy_spellings(cls, data: Any) -> Any:
        """Accept v0.19-v0.25 spellings (legacy.py): model_path, signature_key, models as a list,
        multi_model_reloading."""
        return modernise("Predictor", data)


def canonical_endpoint(endpoint: str | None, name: str) -> str:
    """Cortex's canonical form: a leading '/', no trailing '/'; default `/<name>`."""
    return "/" + endpoint.strip("/") if endpoint else f"/{name}"


class Networking(SpecModel):
    endpoint: str | None = Field(None, max_length=1000, description="URL path of the API (default /<name>)")
    api_gateway: Literal["public", "none"] | None = Field(None, description="Cortex <= v0.25; accepted, unused")
    local_port: int | None = Field(None, ge=1, le=65535, description="Cortex <= v0.25; accepted, unused")


class Compute(SpecModel):
    cpu: Quantity | None = Field("200m", description="CPU request, e.g. 200m or 1")
    gpu: int = Field(0, ge=0, le=INT32_MAX, description="NVIDIA GPUs")
    inf: int = Field(0, ge=0, le=INT32_MAX, description="AWS Inferentia chips")
    mem: Quantity | None = Field(None, description="Memory request, e.g. 512Mi or 2G")


class Autoscaling(SpecModel):
    """Cortex autoscaling; min_replicas 0 means scale to zero."""

    min_replicas: int = Field(1, ge=0, le=INT32_MAX)
    max_replicas: int = Field(100, ge=1, le=INT32_MAX)
    init_replicas: int | None = Field(None, ge=0, le=INT32_MAX, description="Default: min_replicas")
    max_replica_concurrency: int = Field(1024, ge=1, le=65535, description="Hard per-replica limit; 503 beyond")
    target_replica_concurrency: float | None = Field(
        None, gt=0, le=65535, description="Soft target; default processes_per_replica * threads_per_process")
    window: Duration = Field(60.0, description="Averaging window")
    downscale_stabilization_period: Duration = 300.0
    upscale_stabilization_period: Duration = 60.0
    max_downscale_factor: float = Field(0.75, ge=0, lt=1)
    max_upscale_factor: float = Field(1.5, gt=1, le=1000)
    downscale_tolerance: float = Field(0.05, ge=0, lt=1)
    upscale_tolerance: float = Field(0.05, ge=0, le=1000)


class UpdateStrategy(SpecModel):
    max_surge: SurgeValue = "25%"
    max_unavailable: SurgeValue = "25%"


class Monitoring(SpecModel):
    model_type: Literal["classification", "regression"] = "classification"
    key: str | None = None


class LoggerStorage(SpecModel):
    """Object-store settings of a payload logger whose url is s3://, gs:// or abfs:// (KServe's LoggerStorageSpec)."""

    path: str | None = Field(None, min_length=1, max_length=1024,
                                description="Sub-folder under <url>/<namespace>/<api>/predictor/")
    format: Literal["json", "csv", "parquet"] | None = Field(None, description="Record file format "
                                                                                  "(KServe default json)")
    parameters: StrMap = Field(default_factory=dict, description="Other KServe storage parameters")
    key: str | None = Field(None, max_length=253, description="Key in the storage secret (default credentials)")
    service_account: str | None = Field(None, max_length=253,
                                           description="Service account holding the credentials (default logger-sa)")


class PayloadLogger(SpecModel):
    """KServe payload logging: every request and/or response as a CloudEvent to `url`."""

    mode: Literal["all", "request", "response"] = Field("all", description="What is logged")
    url: str = Field(min_length=1, max_length=2048, description="http(s):// CloudEvents receiver (a Knative "
                     "broker, any collector) or an s3://, gs:// or abfs:// bucket path")
    storage: LoggerStorage | None = Field(None, description="Object-store settings (bucket urls only)")
    metadata_headers: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$", max_length=256)]] = \
        Field(default_factory=list, description="Request headers copied onto every record")
    metadata_annotations: list[Annotated[str, Field(min_length=1, max_length=317)]] = Field(
        default_factory=list, description="InferenceService annotations copied onto every record")
    batch_size: int | None = Field(None, ge=1, le=100000, description="Records per stored object (bucket urls)")
    batch_interval: Duration | None = Field(None, description="Longest wait to fill a batch (bucket urls)")
    marshaller_url: str | None = Field(None, min_length=1, max_length=2048,
                                          description="Service that turns record batches into files")


class Alerts(SpecModel):
    """Per-API paging thresholds; the model server exports them for manifests/monitoring's PrometheusRule."""

    latency_p99: Duration = Field(DEFAULT_ALERTS["latency_p99_seconds"], description="Page when p99 latency "
                                  "stays above this for 10 minutes, e.g. 250ms")
    error_rate: float = Field(DEFAULT_ALERTS["error_ratio"], gt=0, le=1, description="Page when this share of "
                              "requests fails (5xx) for 5 minutes, e.g. 0.01")
    drift_psi: float = Field(DEFAULT_ALERTS["drift_psi"], gt=0, le=10, description="Warn when a feature's "
                             "population stability index (kserve.monitoring.drift) stays above this")


class Drift(SpecModel):
    """Feature drift measured by the model server and Prometheus: observed values per bin vs the reference's."""

    reference: str = Field(min_length=1, max_length=1024, description="CSV or Parquet file in the project "
                           "holding reference data (e.g. the training set), one column per feature")
    features: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(
        min_length=1, max_length=64, description="Columns to watch: request fields (Cortex JSON keys, v1 "
        "instance keys, v2 input names; list rows by the column's position), and `prediction` for the answer")
    bins: int = Field(10, ge=2, le=50, description="Bins per feature: quantiles of a numeric column, the most "
                      "frequent categories of another (plus other and missing)")
    prediction_key: str | None = Field(None, min_length=1, max_length=128, description="The answer's field "
                                       "holding the prediction when answers are JSON objects, e.g. label")


class KServeMonitoring(SpecModel):
    """What the model server measures beyond requests and latency."""

    drift: Drift | None = Field(None, description="Feature drift against reference data (Prometheus PSI)")


class Tracing(SpecModel):
    """OpenTelemetry traces of the model server (OTLP over HTTP)."""

    endpoint: str = Field(min_length=1, max_length=2048, description="OTLP/HTTP collector, e.g. "
                          "http://otel-collector.observability:4318 (traces go to <endpoint>/v1/traces)")
    sample_ratio: float = Field(1.0, ge=0, le=1, description="Share of requests traced that the caller did not "
                                "sample already (a sampled traceparent is always followed)")


class ResourceBounds(SpecModel):
    cpu: Quantity | None = Field(None, description="CPU, e.g. 250m or 2")
    mem: Quantity | None = Field(None, description="Memory, e.g. 256Mi or 4Gi")


BOTH_RESOURCES: tuple[Literal["cpu", "memory"], ...] = ("cpu", "memory")


class VerticalScaling(SpecModel):
    """A VerticalPodAutoscaler for the predictor (RawDeployment only; see docs/mapping.md)."""

    mode: Literal["off", "recommend", "initial", "auto"] = Field(
        "recommend", description="off: no VPA; recommend: recommendations only; initial: set requests when a "
                                 "pod starts; auto: also evict pods to resize them")
    min: ResourceBounds | None = Field(None, description="Lowest requests the VPA may set")
    max: ResourceBounds | None = Field(None, description="Highest requests the VPA may set")
    controlled_resources: list[Literal["cpu", "memory"]] = Field(
        default_factory=lambda: list(BOTH_RESOURCES), description="Resources the VPA may change")


class KServeOptions(SpecModel):
    """What Cortex never had: KServe-specific settings."""

    legacy_keys: ClassVar[tuple[str, ...]] = old_keys("KServeOptions")

    deployment_mode: Literal["Serverless", "RawDeployment"] = Field(
        "Serverless", description="Serverless (Knative, scale to zero, canary) or RawDeployment (Deployment + HPA)")
    storage_uri: str | None = Field(None, description="Where the packaged project lives (s3://, gs://, pvc://)")
    runtime: str | None = Field(None, max_length=253, description="ClusterServingRuntime name (default: chosen "
                                   "from predictor.type, compute.gpu and the project's imports)")
    protocol: Literal["v1", "v2", "grpc-v2"] = Field(
        "v1", description="Inference protocol: v1 or v2 over HTTP; grpc-v2 also serves the Open Inference Protocol "
                          "over gRPC (port 8081, h2c; needs deployment_mode RawDeployment)")
    canary_traffic_percent: int | None = Field(None, ge=0, le=100, description="Traffic share of a new revision")
    request_timeout: int = Field(300, ge=1, le=3600, validation_alias=aliases("KServeOptions", "request_timeout"),
                                 description="Seconds a request may take before the model "
                                 "server answers 504; also spec.predictor.timeout (older spelling: timeout)")
    service_account: str | None = Field(None, max_length=253)
    service_account_token: bool = Field(False, description="Mount the service account's API token in predictor "
                                                          "pods (off: predictors rarely call the Kubernetes API)")
    autoscaler_class: Literal["kpa", "hpa", "keda", "external"] | None = None
    scale_metric: Literal["concurrency", "rps", "cpu", "memory"] | None = None
    scale_target: int | None = Field(None, ge=1, le=INT32_MAX)
    restricted_security: bool = Field(True, description="Apply the restricted Pod Security Standard")
    scratch_size: Quantity | None = Field(None, description="Size limit of the writable /tmp emptyDir of "
                                          "restricted pods (pip installs at start, caches); the kubelet "
                                          "evicts a pod that writes more (default: no limit)")
    istio: bool = Field(True, description="Emit Istio objects (needed for shadow traffic)")
    annotations: StrMap = Field(default_factory=dict, description="Extra InferenceService annotations")
    labels: StrMap = Field(default_factory=dict, description="Extra InferenceService labels")
    logger: PayloadLogger | None = Field(None, description="Payload logging (audit, drift): requests and "
                                                              "responses as CloudEvents")
    alerts: Alerts | None = Field(None, description="Alert thresholds of this API (default p99 1s, 5% errors, "
                                                    "PSI 0.2)")
    monitoring: KServeMonitoring | None = Field(None, description="Feature drift measured by the model server")
    tracing: Tracing | None = Field(None, description="OpenTelemetry tracing (off without it)")
    vertical_scaling: VerticalScaling | None = Field(None, description="VerticalPodAutoscaler settings")

    @model_validator(mode="before")
    @classmethod
    def _legacy_spellings(cls, data: Any) -> Any:
        """Accept older spellings (legacy.py): timeout, deployment_mode aliases such as raw or knative."""
        return modernise("KServeOptions", data)


class RealtimeAPI(SpecModel):
    """A realtime API: one InferenceService."""

    name: str = Field(description="DNS-1035 label, at most 63 characters")
    kind: Literal["RealtimeAPI"]
    predictor: Predictor
    networking: Networking = Field(default_factory=Networking)
    compute: Compute = Field(default_factory=Compute)
    autoscaling: Autoscaling = Field(default_factory=Autoscaling)
    update_strategy: UpdateStrategy = Field(default_factory=UpdateStrategy)
    monitoring: Monitoring | None = None
    kserve: KServeOptions = Field(default_factory=KServeOptions)
    # not a spec field: the models:/ paths registry.resolve_paths replaced, and what they resolved to
    _registered_models: list = PrivateAttr(default_factory=list)

    @property
    def registered_models(self) -> list:
        """`registry.RegisteredModel`s this API's model paths came from (MLflow's model registry)."""
        return self._registered_models

    @registered_models.setter
    def registered_models(self, found: list) -> None:
        self._registered_models = found

    @property
    def endpoint(self) -> str:
        return canonical_endpoint(self.networking.endpoint, self.name)

    # Defaults that depend on other fields, resolved here once for the rules, the translator and
    # `validate --show-resolved`.
    @property
    def initial_replicas(self) -> int:
        """autoscaling.init_replicas, default min_replicas."""
        auto = self.autoscaling
        return auto.init_replicas if auto.init_replicas is not None else auto.min_replicas

    @property
    def target_concurrency(self) -> float:
        """autoscaling.target_replica_concurrency, default processes_per_replica * threads_per_process."""
        target, pred = self.autoscaling.target_replica_concurrency, self.predictor
        return target if target is not None else float(pred.processes_per_replica * pred.threads_per_process)


class SplitTarget(SpecModel):
    name: str = Field(description="A RealtimeAPI in the same spec")
    weight: int = Field(ge=0, le=100)
    shadow: bool = Field(False, description="Receive a fire-and-forget copy of weight % of traffic")


class TrafficSplitter(SpecModel):
    """A/B traffic between RealtimeAPIs, with an optional shadow."""

    name: str
    kind: Literal["TrafficSplitter"]
    networking: Networking = Field(default_factory=Networking)
    apis: list[SplitTarget] = Field(min_length=1)
    kserve: KServeOptions = Field(default_factory=KServeOptions)
    @property
    def endpoint(self) -> str:
        return canonical_endpoint(self.networking.endpoint, self.name)


API_MODELS: dict[str, type[SpecModel]] = {"RealtimeAPI": RealtimeAPI, "TrafficSplitter": TrafficSplitter}
UNSUPPORTED_KINDS = {
    "BatchAPI": "KServe has no job queue or batch workers; run a Kubernetes Job (or a pipeline step) that calls "
                "a RealtimeAPI, or use KServe's batcher for server-side batching",
    "TaskAPI": "KServe serves models, it does not run tasks; use a Kubernetes Job or CronJob with your task "
               "image",
    "AsyncAPI": "KServe has no request queue or result store; put a queue (e.g. Knative Eventing, Kafka) in "
                "front of a RealtimeAPI",
}
# Cortex fields with no KServe equivalent, by (section, field): why, and what to use instead.
UNSUPPORTED_FIELDS = {
    ("predictor", "protobuf_path"): "Cortex's user-defined gRPC services are not supported; use kserve.protocol: "
                                    "grpc-v2 with the Open Inference Protocol (inference.GRPCInferenceService)",
}
