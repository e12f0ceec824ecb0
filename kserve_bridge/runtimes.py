"""The model-server images and their ClusterServingRuntimes: one per framework set and accelerator.

One table (`RUNTIMES`) drives the image builds (scripts/build_images.py), the runtimes shipped in
manifests/base (translator/serving_runtime.py renders them, scripts/update_runtimes.py writes them), and the
translator's choice of runtime.
"""
from __future__ import annotations

from dataclasses import dataclass

from .interface import PREDICTOR_KINDS

VERSION = "0.1.0"
IMAGE_REPO = "ghcr.io/kserve-bridge/modelserver"
MODEL_FORMAT = "kserve-bridge"  # what every translated InferenceService asks for; every runtime serves it
FRAMEWORKS = ("sklearn", "torch", "onnx", "tensorflow")

# What the server extra brings into every image (kserve and its dependencies), by import name.
BASE_MODULES = frozenset({
    "PIL", "aiohttp", "attr", "azure", "boto3", "botocore", "certifi", "click", "cloudevents", "dateutil",
    "dotenv", "fastapi", "filelock", "fsspec", "google", "grpc", "httpx", "huggingface_hub", "idna", "jsonschema",
    "jwt", "kserve", "kserve_storage", "kserve_bridge", "kubernetes", "modelserver", "multidict", "numpy",
    "orjson", "packaging", "pandas", "prometheus_client", "psutil", "pydantic", "pytz", "requests", "ruamel",
    "six", "starlette", "tabulate", "tqdm", "typing_extensions", "urllib3", "uvicorn", "yaml",
})
# Import names each framework extra adds (the framework and what it pulls in).
FRAMEWORK_MODULES: dict[str, frozenset[str]] = {
    "sklearn": frozenset({"sklearn", "joblib", "scipy", "threadpoolctl"}),
    "torch": frozenset({"torch", "torchgen", "functorch", "sympy", "networkx", "jinja2", "mpmath"}),
    "onnx": frozenset({"onnxruntime", "onnx", "flatbuffers", "coloredlogs", "sympy"}),
    "tensorflow": frozenset({"tensorflow", "keras", "tensorboard", "h5py", "absl", "ml_dtypes", "opt_einsum",
                             "wrapt", "termcolor", "gast", "astunparse", "flatbuffers", "tf_keras"}),
}
# Imports that mean "this predictor needs that framework" (torchvision runs on the torch image plus
# requirements.txt; it still says torch).
FRAMEWORK_OF_MODULE = {"sklearn": "sklearn", "joblib": "sklearn", "torch": "torch", "torchvision": "torch",
                       "torchaudio": "torch", "onnxruntime": "onnx", "onnx": "onnx", "tensorflow": "tensorflow",
                       "keras": "tensorflow", "tf_keras": "tensorflow", "tensorflow_hub": "tensorflow",
                       "tensorflow_text": "tensorflow"}
FRAMEWORK_OF_PREDICTOR_TYPE = {t: kind.framework for t, kind in PREDICTOR_KINDS.items()}


@dataclass(frozen=True)
class Runtime:
    """One image and the ClusterServingRuntime that runs it."""

    name: str
    tag: str  # image tag suffix: <VERSION>-<tag>
    frameworks: tuple[str, ...]
    accelerator: str = "cpu"  # cpu | gpu (NVIDIA CUDA)
    auto_select: bool = False  # the one runtime KServe picks for modelFormat kserve-bridge by itself

    @property
    def extras(self) -> str:
        """pip extras of kserve-bridge the image installs (GPU builds of onnxruntime and TensorFlow have
        extras of their own; torch's GPU build comes from the ACCEL build argument)."""
        gpu = {"onnx": "onnx-gpu", "tensorflow": "tensorflow-gpu"} if self.accelerator == "gpu" else {}
        return ",".join(gpu.get(f, f) for f in self.frameworks)

    def image(self, repo: str = IMAGE_REPO) -> str:
        return f"{repo}:{VERSION}-{self.tag}"

    def modules(self) -> frozenset[str]:
        """Import names this image provides."""
        return BASE_MODULES.union(*(FRAMEWORK_MODULES[f] for f in self.frameworks))


RUNTIMES: tuple[Runtime, ...] = (
    Runtime("kserve-bridge-sklearn", "sklearn", ("sklearn",)),
    Runtime("kserve-bridge-torch", "torch", ("sklearn", "torch")),
    Runtime("kserve-bridge-torch-gpu", "torch-gpu", ("sklearn", "torch"), accelerator="gpu"),
    Runtime("kserve-bridge-onnx", "onnx", ("sklearn", "onnx")),
    Runtime("kserve-bridge-onnx-gpu", "onnx-gpu", ("sklearn", "onnx"), accelerator="gpu"),
    Runtime("kserve-bridge-tensorflow", "tensorflow", ("sklearn", "tensorflow")),
    Runtime("kserve-bridge-tensorflow-gpu", "tensorflow-gpu", ("sklearn", "tensorflow"), accelerator="gpu"),
    # Every CPU framework in one image; keeps the name older translations used.
    Runtime("kserve-bridge", "full", FRAMEWORKS, auto_select=True),
)
BY_NAME = {rt.name: rt for rt in RUNTIMES}


def find(frameworks: frozenset[str] | set[str], accelerator: str) -> Runtime | None:
    """The smallest runtime with every framework in `frameworks` on `accelerator`, if any."""
    fits = [rt for rt in RUNTIMES if rt.accelerator == accelerator and set(frameworks) <= set(rt.frameworks)]
    return min(fits, key=lambda rt: len(rt.frameworks)) if fits else None

