"""Rebuild a self-contained module from an interactive session for one class.

Jupyter/IPython keep each cell's text in `linecache`, so the class body is found
through its methods' code objects. Every global name the class (and, recursively,
each helper it uses) refers to is resolved against the session: modules become
imports, objects importable from a module become `from m import x`, functions and
classes defined in the session are recovered the same way, and plain literals
(numbers, strings, lists, dicts, ...) become assignments. Anything else cannot be
written as source and raises `Unrecoverable`.
"""
from __future__ import annotations

import ast
import builtins
import inspect
import linecache
import math
import symtable
import sys
import textwrap
import types
from typing import Any

MAX_LITERAL_CHARS = 20_000  # bigger values (data) are not inlined into source


class Unrecoverable(Exception):
    """The class, or something it uses, cannot be written as source."""


def recover_module(cls: type) -> str:
    """Source of a module that defines `cls` with everything it uses from the session."""
    namespace = _namespace_of(cls)
    builder = _Builder(namespace)
    builder.resolve(cls.__name__, cls)
    return builder.render(cls)


def definition_source(obj: Any) -> str:
    """Dedented source of a class or function, also when it was defined in a notebook cell."""
    if inspect.isclass(obj):  # by its methods' code first: inspect may search __main__'s file by name
        found = _class_source_from_code(obj)
        if found:
            return found
    try:
        return textwrap.dedent(inspect.getsource(obj))
    except (OSError, TypeError):
        raise Unrecoverable(f"the source of {obj.__qualname__} is not available in this session") from None


def _class_source_from_code(cls: type) -> str | None:
    """The cell (or file) text of the `class` statement that compiled the class's methods."""
    for code in _codes_of(cls):
        lines = linecache.getlines(code.co_filename)
        try:
            tree = ast.parse("".join(lines)) if lines else None
        except SyntaxError:
            continue
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, ast.ClassDef) and node.name == cls.__name__ \
                    and node.lineno <= code.co_firstlineno <= (node.end_lineno or 0):
                start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                return textwrap.dedent("".join(lines[start - 1:node.end_lineno]))
    return None


def free_names(source: str) -> list[str]:
    """Global names `source` reads but does not define, in order of first use."""
    table = symtable.symtable(source, "<recovered>", "exec")
    defined = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    free: set[str] = {s.get_name() for s in table.get_symbols() if s.is_referenced()}
    stack = list(table.get_children())
    while stack:
        scope = stack.pop()
        free |= {s.get_name() for s in scope.get_symbols() if s.is_referenced() and s.is_global()}
        stack += scope.get_children()
    free -= defined
    order = sorted((n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)),
                   key=lambda n: (n.lineno, n.col_offset))
    return [name for name in dict.fromkeys(n.id for n in order) if name in free]


def literal_source(value: Any) -> str | None:
    """Python source that rebuilds a plain value exactly, or None. Sets are sorted so the
    text does not depend on the interpreter's hash seed."""
    kind = type(value)
    if value is None or kind in (bool, int, str, bytes):
        return repr(value)
    if kind is float:
        return repr(value) if math.isfinite(value) else f'float("{value}")'
    if kind in (list, tuple, set, frozenset):
        sources = [literal_source(v) for v in value]
        items = [text for text in sources if text is not None]
        if len(items) != len(sources):
            return None
        if kind in (set, frozenset):
            items.sort()
            body = "{" + ", ".join(items) + "}" if items else "set()"
            return body if kind is set else f"frozenset({body if items else ''})"
        if kind is tuple:
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        return "[" + ", ".join(items) + "]"
    if kind is dict:
        pairs = [(literal_source(k), literal_source(v)) for k, v in value.items()]
        if any(k is None or v is None for k, v in pairs):
            return None
        return "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
    return None


