"""Check predictor.py against the Cortex contract without importing it (Python's `ast`).

What Cortex found only in the cluster, minutes after a deploy, reported with the
predictor's file and line: a syntax error, no (or an ambiguous) predictor class,
arguments Cortex would not pass, `config["key"]` reads for keys predictor.config
lacks (config_reads.py; an error only when the spec's config surely fails, else a warning),
a tensorflow/onnx client asked for without models. Files the spec or the config name that are not in the
project are warnings (they may be created at start).
The class-choice rule and the argument table (contract.py) are shared with the model server.
"""
from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeGuard

from ..contract import CLIENT_ARG, METHOD_ARGS, PREDICTOR_KINDS, allowed_args, pick_class
from ..errors import PredictorError, Problem
from .config_reads import config_reads
from .models import RealtimeAPI

FILE_LIKE = re.compile(r"^(?!\w+://)[\w.\-]+(/[\w.\-]+)*\.[A-Za-z][A-Za-z0-9]{0,7}$")


def argument_problem(cls: str, method: str, names: list[str], star_args: bool, has_kwargs: bool,
                     predictor_type: str) -> str | None:
    """Why `cls.method(names...)` cannot be called the way the model server calls it, or None."""
    allowed, required = allowed_args(method, predictor_type)
    listed = ", ".join(sorted(allowed))
    if star_args:
        return f"{cls}.{method}: *args is not supported; declare arguments by name (allowed: {listed})"
    unknown = [n for n in names if n not in allowed] if not has_kwargs else []
    missing = sorted(required - set(names))
    if unknown:
        return f"{cls}.{method}: unknown argument(s) {', '.join(unknown)}; allowed: {listed}"
    if missing:
        return f"{cls}.{method}: missing argument(s) {', '.join(missing)}; allowed: {listed}"
    return None


LineOf = Callable[[tuple], "int | None"]


def check_predictor_file(api: RealtimeAPI, project: Path, spec_file: str, line_of: LineOf,
                         label: str) -> list[Problem]:
    """Problems of the API's predictor.py (errors, and `level` "warning"/"note" ones)."""
    pred = api.predictor
    file = project / pred.path
    out: list[Problem] = []

    def add(message: str, line: int | None, level: str = "error") -> None:
        out.append(Problem(label, message, str(file), line, level=level))

    out += _missing_files(api, project, spec_file, line_of, label)
    if not pred.path.endswith(".py") or not file.is_file():
        return out  # a missing file or a .pickle: reported elsewhere / not readable as source
    try:
        tree = ast.parse(file.read_bytes(), str(file))
    except SyntaxError as exc:
        add(f"syntax error: {exc.msg}", exc.lineno)
        return out
    except (OSError, ValueError) as exc:
        add(f"cannot read: {exc}", None)
        return out
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    for node in tree.body:  # `PythonPredictor = Predictor` aliases (as the Python client writes them)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id in classes:
            classes.update({t.id: classes[node.value.id] for t in node.targets if isinstance(t, ast.Name)})
    try:
        name, note = pick_class({n: _has_predict(c, classes) for n, c in classes.items()}, pred.type)
    except PredictorError as exc:
        external = [n for n, c in classes.items() if any(not _in_file(b, classes) for b in c.bases)]
        if not (str(exc).startswith("no predictor class") and external):  # else predict may be inherited
            add(str(exc), None)
        return out
    cls = classes[name]
    if note:
        add(note, cls.lineno, "note")
    name = cls.name  # an alias (`PythonPredictor = Doubler`) is reported by the class's own name
    owned = _inherited_methods(cls, classes)
    methods = {method: func for method, (_, func) in owned.items()}
    if "predict" not in methods and not cls.bases:
        add(f"{name} has no predict method", cls.lineno)
    for method, (owner, func) in owned.items():
        if method in METHOD_ARGS:
            args = func.args
            names = [a.arg for a in args.posonlyargs + args.args][1:] + [a.arg for a in args.kwonlyargs]
            problem = argument_problem(owner, method, names, args.vararg is not None, args.kwarg is not None,
                                       pred.type)
            if problem:
                add(problem, func.lineno)
    init = methods.get("__init__")
    init_args = {a.arg for a in init.args.args + init.args.kwonlyargs} if init else set()
    client = CLIENT_ARG[pred.type]
    if pred.models is None and PREDICTOR_KINDS[pred.type].needs_models:
        if init is not None and client in init_args:
            add(f"{name}.__init__ asks for {client}, which needs predictor.models (path, paths or dir); "
                f"set it, or load the model in the constructor yourself", init.lineno)
        else:
            add(f"no predictor.models: {name} loads its own model; it is served with {pred.type} available "
                f"and no {client}", cls.lineno, "note")
    _config_reads(owned, api, spec_file, line_of, add)
    return out


