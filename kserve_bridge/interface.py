"""The facts both sides of the seam agree on, free of heavy imports (the CLI's --help reads them).

The pod interface (model dir, port, payload limit, the server's arguments), the remote model
locations the server can fetch, and the predictor kinds. `contract` re-exports all of it; import
from there unless the import must stay light.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# The pod interface: what the ServingRuntimes, the InferenceService, the Dockerfile and `serve` agree on.
MODEL_DIR = "/mnt/models"  # where KServe's storage initializer unpacks storageUri (the project)
MODEL_DIR_ENV = "KSERVE_BRIDGE_MODEL_DIR"  # overrides MODEL_DIR for `python -m modelserver`
HTTP_PORT = 8080
GRPC_PORT = 8081  # the Open Inference Protocol over gRPC (kserve.protocol: grpc-v2), KServe's default; port name h2c
GRPC_PORT_NAME = "h2c"  # HTTP/2 cleartext: the container port name Knative and KServe route gRPC to
SERVER_CONTAINER = "kserve-container"  # the model server's container (KServe's name in every predictor pod)
PORT_ENV = "PORT"
MAX_PAYLOAD_BYTES = 32 * 1024 * 1024  # largest request body; larger gets 413
# Written last into each uploaded prefix (so into MODEL_DIR): the deployment, each file's size and sha256.
BUNDLE_MANIFEST = "kserve-bridge.json"


def file_sha256(path: str | Path) -> str:
    """A file's sha256 as BUNDLE_MANIFEST records it (`deploy` writes it, the server checks it)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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
    needs_models: bool  # its client needs predictor.models (a class that loads its own model may go without)
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
