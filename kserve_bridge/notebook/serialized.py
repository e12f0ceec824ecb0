"""The fallback for classes whose source cannot be recovered: the class pickled by value
(cloudpickle) plus the versions it was pickled with, checked where it is loaded."""
from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

from ..errors import PredictorError

PICKLE_FILE = "predictor.pkl"
VERSIONS_FILE = "predictor.versions.json"


def serialize(cls: type) -> tuple[bytes, dict[str, str]]:
    """The pickled class and the versions (Python, cloudpickle, libraries it uses) it needs."""
    try:
        import cloudpickle
    except ImportError as exc:
        raise PredictorError("cloudpickle is needed to ship a class without source: pip install cloudpickle") \
            from exc
    try:
        data = cloudpickle.dumps(cls)
    except Exception as exc:  # pickling runs arbitrary __reduce__ code
        raise PredictorError(f"cannot serialise {cls.__qualname__}: {type(exc).__name__}: {exc}") from exc
    versions = {"python": "{}.{}".format(*sys.version_info[:2]), "cloudpickle": cloudpickle.__version__}
    for name in sorted(_libraries(cls)):
        version = getattr(sys.modules.get(name), "__version__", None)
        if isinstance(version, str):
            versions[name] = version
    return data, versions


def loader_source(cls: type, reason: str, class_name: str) -> str:
    """The predictor.py that loads the pickled class."""
    why = " ".join(reason.split())
    return (f"# {cls.__name__} from an interactive session, serialised because its source could not be\n"
            f"# recovered: {why}\n"
            f"# It loads from {PICKLE_FILE}; {VERSIONS_FILE} lists the versions it needs.\n"
            "# The source that could be read is in predictor_source.py (for reading only).\n"
            "from kserve_bridge.notebook.serialized import load_class\n\n\n"
            f"class {class_name}(load_class(__file__)):\n"
            f'    """{cls.__name__}, under the name the model server loads."""\n')


def load_class(predictor_file: str) -> type:
    """Unpickle the class next to `predictor_file` after checking the versions match."""
    folder = Path(predictor_file).parent
    wanted = json.loads((folder / VERSIONS_FILE).read_text())
    problems = []
    for name, version in wanted.items():
        have = "{}.{}".format(*sys.version_info[:2]) if name == "python" else _installed(name)
        if have != version:
            problems.append(f"{name} {version} (this image has {have or 'none'})")
    if problems:
        raise PredictorError("the serialised predictor needs " + ", ".join(problems) +
                             "; install those versions (requirements.txt) or define the class in a .py file")
    import cloudpickle
    return cloudpickle.loads((folder / PICKLE_FILE).read_bytes())


def _installed(name: str) -> str | None:
    try:
        module = __import__(name)
    except ImportError:
        return None
    version = getattr(module, "__version__", None)
    return version if isinstance(version, str) else None


def _libraries(cls: type) -> set[str]:
    """Top-level packages of the modules the class's methods can reach through their globals."""
    found: set[str] = set()
    for value in vars(cls).values():
        func = getattr(value, "__func__", value)
        if isinstance(func, types.FunctionType):
            for name in func.__code__.co_names:
                found |= _package_of(func.__globals__.get(name))
    return {name for name in found if name not in sys.stdlib_module_names and name != "builtins"}


def _package_of(value: Any) -> set[str]:
    module = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", None)
    return {module.split(".")[0]} if isinstance(module, str) and module != "__main__" else set()