def _in_file(base: ast.expr, classes: dict[str, ast.ClassDef]) -> TypeGuard[ast.Name]:
    return isinstance(base, ast.Name) and base.id in classes


def _has_predict(cls: ast.ClassDef, classes: dict[str, ast.ClassDef], depth: int = 0) -> bool:
    """Defines predict, or inherits it from a class of the same file."""
    return "predict" in _methods(cls) or depth < 20 and any(
        _has_predict(classes[b.id], classes, depth + 1) for b in cls.bases if _in_file(b, classes))


def _methods(cls: ast.ClassDef) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    return {n.name: n for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _inherited_methods(cls: ast.ClassDef, classes: dict[str, ast.ClassDef],
                       depth: int = 0) -> dict[str, tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """method -> (defining class, definition), including what `cls` inherits from classes of the same file
    (e.g. `class PythonPredictor(MyModel)`, as the Python client writes a notebook class)."""
    out: dict[str, tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = {}
    if depth < 20:
        for base in reversed(cls.bases):
            if _in_file(base, classes) and classes[base.id] is not cls:
                out.update(_inherited_methods(classes[base.id], classes, depth + 1))
    out.update({method: (cls.name, func) for method, func in _methods(cls).items()})
    return out


def _config_reads(owned: dict[str, tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]], api: RealtimeAPI,
                  spec_file: str, line_of: LineOf, add: Callable[..., None]) -> None:
    """`config["key"]` reads of keys predictor.config lacks. An error only when certain: the spec sets
    predictor.config, the read surely runs, and no unread look-alike key may be the one meant; else a
    warning that says what happens at load and what to change."""
    is_set = "config" in api.predictor.model_fields_set
    where = line_of(("predictor", "config")) if is_set else None
    for read in config_reads(owned, api.predictor.config):
        *parents, key = read.path
        expression = "config" + "".join(f"[{k!r}]" for k in read.path)
        part, at = "".join(f".{k}" for k in parents), f" ({spec_file}:{where})" if where else ""
        fails = f"loading fails with KeyError: {key!r}"
        if not is_set:
            add(f"{read.owner}.{read.method} reads {expression}, but predictor.config is not set in {spec_file}: "
                f"{fails if read.certain else 'if that read runs, it raises KeyError: ' + repr(key)}; "
                f"set predictor.config{part}.{key}", read.line, "warning")
        elif not read.certain:
            add(f"{read.owner}.{read.method} reads {expression}, but predictor.config{part}{at} has no {key!r} "
                f"(if that read runs: it is in a branch, a helper, or the class changes its config)", read.line,
                "warning")
        elif read.look_alike:
            add(f"{read.owner}.{read.method} reads {expression}, but predictor.config{part}{at} has no {key!r}: "
                f"{fails}; it has {read.look_alike!r}, which the predictor never reads: rename it to {key!r} if "
                f"that is the key meant", read.line, "warning")
        else:
            add(f"{read.owner}.{read.method} reads {expression}, but predictor.config{part}{at} has no {key!r}",
                read.line)


def _missing_files(api: RealtimeAPI, project: Path, spec_file: str, line_of: LineOf, label: str) -> list[Problem]:
    """Warnings for local model paths, and config values that look like file names, absent from the project."""
    pred, found = api.predictor, []
    named: list[tuple[tuple, str | None]] = []
    if pred.models is not None:
        named += [(("predictor", "models", "path"), pred.models.path),
                  (("predictor", "models", "dir"), pred.models.dir)]
        named += [(("predictor", "models", "paths", i, "path"), m.path) for i, m in enumerate(pred.models.paths or [])]
    named += [(("predictor", "config", key), value) for key, value in pred.config.items()
              if isinstance(value, str) and FILE_LIKE.match(value)]
    root = project.resolve()
    for loc, rel in named:
        if not isinstance(rel, str) or re.match(r"^[a-z][a-z0-9+.-]*://", rel) or rel.startswith(("/", "~")):
            continue
        try:
            target = (root / rel).resolve()
            exists = target.exists()
        except (OSError, ValueError, RuntimeError):
            continue
        if not exists and (target == root or root in target.parents):
            path = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[")
            found.append(Problem(f"{label}.{path}", f"{rel} is not in the project directory (fine if the "
                                 f"predictor creates or downloads it at start)", spec_file, line_of(loc),
                                 level="warning"))
    return found
