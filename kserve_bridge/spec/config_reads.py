"""Which `predictor.config` keys a predictor reads with `config[...]`, found with Python's `ast`.

A read is followed only where the object is surely predictor.config or a part of it: the
constructor's `config` argument (never rebound), `config["a"]["b"]`, and `self.config` when every
assignment to it in the class is one of those (`self.config = config["models"]` makes
`self.config["iris"]` a read of `models.iris`). A read of a missing key is certain, an error,
when the model server surely runs it: in `__init__`, `predict`, `post_predict` or `load_model`,
outside any branch, loop or `try`, in a class that never writes to the config. Elsewhere it is a
warning; a read guarded by an `if` naming the key, or a `try` that catches KeyError, is none.
A missing key may have a look-alike in the same dict that the class never reads (`path` for
`model_path`, a renamed or misspelt key); the read carries it, for the message to name.
"""
from __future__ import annotations

import ast
import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Function = ast.FunctionDef | ast.AsyncFunctionDef
CALLED = ("__init__", "predict", "post_predict", "load_model")  # the model server calls each one it finds
MUTATORS = {"update", "setdefault", "pop", "popitem", "clear", "__setitem__"}
CATCHES_KEY_ERROR = {"KeyError", "LookupError", "Exception", "BaseException"}


@dataclass(frozen=True)
class ConfigRead:
    owner: str  # the class that defines the method
    method: str
    path: tuple[str, ...]  # the keys read, down to the first one predictor.config lacks
    line: int
    certain: bool
    look_alike: str | None = None  # an unread key of the same dict, probably the one meant


def _is_self_config(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "config" and isinstance(node.value, ast.Name) \
        and node.value.id == "self"


class _Aliases:
    """Expressions that are surely predictor.config (or a part of it), as key paths."""

    def __init__(self, owned: dict[str, tuple[str, Function]]):
        init = owned["__init__"][1] if "__init__" in owned else None
        args = [a.arg for a in init.args.args + init.args.kwonlyargs] if init else []
        rebound = init is not None and any(isinstance(n, ast.Name) and n.id == "config" and
                                           not isinstance(n.ctx, ast.Load) for n in ast.walk(init))
        self.init = init if "config" in args and not rebound else None
        paths = {self.path(value, func) if value is not None else None
                 for _, func in owned.values() for value in _self_config_assignments(func)}
        self.self_config = next(iter(paths)) if len(paths) == 1 else None

    def path(self, node: ast.expr | None, func: Function) -> tuple[str, ...] | None:
        if isinstance(node, ast.Name) and node.id == "config" and func is self.init:
            return ()
        if node is not None and _is_self_config(node):
            return self.self_config
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and \
                isinstance(node.slice.value, str):
            base = self.path(node.value, func)
            return None if base is None else (*base, node.slice.value)
        return None


def _self_config_assignments(func: Function) -> Iterator[ast.expr | None]:
    """The values assigned to `self.config` in `func` (None: assigned in a way that is not followed)."""
    for node in ast.walk(func):
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if _is_self_config(target):
                    yield node.value if isinstance(node, ast.Assign) and len(targets) == 1 else None
                elif isinstance(target, (ast.Tuple, ast.List)) and any(_is_self_config(t) for t in target.elts):
                    yield None


def _missing(path: tuple[str, ...], config: Any) -> tuple[str, ...] | None:
    """`path` down to its first key absent from `config`; None when all are there or a value is not a dict."""
    for depth, key in enumerate(path):
        if not isinstance(config, dict):
            return None
        if key not in config:
            return path[:depth + 1]
        config = config[key]
    return None


def _read_paths(func: Function, aliases: _Aliases) -> Iterator[tuple[str, ...]]:
    """The key paths `func` reads with a constant key: `config["k"]` and `config.get("k")`."""
    for node in ast.walk(func):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            path = aliases.path(node, func)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            base = aliases.path(node.func.value, func)
            path = None if base is None else (*base, node.args[0].value)
        else:
            continue
        if path is not None:
            yield path


def _look_alike(missing: tuple[str, ...], config: dict, read: set[tuple[str, ...]]) -> str | None:
    """A key beside the missing one, never read, whose name is the missing name's `_` part or a near
    spelling of it (`path` for `model_path`, `model_pth`): probably the one meant."""
    *parents, key = missing
    for part in parents:
        config = config[part]
    for other in config:
        if not isinstance(other, str) or any(p[:len(parents) + 1] == (*parents, other) for p in read):
            continue
        short, long = sorted((other, key), key=len)
        if long.startswith(short + "_") or long.endswith("_" + short) or \
                difflib.SequenceMatcher(None, other, key).ratio() >= 0.8:
            return other
    return None


def _parents(func: Function) -> dict[ast.AST, ast.AST]:
    return {child: parent for parent in ast.walk(func) for child in ast.iter_child_nodes(parent)}


def _branch(node: ast.AST, parents: dict[ast.AST, ast.AST], key: str) -> str | None:
    """"guarded" when an `if` naming `key` or a `try` catching KeyError surrounds `node`, "branch" when
    it may not run whenever its method does (a branch, a loop, a `try`, a nested function), else None."""
    found = None
    while node in parents:
        node, child = parents[node], node
        if isinstance(node, (ast.If, ast.While, ast.IfExp)) and child is not node.test:
            if any(isinstance(n, ast.Constant) and n.value == key for n in ast.walk(node.test)):
                return "guarded"
            found = "branch"
        elif isinstance(node, ast.Try) and child in node.body:
            caught = {n.id for h in node.handlers for n in ast.walk(h.type or ast.Name("BaseException"))
                      if isinstance(n, ast.Name)}
            if caught & CATCHES_KEY_ERROR:
                return "guarded"
            found = found or ("branch" if node.handlers else None)
        elif isinstance(node, (ast.For, ast.AsyncFor)) and child is not node.iter:
            found = "branch"
        elif isinstance(node, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef, ast.ExceptHandler,
                               ast.comprehension, ast.match_case)) and node in parents:
            found = "branch"
        elif isinstance(node, ast.BoolOp) and child is not node.values[0]:
            found = "branch"
    return found


def config_reads(owned: dict[str, tuple[str, Function]], config: dict) -> list[ConfigRead]:
    """Reads of keys `config` (predictor.config) lacks, once per method and key path."""
    aliases = _Aliases(owned)
    written: set[tuple[str, ...]] = set()
    mutated = False
    for _, func in owned.values():
        for node in ast.walk(func):
            if isinstance(node, ast.Subscript) and not isinstance(node.ctx, ast.Load):
                target = aliases.path(node, func)
                mutated |= target is None and aliases.path(node.value, func) is not None
                written |= {target} if target is not None else set()
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr in MUTATORS and aliases.path(node.func.value, func) is not None:
                mutated = True
    read = {path for _, func in owned.values() for path in _read_paths(func, aliases)}
    found: list[ConfigRead] = []
    for method, (owner, func) in owned.items():
        parents, seen = _parents(func), set()
        for node in ast.walk(func):
            if not (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load)):
                continue
            path = aliases.path(node, func)
            missing = _missing(path, config) if path is not None else None
            if missing is None or missing in seen or any(missing[:len(w)] == w for w in written):
                continue
            branch = _branch(node, parents, missing[-1])
            if branch == "guarded":
                continue
            seen.add(missing)
            certain = method in CALLED and branch is None and not mutated
            found.append(ConfigRead(owner, method, missing, node.lineno, certain,
                                    _look_alike(missing, config, read)))
    return found
