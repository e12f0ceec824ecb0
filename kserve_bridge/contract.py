"""The contract between the translator and the model server.

`ServerSettings` is everything the model server needs to know about one API.
The translator serialises it into the pod's environment (`SETTINGS_ENV`);
the model server reads it back, or derives it from the project's cortex.yaml
when run locally. Both directions go through this one module.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # the model server reads settings from the environment without the spec models
    from .spec.models import RealtimeAPI

SETTINGS_ENV = "KSERVE_BRIDGE_SETTINGS"
DEPLOYMENT_ID_ENV = "KSERVE_BRIDGE_DEPLOYMENT_ID"
DEPLOYMENT_ID_HEADER = "x-kserve-bridge-deployment-id"
DEPLOYMENT_ID_LABEL = "kserve-bridge.io/deployment-id"
# Shadow traffic (canary auto --shadow): a ConfigMap per API, mounted optional into every predictor.
SHADOW_DIR = "/etc/kserve-bridge/shadow"
SHADOW_FILE = "shadow.json"
SHADOW_FILE_ENV = "KSERVE_BRIDGE_SHADOW_FILE"


# The pod interface: what the ServingRuntimes, the InferenceService, the Dockerfile and `serve` agree on.
MODEL_DIR = "/mnt/models"  # where KServe's storage initializer unpacks storageUri (the project)
MODEL_DIR_ENV = "KSERVE_BRIDGE_MODEL_DIR"  # overrides MODEL_DIR for `python -m modelserver`
HTTP_PORT = 8080
PORT_ENV = "PORT"
MAX_PAYLOAD_BYTES = 32 * 1024 * 1024  # largest request body; larger gets 413


def server_args(model_name: str | None = None, model_dir: str = MODEL_DIR, port: int = HTTP_PORT) -> list[str]:
    """The model server's arguments (`python -m modelserver ARGS`), in the order every caller writes them."""
    name = ["--model_name", model_name] if model_name is not None else []
    return ["--model_dir", model_dir, *name, "--http_port", str(port)]


# Remote model locations the model server fetches with kserve_storage.Storage.download (checked in
# kserve_storage 0.21: s3://, gs://, hf://, and http(s):// which also covers Azure Blob and File
# Storage URLs). Anything else written `scheme://` would be opened as a local file, so `validate`
# refuses it. Scheme -> what it is.
REMOTE_SCHEMES = {
    "s3": "Amazon S3 or an S3-compatible store",
    "gs": "Google Cloud Storage",
    "https": "a file or archive over HTTPS, or Azure Blob Storage (https://ACCOUNT.blob.core.windows.net/...)",
    "http": "a file or archive over HTTP",
    "hf": "a Hugging Face Hub repository",
}
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def uri_scheme(path: str) -> str | None:
    """The `scheme` of a `scheme://...` location, or None for a plain path."""
    match = _SCHEME.match(path)
    return match.group(1) if match else None  # kserve_storage matches schemes case-sensitively


def is_remote(path: str) -> bool:
    """True when the model server downloads `path` rather than reading it from the project."""
    return uri_scheme(path) in REMOTE_SCHEMES


def remote_schemes_text() -> str:
    """The supported remote locations, for error messages."""
    return ", ".join(f"{s}://" for s in REMOTE_SCHEMES) + " (Azure Blob Storage: " \
        "https://ACCOUNT.blob.core.windows.net/CONTAINER/PATH)"


PredictorType = Literal["python", "tensorflow", "onnx", "pytorch", "sklearn"]


@dataclass(frozen=True)
class PredictorKind:
    """One value of predictor.type: what the user writes and what the model server does with it."""

    type: str
    class_name: str  # the class the server loads from predictor.py
    client_arg: str  # the constructor argument that receives the model client
    needs_models: bool  # predictor.models is required
    tensor_client: bool  # the client runs models itself (predict(model_input)); else get_model()
    backend: str | None  # modelserver/backends/<backend>.py loads models without load_model(); None: the predictor's
    framework: str | None  # the runtime framework / pip extra the server needs (kserve_bridge/runtimes.py)
    signature_key: bool = False  # models may name a SavedModel signature


