"""kserve-bridge: Cortex-style specs and predictor classes on KServe + Knative.

Imports are lazy so that `kserve-bridge validate` and `convert` stay fast.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

from .errors import BridgeError, Problem, SpecError

__version__ = "0.1.0"

_LAZY = {
    "load_spec": "kserve_bridge.spec",
    "Spec": "kserve_bridge.spec",
    "translate": "kserve_bridge.translator",
    "render": "kserve_bridge.manifest",
    "client": "kserve_bridge.cluster.client",
    "release": "kserve_bridge.cluster.release",
    "tenant_objects": "kserve_bridge.translator.tenant",
    "create_tenant": "kserve_bridge.cluster.tenant",
}

__all__ = ["BridgeError", "Problem", "SpecError", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kserve_bridge' has no attribute {name!r}")
