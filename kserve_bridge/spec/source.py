"""Read spec YAML safely and remember the line of every node.

ruamel's round-trip loader keeps positions; we convert its tree to plain
Python while recording `path -> line`, bounding size and alias expansion so
that hostile input (anchor bombs, deep nesting, huge ints) yields a Problem.
Aliases are counted as if expanded (values and text), because everything
downstream (validation, the settings JSON in the pod's env) expands them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from ..errors import Problem, SpecError

MAX_BYTES = 2 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 64
MAX_EXPANDED_CHARS = 4 * MAX_BYTES  # characters of text after expanding aliases
Loc = tuple[Any, ...]
_TOO_BIG = (f"spec is too large or too deeply nested (more than {MAX_NODES} values or {MAX_EXPANDED_CHARS // 2**20} "
            f"MiB of text after expanding aliases, or nested deeper than {MAX_DEPTH} levels, or cyclic)")
_TOO_MUCH_TEXT = (f"spec holds more than {MAX_EXPANDED_CHARS // 2**20} MiB of text once its aliases (*name) are "
                  "expanded; refer to a large value fewer times, or ship it as a file in the project")


class _TooBig(Exception):
    """Raised with the path of the node where a limit was crossed, and which limit."""

    def __init__(self, loc: Loc = (), why: str = _TOO_BIG):
        super().__init__(why)
        self.loc, self.why = loc, why


class _Budget:
    """What is left of the node and expanded-text allowances."""

    def __init__(self) -> None:
        self.nodes, self.chars = MAX_NODES, MAX_EXPANDED_CHARS

    def spend(self, node: Any, loc: Loc, depth: int) -> None:
        self.nodes -= 1
        if self.nodes < 0 or depth > MAX_DEPTH:
            raise _TooBig(loc)
        if isinstance(node, str):
            self.spend_key(node, loc)

    def spend_key(self, key: Any, loc: Loc) -> None:
        if isinstance(key, str):
            self.chars -= len(key)
            if self.chars < 0:
                raise _TooBig(loc, _TOO_MUCH_TEXT)


class SourceMap:
    """Line numbers (1-based) of the nodes of one document, keyed by path."""

    def __init__(self, file: str):
        self.file = file
        self.lines: dict[Loc, int] = {}

    def line(self, loc: Loc) -> int | None:
        """Line of `loc`, or of its nearest ancestor that exists in the file."""
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return None


def _plain(node: Any, loc: Loc, smap: SourceMap, budget: _Budget, depth: int) -> Any:
    """Copy a ruamel node to plain dict/list/scalars, recording lines as we go."""
    budget.spend(node, loc, depth)
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                key = str(key)
            budget.spend_key(key, loc)
            try:
                smap.lines[loc + (key,)] = cast(Any, node).lc.key(key)[0] + 1  # ruamel's CommentedMap
            except (AttributeError, KeyError, TypeError):
                smap.lines.setdefault(loc + (key,), smap.line(loc) or 0)
            out[key] = _plain(value, loc + (key,), smap, budget, depth + 1)
        return out
    if isinstance(node, list):
        out_list = []
        for i, value in enumerate(node):
            try:
                smap.lines[loc + (i,)] = cast(Any, node).lc.item(i)[0] + 1
            except (AttributeError, KeyError, TypeError, IndexError):
                smap.lines.setdefault(loc + (i,), smap.line(loc) or 0)
            out_list.append(_plain(value, loc + (i,), smap, budget, depth + 1))
        return out_list
    if isinstance(node, str):
        return str(node)
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return str(node)  # timestamps, binary and other YAML types: kept as text, validated as strings


def _constructor() -> type:
    """ruamel's round-trip constructor, keeping integers too long for `int()` as text."""
    from ruamel.yaml.constructor import RoundTripConstructor

    class Constructor(RoundTripConstructor):
        def construct_yaml_int(self, node: Any) -> Any:
            try:
                return super().construct_yaml_int(node)
            except ValueError:  # more than sys.get_int_max_str_digits() digits
                return str(node.value)

    Constructor.add_constructor("tag:yaml.org,2002:int", Constructor.construct_yaml_int)
    return Constructor


def parse_yaml(text: str, file: str) -> tuple[Any, SourceMap]:
    """Parse one YAML document; raise a list of Problems when it cannot be read."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    smap = SourceMap(file)
    if not text.strip():
        raise SpecError([Problem("", "the spec file is empty; it should list APIs", file)])
    yaml = YAML(typ="rt", pure=True)
    yaml.Constructor = _constructor()
    yaml.allow_duplicate_keys = False
    try:
        tree = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        message = " ".join(str(p) for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise SpecError([Problem("", f"invalid YAML: {message.strip()}", file, line)]) from None
    except RecursionError:
        raise SpecError([Problem("", "invalid YAML: nested too deeply", file)]) from None
    except (YAMLError, ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
        raise SpecError([Problem("", f"invalid YAML: {type(exc).__name__}: {str(exc)[:200]}", file)]) from None
    try:
        data = _plain(tree, (), smap, _Budget(), 0)
    except _TooBig as exc:
        raise SpecError([Problem(_path(exc.loc), exc.why, file, smap.line(exc.loc))]) from None
    except RecursionError:
        raise SpecError([Problem("", _TOO_BIG, file)]) from None
    return data, smap


def _path(loc: Loc) -> str:
    """`[0].predictor.config` for a location, shortened for very deep ones."""
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[:8]).lstrip(".")
    return text[:200] + ("..." if len(loc) > 8 or len(text) > 200 else "")


def check_bounds(data: Any, file: str) -> None:
    """Hold plain data (the Python API) to the size and depth limits of files; this also stops cycles."""
    budget = _Budget()

    def walk(node: Any, depth: int) -> None:
        budget.spend(node, (), depth)
        if isinstance(node, dict):
            for key in node:
                budget.spend_key(key, ())
        children = node.values() if isinstance(node, dict) else node if isinstance(node, (list, tuple)) else ()
        for child in children:
            walk(child, depth + 1)

    try:
        walk(data, 0)
    except _TooBig as exc:
        raise SpecError([Problem("", exc.why, file)]) from None
    except RecursionError:
        raise SpecError([Problem("", _TOO_BIG, file)]) from None


def read_spec_file(path: Path) -> tuple[Any, SourceMap]:
    """Read a spec file from disk with a size cap and a text check."""
    file = str(path)
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
    except (OSError, ValueError) as exc:
        raise SpecError([Problem("", f"cannot read spec: {getattr(exc, 'strerror', None) or exc}", file)]) from None
    if len(raw) > MAX_BYTES:
        raise SpecError([Problem("", f"spec file is larger than {MAX_BYTES // 1024} KiB", file)])
    if b"\x00" in raw:
        raise SpecError([Problem("", "spec file is binary, not YAML text", file)])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError([Problem("", f"spec file is not UTF-8 text (byte {exc.start})", file)]) from None
    return parse_yaml(text, file)