PREDICTOR_KINDS: dict[str, PredictorKind] = {k.type: k for k in (
    PredictorKind("python", "PythonPredictor", "python_client", False, False, None, None),
    PredictorKind("tensorflow", "TensorFlowPredictor", "tensorflow_client", True, True, "tensorflow", "tensorflow",
                  signature_key=True),
    PredictorKind("onnx", "ONNXPredictor", "onnx_client", True, True, "onnx", "onnx"),
    PredictorKind("pytorch", "PythonPredictor", "python_client", False, False, "pytorch", "torch"),
    PredictorKind("sklearn", "PythonPredictor", "python_client", False, False, "sklearn", "sklearn"),
)}
# Predictor class name -> its client argument (PythonPredictor serves three types).
CLIENT_ARG_OF_CLASS = {k.class_name: k.client_arg for k in PREDICTOR_KINDS.values()}


def shadow_config_map(api_name: str) -> str:
    """The name of the ConfigMap that switches shadow traffic on for one API."""
    return f"{api_name}-kserve-bridge-shadow"


class ModelSource(BaseModel):
    """One model the predictor's client can load (`path` is project-relative or a URI)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    path: str
    signature_key: Optional[str] = None


class ServerSettings(BaseModel):
    """What the model server reads for one API."""

    model_config = ConfigDict(extra="forbid")
    api_name: str
    predictor_type: PredictorType
    predictor_path: str = Field(description="Predictor file, relative to the project directory")
    endpoint: str = Field(description="Cortex route served besides /predict")
    models: list[ModelSource] = Field(default_factory=list, description="Named models (single path: one entry)")
    models_dir: Optional[str] = Field(None, description="models.dir: one sub-folder per model")
    single_model: bool = Field(False, description="True when models.path (one unnamed model) was used")
    signature_key: Optional[str] = None
    cache_size: Optional[int] = None
    config: dict[str, Any] = Field(default_factory=dict)
    env: dict[str, str] = Field(default_factory=dict)
    python_path: Optional[str] = None
    max_batch_size: Optional[int] = None
    batch_interval: Optional[float] = Field(None, description="Seconds")
    processes_per_replica: int = 1
    threads_per_process: int = 1
    max_concurrency: int = Field(1024, description="In-flight requests per replica before 503")
    request_timeout: float = 300.0
    log_level: str = "info"
    protocol: Literal["v1", "v2"] = "v1"
    deployment_id: Optional[str] = None
    dependencies: dict[str, str] = Field(default_factory=lambda: {"pip": "requirements.txt",
                                                                  "shell": "dependencies.sh"})

    @classmethod
    def from_api(cls, api: RealtimeAPI, deployment_id: str | None = None) -> "ServerSettings":
        pred, models = api.predictor, api.predictor.models
        sources: list[ModelSource] = []
        if models is not None and models.path is not None:
            sources = [ModelSource(name=api.name, path=models.path, signature_key=models.signature_key)]
        elif models is not None and models.paths:
            sources = [ModelSource(name=m.name, path=m.path, signature_key=m.signature_key or models.signature_key)
                       for m in models.paths]
        batching = pred.server_side_batching
        return cls(
            api_name=api.name, predictor_type=pred.type, predictor_path=pred.path, endpoint=api.endpoint,
            models=sources, models_dir=models.dir if models else None,
            single_model=bool(models and models.path is not None),
            signature_key=models.signature_key if models else None,
            cache_size=models.cache_size if models else None, config=pred.config, env=pred.env,
            python_path=pred.python_path,
            max_batch_size=batching.max_batch_size if batching else None,
            batch_interval=batching.batch_interval if batching else None,
            processes_per_replica=pred.processes_per_replica, threads_per_process=pred.threads_per_process,
            max_concurrency=api.autoscaling.max_replica_concurrency, log_level=pred.log_level,
            protocol=api.kserve.protocol, deployment_id=deployment_id,
            request_timeout=float(api.kserve.request_timeout),
            dependencies={"pip": pred.dependencies.pip, "shell": pred.dependencies.shell},
        )

    def to_env(self) -> dict[str, str]:
        """Environment variables that carry these settings into the pod."""
        env = {SETTINGS_ENV: json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))}
        if self.deployment_id:
            env[DEPLOYMENT_ID_ENV] = self.deployment_id
        return env

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "ServerSettings | None":
        """Settings from the environment, or None when the translator set none."""
        environ = os.environ if environ is None else environ
        raw = environ.get(SETTINGS_ENV)
        if not raw:
            return None
        settings = cls.model_validate_json(raw)
        if not settings.deployment_id and environ.get(DEPLOYMENT_ID_ENV):
            settings.deployment_id = environ[DEPLOYMENT_ID_ENV]
        return settings
