"""Modules `import kserve` loads that serving never uses, imported on first use instead of at start.

KServe's package imports its Kubernetes client (`kserve.api.kserve_client`: `from kubernetes
import client, config`, `requests`, `urllib3`, `tabulate`) for the SDK's cluster calls, and httpx (KServe's REST client)
imports its command line (`httpx._main`: rich, pygments); a model server uses neither, and they
cost ~0.1 s of every cold start (docs/benchmarks.md, "Cold start"). `defer_unused()`, called
before kserve is imported, puts a `Deferred` stand-in for each into `sys.modules`: it holds what
the import system reads (`__spec__`, `__path__`) and what is taken from it by name at import time
(a submodule: a stand-in of its own; a function: a forwarder that imports the module when called),
and imports the real modules the first time anything else is read from one, then forwards to them.
Code that does use them (a predictor calling the Kubernetes API, `kserve.KServeClient`,
`httpx.main`) works as before and pays the import then. Nothing of KServe's is changed.
tests/modelserver/test_deferred.py checks both halves.
"""
from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

# module -> what is taken from it by name as kserve is imported: submodules (kserve/api/*.py;
# kserve/configuration.py, the SDK's, imports urllib3) ...
SUBMODULES = {"kubernetes": ("client", "config", "watch"), "requests": (), "urllib3": ()}
# ... and functions (httpx/__init__.py: `from ._main import main`; kserve/api/watch.py: `from tabulate
# import tabulate`)
FUNCTIONS = {"httpx._main": ("main",), "tabulate": ("tabulate",)}
UNUSED_BY_SERVING = [*SUBMODULES, *FUNCTIONS]
_loading = threading.RLock()


class Deferred(types.ModuleType):
    """Stands in for a module until an attribute it does not hold is read; then the real module is
    imported (with every other stand-in), its namespace copied in, and the read answered from it."""

    _real: types.ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if attr == "__path__":  # a package's stand-in holds it; the import system probes any module for it
            raise AttributeError(attr)
        real = self._real or _load(self.__name__)
        return getattr(real, attr)


def defer_unused() -> list[str]:
    """Install the stand-ins of `UNUSED_BY_SERVING` whose package is not imported yet; the names
    installed. Does nothing once kserve is imported (its references are real modules already)."""
    if "kserve" in sys.modules:
        return []
    installed = []
    for name in UNUSED_BY_SERVING:
        if name.partition(".")[0] in sys.modules or (spec := _find(name)) is None:
            continue  # imported already, or not installed: importing it does what it would have
        module = _stand_in(name, spec)
        for child in SUBMODULES.get(name, ()):
            setattr(module, child, _stand_in(f"{name}.{child}", _find(f"{name}.{child}")))
            installed.append(f"{name}.{child}")
        for function in FUNCTIONS.get(name, ()):
            setattr(module, function, _forwarder(name, function))
        installed.append(name)
    return installed


def _find(name: str) -> importlib.machinery.ModuleSpec | None:
    """`name`'s spec, found without importing (or running) its package."""
    top, _, rest = name.partition(".")
    spec = importlib.util.find_spec(top)
    for part in rest.split(".") if rest else ():
        if spec is None or spec.submodule_search_locations is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(f"{spec.name}.{part}", spec.submodule_search_locations)
    return spec


def _stand_in(name: str, spec: importlib.machinery.ModuleSpec | None) -> Deferred:
    module = Deferred(name)
    module.__spec__ = spec
    if spec is not None and spec.submodule_search_locations is not None:
        module.__path__ = list(spec.submodule_search_locations)
    sys.modules[name] = module
    return module


def _forwarder(module: str, name: str) -> Callable[..., Any]:
    def forward(*args: Any, **kwargs: Any) -> Any:
        return getattr(_load(module), name)(*args, **kwargs)
    forward.__name__ = forward.__qualname__ = name
    forward.__doc__ = f"{module}.{name}, imported at its first call (modelserver/deferred.py)"
    return forward


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
