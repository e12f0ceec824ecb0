"""Modules `import kserve` loads that serving never uses, imported on first use instead of at start.

KServe's package imports its Kubernetes client (`kserve.api.kserve_client`: `from kubernetes
import client, config`, `requests`) for the SDK's cluster calls; a model server never makes them,
and they cost ~0.1 s of every cold start (docs/benchmarks.md, "Cold start"). `defer_unused()`,
called before kserve is imported, puts a `Deferred` stand-in for each into `sys.modules`: it holds
what the import system reads (`__spec__`, `__path__`, the submodules KServe names) and imports the
real module the first time anything else is read from it, then forwards to it. Code that does use
them (a predictor calling the Kubernetes API, `kserve.KServeClient`) works as before and pays the
import then. Nothing of KServe's is changed. tests/modelserver/test_deferred.py checks both halves.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from typing import Any

# module -> the submodules KServe takes from it with `from module import name` (kserve/api/*.py)
UNUSED_BY_SERVING = {"kubernetes": ("client", "config", "watch"), "requests": ()}
_loading = threading.RLock()


class Deferred(types.ModuleType):
    """Stands in for a module until an attribute it does not hold is read; then the real module is
    imported (with every other stand-in), its namespace
    copied in, and the read answered from it."""

    _real: types.ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        real = self._real or _load(self.__name__)
        return getattr(real, attr)


def defer_unused() -> list[str]:
    """Install the stand-ins of `UNUSED_BY_SERVING` not imported yet; the names installed. Does
    nothing once kserve is imported (its references are real modules already)."""
    if "kserve" in sys.modules:
        return []
    installed = []
    for top, submodules in UNUSED_BY_SERVING.items():
        if top in sys.modules:
            continue
        spec = importlib.util.find_spec(top)  # a top-level spec: found without importing anything
        if spec is None:
            continue  # not installed: importing it fails as it would have
        package = _stand_in(top, spec)
        for sub in submodules:
            sub_spec = importlib.util.find_spec(f"{top}.{sub}")  # searches package.__path__ only
            setattr(package, sub, _stand_in(f"{top}.{sub}", sub_spec))
            installed.append(f"{top}.{sub}")
        installed.append(top)
    return installed


def _stand_in(name: str, spec: importlib.machinery.ModuleSpec | None) -> Deferred:
    module = Deferred(name)
    module.__spec__ = spec
    if spec is not None and spec.submodule_search_locations is not None:
        module.__path__ = list(spec.submodule_search_locations)
    sys.modules[name] = module
    return module


def _load(name: str) -> types.ModuleType:
    """Replace every stand-in by its real module and fill each stand-in from it. All at once: the
    real modules import one another (kubernetes.config imports requests' submodules, which a
    stand-in parent would not give)."""
    with _loading:
        stand_ins = {key: mod for key, mod in sys.modules.items() if isinstance(mod, Deferred)}
        for key in stand_ins:
            del sys.modules[key]
        try:
            for key, stand_in in sorted(stand_ins.items()):
                real = importlib.import_module(key)
                vars(stand_in).update({k: v for k, v in vars(real).items() if k != "__getattr__"})
                stand_in._real = real
        except BaseException:
            for key, stand_in in stand_ins.items():  # as before: the next read tries again
                if stand_in._real is None:
                    sys.modules.setdefault(key, stand_in)
            raise
    return sys.modules[name]
