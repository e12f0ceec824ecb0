"""Which ClusterServingRuntime an API lands on, and why.

The predictor type names a framework; so do the project's imports (read statically) and its
requirements.txt; `compute.gpu` asks for a GPU build. `kserve.runtime` and `predictor.image`
override the choice.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..runtimes import BY_NAME, FRAMEWORK_OF_MODULE, FRAMEWORK_OF_PREDICTOR_TYPE, RUNTIMES, Runtime, find
from ..spec.imports import Import, distribution, listed_modules, project_imports, requirement_names, third_party
from ..spec.models import RealtimeAPI

GPU_ORDER = ("torch", "tensorflow", "onnx")  # which GPU image wins when several frameworks are used


@dataclass
class Choice:
    runtime: Runtime
    reasons: list[str]
    warnings: list[str] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)

    @property
    def because(self) -> str:
        return "; ".join(self.reasons)


def choose_runtime(api: RealtimeAPI, project: Path | None) -> Choice:
    """The smallest runtime that has every framework the API needs, on the accelerator it asks for."""
    pred = api.predictor
    needed: dict[str, str] = {}  # framework -> the first reason
    typed = FRAMEWORK_OF_PREDICTOR_TYPE[pred.type]
    if typed:
        needed[typed] = f"predictor.type {pred.type}"
    imports = third_party(project_imports(project, pred.path, pred.python_path)) if project else []
    for imp in imports:
        fw = FRAMEWORK_OF_MODULE.get(imp.module)
        if fw:
            needed.setdefault(fw, f"{imp.file}:{imp.line} imports {imp.module}")
    listed = listed_modules(requirement_names(project, pred.dependencies.pip) if project else set())
    for module, fw in FRAMEWORK_OF_MODULE.items():
        if module in listed.modules and fw not in needed:
            needed[fw] = f"{pred.dependencies.pip} lists {listed.modules[module]}"
    reasons = list(needed.values()) or ["no framework imported: the smallest image"]
    warnings: list[str] = []
    runtime = find(set(needed), "cpu") or BY_NAME["kserve-bridge"]  # several CPU frameworks: the full image
    on_gpu = [f for f in GPU_ORDER if f in needed]
    if api.compute.gpu and not on_gpu:
        warnings.append(f"compute.gpu is set but {', '.join(sorted(needed)) or 'no framework'} has no GPU build; "
                        f"{runtime.name} runs on the CPU (the GPU is still reserved)")
    elif api.compute.gpu:
        reasons.append(f"compute.gpu {api.compute.gpu}")
        runtime = find(set(needed), "gpu") or find({on_gpu[0]}, "gpu") or runtime
        missing = sorted(set(needed) - set(runtime.frameworks))
        if missing:
            warnings.append(f"no GPU image holds {', '.join(sorted(needed))} together; {runtime.name} has "
                            f"{'/'.join(runtime.frameworks)}: list {', '.join(missing)} in "
                            f"{pred.dependencies.pip} or use predictor.image")
    provided = runtime.modules()
    guessed = sorted(listed.guessed)
    unsure = (f", unless {', '.join(guessed[:3])}{f' or {len(guessed) - 3} more' if len(guessed) > 3 else ''} "
              "provides it (not installed here, so what it provides is guessed from its name)") if guessed else ""
    for imp in imports:
        if imp.module not in provided and imp.module not in listed.modules:
            warnings.append(f"{imp.file}:{imp.line}: imports {imp.module}, which the {runtime.name} image does not "
                            f"have and {pred.dependencies.pip} does not list (add {distribution(imp.module)} to "
                            f"it{unsure})")
    return Choice(runtime, reasons, warnings, imports)


def runtime_names() -> list[str]:
    return [rt.name for rt in RUNTIMES]
