"""The contract between the translator and the model server.

`ServerSettings` is everything the model server needs to know about one API.
The translator serialises it into the pod's environment (`SETTINGS_ENV`);
the model server reads it back, or derives it from the project's cortex.yaml
when run locally. Both directions go through this one module, as does the predictor class
rule (which class is the predictor, which arguments each method gets). The fixed facts of the
seam (pod interface, remote schemes, predictor kinds) live in `interface.py`, re-exported here.
"""
from __future__ import annotations

import json
import os
from bisect import bisect_left
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .errors import PredictorError
from .interface import (  # noqa: F401
    BUNDLE_MANIFEST,
    GRPC_PORT,
    GRPC_PORT_NAME,
    HTTP_PORT,
    MAX_PAYLOAD_BYTES,
    MODEL_DIR,
    MODEL_DIR_ENV,
    PORT_ENV,
    PREDICTOR_KINDS,
    REMOTE_SCHEMES,
    SERVER_CONTAINER,
    PredictorKind,
    PredictorType,
    file_sha256,
    is_remote,
    remote_schemes_text,
    server_args,
    uri_scheme,
)

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


def shadow_config_map(api_name: str) -> str:
    """The name of the ConfigMap that switches shadow traffic on for one API."""
    return f"{api_name}-kserve-bridge-shadow"

# Cortex's dependency files (predictor.dependencies), relative to the project: the spec's defaults and
# what the server installs at start when the settings name none.
DEPENDENCY_FILES = {"pip": "requirements.txt", "shell": "dependencies.sh"}

ALERTS_ENV = "KSERVE_BRIDGE_ALERTS"  # per-API alert thresholds, exported as kserve_bridge_alert_threshold
# SIGTERM: seconds the server keeps accepting while /readyz fails, before it closes the port and drains
# (docs/limits.md, "Shutdown"). The translator sets it on RawDeployment pods; Knative's queue-proxy drains.
DRAIN_DELAY_ENV = "KSERVE_BRIDGE_DRAIN_DELAY_S"
RAW_DEPLOYMENT_DRAIN_DELAY_S = 5

DEFAULT_ALERTS = {"latency_p99_seconds": 1.0, "error_ratio": 0.05, "drift_psi": 0.2}
MISSING_BIN = "(missing)"  # drift: absent, null, NaN or (for a numeric feature) non-numeric values
OTHER_BIN = "(other)"  # drift: categories the reference did not have among its most frequent
PREDICTION_FEATURE = "prediction"  # drift: the predictor's answer, not a request field


# The predictor class rule, shared by `validate` (spec/predictor_check.py, reading the file with `ast`)
# and the model server (modelserver/predictor.py, importing it).
CORTEX_CLASS = {t: kind.class_name for t, kind in PREDICTOR_KINDS.items()}
CLIENT_ARG = {t: kind.client_arg for t, kind in PREDICTOR_KINDS.items()}
# method -> (arguments the model server passes when declared, arguments it must declare);
# __init__ also gets the type's client (CLIENT_ARG); job_spec is None for a RealtimeAPI, as in Cortex.
METHOD_ARGS = {
    "__init__": ({"config", "job_spec"}, set()),
    "predict": ({"payload", "query_params", "headers", "batch_id"}, set()),
    "post_predict": ({"response", "payload", "query_params", "headers"}, set()),
    "load_model": ({"model_path"}, {"model_path"}),
}


def allowed_args(method: str, predictor_type: str) -> tuple[set[str], set[str]]:
    allowed, required = METHOD_ARGS[method]
    return (allowed | {CLIENT_ARG[predictor_type]} if method == "__init__" else allowed), required


def pick_class(classes: dict[str, bool], predictor_type: str) -> tuple[str, str | None]:
    """The predictor class among `classes` (name -> has a predict method) and a note when it is not
    the Cortex name: the Cortex class of the type; else the one class with a predict method."""
    expected = CORTEX_CLASS[predictor_type]
    cortex = [name for name in classes if name in set(CORTEX_CLASS.values())]
    if cortex:
        if cortex != [expected]:
            raise PredictorError(f"must define exactly one predictor class, {expected} for type {predictor_type!r} "
                                 f"(found: {', '.join(cortex)})")
        return expected, None
    candidates = [name for name, has_predict in classes.items() if has_predict]
    if len(candidates) == 1:
        return candidates[0], f"using class {candidates[0]} as the predictor (Cortex named it {expected})"
    if not candidates:
        raise PredictorError(f"no predictor class: define {expected} (for type {predictor_type!r}), or one class "
                             f"with a predict method (found: none)")
    raise PredictorError(f"several classes with a predict method ({', '.join(candidates)}): name the predictor "
                         f"{expected}")