class _Builder:
    def __init__(self, namespace: dict[str, Any]):
        self.namespace = namespace
        self.module_name = namespace.get("__name__", "__main__")
        self.done: set[str] = set()
        self.imports: set[str] = set()
        self.constants: list[str] = []
        self.definitions: list[str] = []
        self.session_imports = _session_imports(namespace)

    def resolve(self, name: str, value: Any) -> None:
        """Add what binds `name` (and, for session definitions, what they use)."""
        if name in self.done:
            return
        self.done.add(name)
        if getattr(builtins, name, None) is value:
            return
        if name in self.session_imports and _binds(self.session_imports[name], value):
            self.imports.add(self.session_imports[name][0])
            return
        if isinstance(value, types.ModuleType):
            module = value.__name__
            self.imports.add(f"import {module}" if module == name else f"import {module} as {name}")
            return
        if self._defined_here(value) and value.__name__ != name:  # an alias: `name = helper`
            self.resolve(value.__name__, value)
            self.definitions.append(f"{name} = {value.__name__}")
            return
        if self._defined_here(value):
            if "<locals>" in value.__qualname__:
                raise Unrecoverable(f"{value.__qualname__} is defined inside a function (it may use its locals)")
            source = definition_source(value)
            for free in free_names(source):
                if free in self.namespace:
                    self.resolve(free, self.namespace[free])
                elif not hasattr(builtins, free):
                    raise Unrecoverable(f"{name} uses {free}, which is not defined in this session")
            self.definitions.append(source.rstrip())
            return
        importable = self._import_line(name, value)
        if importable:
            self.imports.add(importable)
            return
        literal = literal_source(value)
        if literal is None or len(literal) > MAX_LITERAL_CHARS:
            what = "too large to inline" if literal else f"a {type(value).__name__}"
            raise Unrecoverable(f"{name} is {what}, which cannot be written as source")
        self.constants.append(f"{name} = {literal}")

    def _defined_here(self, value: Any) -> bool:
        target = inspect.unwrap(value) if callable(value) else value
        return (inspect.isclass(value) or inspect.isfunction(target)) \
            and getattr(value, "__module__", None) == self.module_name

    def _import_line(self, name: str, value: Any) -> str | None:
        module = getattr(value, "__module__", None)
        attr = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
        if not module or not attr or module == self.module_name or "." in attr:
            return None
        if getattr(sys.modules.get(module), attr, None) is not value:
            return None
        return f"from {module} import {attr}" + ("" if attr == name else f" as {name}")

    def render(self, cls: type) -> str:
        imports = sorted(line for line in self.imports if line.startswith("import ")) + \
            sorted(line for line in self.imports if line.startswith("from "))
        head = f'"""{cls.__name__}, recovered by kserve-bridge from an interactive session."""'
        parts = [head, "\n".join(imports), "\n".join(self.constants), *self.definitions]
        return "\n\n\n".join(p for p in parts if p) + "\n"


def _session_imports(namespace: dict[str, Any]) -> dict[str, tuple[str, str, str | None]]:
    """name -> (import statement, module, attribute) as the user wrote them in IPython's
    input history (`_ih`), so `import os.path as osp` is not rewritten to `posixpath`."""
    found: dict[str, tuple[str, str, str | None]] = {}
    history = namespace.get("_ih")
    for cell in history if isinstance(history, list) else []:
        try:
            tree = ast.parse(cell) if isinstance(cell, str) else None
        except SyntaxError:
            continue
        for node in tree.body if tree else []:
            if isinstance(node, ast.Import):
                for a in node.names:
                    bound = a.asname or a.name.split(".")[0]
                    found[bound] = (ast.unparse(ast.Import([a])), a.asname and a.name or bound, None)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    found[a.asname or a.name] = (ast.unparse(ast.ImportFrom(node.module, [a], 0)), node.module,
                                                 a.name)
    return found


def _binds(statement: tuple[str, str, str | None], value: Any) -> bool:
    """Whether the import statement binds `value` in this process."""
    _, module, attribute = statement
    found = sys.modules.get(module)
    return (found if attribute is None else getattr(found, attribute, None)) is value


def _namespace_of(cls: type) -> dict[str, Any]:
    for value in vars(cls).values():
        func = getattr(value, "__func__", value)
        if inspect.isfunction(func):
            return func.__globals__
    module = sys.modules.get(cls.__module__)
    if module is None:
        raise Unrecoverable(f"the module of {cls.__qualname__} ({cls.__module__}) is gone")
    return vars(module)


def _codes_of(cls: type) -> list[types.CodeType]:
    """Code objects of the functions defined in the class body."""
    codes = []
    for value in vars(cls).values():
        for candidate in (value, getattr(value, "__func__", None), getattr(value, "fget", None)):
            func = inspect.unwrap(candidate) if callable(candidate) else None
            if inspect.isfunction(func):
                codes.append(func.__code__)
                break
    return codes