class ModelSource(BaseModel):
    """One model the predictor's client can load (`path` is project-relative or a URI)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    path: str
    signature_key: str | None = None


class DriftFeature(BaseModel):
    """One feature watched for drift (kserve.monitoring.drift): its bins and the reference share of each.
    `convert` computes them from the reference data (kserve_bridge/drift.py); the server counts into them."""

    model_config = ConfigDict(extra="forbid")
    name: str
    column: int = Field(description="Position in the reference's columns: the value's index in a row that "
                                    "is a list (v1 instances, v2 tensors)")
    edges: list[float] | None = Field(None, description="Numeric: upper edges of the bins but the last")
    categories: list[str] | None = Field(None, description="Categorical: one bin each, then other")
    bins: list[str] = Field(description="Bin labels; the last is MISSING_BIN")
    reference: list[float] = Field(description="Share of the reference rows in each bin")
    key: str | None = Field(None, description="prediction: the answer's field holding the predicted value")

    def bin_of(self, value: Any) -> int:
        """The index in `bins` of one observed value."""
        if self.edges is not None:
            number = as_number(value)
            return len(self.bins) - 1 if number is None else bisect_left(self.edges, number)
        if value is None or value != value:
            return len(self.bins) - 1
        key = category(value)
        categories = self.categories or []
        return categories.index(key) if key in categories else len(categories)


def as_number(value: Any) -> float | None:
    """A numeric feature's value, or None (missing): absent, null, NaN, a bool or not a number."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return None if value != value else value


def category(value: Any) -> str:
    """A categorical value as its bin label: strings as they are, 1.0 and 1 both as "1", true/false."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):  # v2 BYTES
        return value.decode("utf-8", "replace")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class ServerSettings(BaseModel):
    """What the model server reads for one API."""

    model_config = ConfigDict(extra="forbid")
    api_name: str
    predictor_type: PredictorType
    predictor_path: str = Field(description="Predictor file, relative to the project directory")
    endpoint: str = Field(description="Cortex route served besides /predict")
    models: list[ModelSource] = Field(default_factory=list, description="Named models (single path: one entry)")
    models_dir: str | None = Field(None, description="models.dir: one sub-folder per model")
    single_model: bool = Field(False, description="True when models.path (one unnamed model) was used")
    signature_key: str | None = None
    cache_size: int | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    env: dict[str, str] = Field(default_factory=dict)
    python_path: str | None = None
    max_batch_size: int | None = None
    batch_interval: float | None = Field(None, description="Seconds")
    processes_per_replica: int = 1
    threads_per_process: int = 1
    max_concurrency: int = Field(1024, description="In-flight requests per replica before 503")
    request_timeout: float = 300.0
    log_level: str = "info"
    protocol: Literal["v1", "v2", "grpc-v2"] = Field("v1", description="grpc-v2: also serve gRPC on GRPC_PORT")
    deployment_id: str | None = None
    dependencies: dict[str, str] = Field(default_factory=lambda: dict(DEPENDENCY_FILES))
    drift: list[DriftFeature] = Field(default_factory=list, description="Features watched for drift")

    @classmethod
    def from_api(cls, api: RealtimeAPI, deployment_id: str | None = None,
                 project_dir: Path | None = None) -> ServerSettings:
        """`project_dir`: where kserve.monitoring.drift's reference file is read (no drift without it)."""
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
            drift=_drift_features(api, project_dir),
        )

    def to_env(self) -> dict[str, str]:
        """Environment variables that carry these settings into the pod."""
        data = self.model_dump(mode="json", exclude={"drift"} if not self.drift else None)  # most APIs: no drift
        env = {SETTINGS_ENV: json.dumps(data, sort_keys=True, separators=(",", ":"))}
        if self.deployment_id:
            env[DEPLOYMENT_ID_ENV] = self.deployment_id
        return env

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerSettings | None:
        """Settings from the environment, or None when the translator set none."""
        env: Mapping[str, str] = os.environ if environ is None else environ
        raw = env.get(SETTINGS_ENV)
        if not raw:
            return None
        settings = cls.model_validate_json(raw)
        if not settings.deployment_id and env.get(DEPLOYMENT_ID_ENV):
            settings.deployment_id = env[DEPLOYMENT_ID_ENV]
        return settings


def _drift_features(api: RealtimeAPI, project_dir: Path | None) -> list[DriftFeature]:
    drift = api.kserve.monitoring.drift if api.kserve.monitoring else None
    if drift is None or project_dir is None:
        return []
    from .drift import drift_features  # reads the reference file: only when there is one
    return drift_features(drift, Path(project_dir))


def canonical_header(name: str) -> str:
    """Go's net/http spelling of a header name (x-request-id -> X-Request-Id); KServe's logger matches it."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))
