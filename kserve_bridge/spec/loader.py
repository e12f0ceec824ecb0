"""`load_spec`: parse -> validate fields -> check cross-field rules -> Spec.

Every problem of every API is collected and raised as one `SpecError`.
"""
from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel, ValidationError

from ..errors import Problem, SpecError
from ..registry import resolve_paths
from .legacy import spellings
from .models import API_MODELS, UNSUPPORTED_FIELDS, UNSUPPORTED_KINDS, RealtimeAPI, TrafficSplitter
from .predictor_check import check_predictor_file
from .rules import check_name, check_realtime, check_splitter
from .source import SourceMap, check_bounds, read_spec_file

SPEC_FILENAMES = ("cortex.yaml", "cortex.yml")
log = logging.getLogger("kserve_bridge.spec")
API = RealtimeAPI | TrafficSplitter


@dataclass
class Spec:
    """A validated spec: its APIs with every default filled in."""

    apis: list[API]
    source: Path | None = None
    project_dir: Path | None = None
    notes: list[Problem] = field(default_factory=list)  # warnings and notes: the spec is still valid
    by_name: dict[str, API] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.by_name = {api.name: api for api in self.apis}

    @property
    def realtime(self) -> list[RealtimeAPI]:
        return [a for a in self.apis if isinstance(a, RealtimeAPI)]

    def get(self, name: str) -> API:
        if name not in self.by_name:
            raise KeyError(f"no API named {name!r}; the spec has: {', '.join(self.by_name)}")
        return self.by_name[name]

    def resolved(self) -> list[dict[str, Any]]:
        """Plain data of every API, with defaults filled (what `validate --show-resolved` prints)."""
        return [resolve_api(api) for api in self.apis]


def resolve_api(api: API) -> dict[str, Any]:
    data = api.model_dump(mode="json")
    data["networking"]["endpoint"] = api.endpoint
    if isinstance(api, RealtimeAPI):
        if api.registered_models:  # the registry version a models:/ path named (part of the deployment id)
            data["registered_models"] = [m.as_dict() for m in api.registered_models]
        data["autoscaling"]["init_replicas"] = api.initial_replicas
        data["autoscaling"]["target_replica_concurrency"] = api.target_concurrency
    return data


def find_spec_file(path: Path) -> Path:
    """The spec file itself, or the cortex.yaml inside a project directory."""
    try:
        is_dir = path.is_dir()
    except (OSError, ValueError) as exc:
        raise SpecError([Problem("", f"cannot read spec: {getattr(exc, 'strerror', None) or exc}", str(path))]) \
            from None
    if is_dir:
        for name in SPEC_FILENAMES:
            if (path / name).is_file():
                return path / name
        raise SpecError([Problem("", f"no {' or '.join(SPEC_FILENAMES)} in this directory", str(path))])
    return path


def load_spec(source: str | Path | Mapping[str, Any] | list, project_dir: str | Path | None = None) -> Spec:
    """Load and validate a spec from a file, a project directory, or plain data.

    Raises `SpecError` listing every problem. With plain data, file checks run
    only when `project_dir` is given.
    """
    file: Path | None
    project: Path | None
    if isinstance(source, (str, Path)):
        file = find_spec_file(Path(source))
        data, smap = read_spec_file(file)
        project = Path(project_dir) if project_dir is not None else file.parent
    else:
        data, smap, file = source, SourceMap("<spec>"), None
        check_bounds(data, smap.file)
        project = Path(project_dir) if project_dir is not None else None
    notes: list[Problem] = []
    apis = validate_document(data, smap, project, notes)
    for note in notes:  # stderr in the CLI (logging's last resort), the notebook's log in the Python client
        log.warning("%s", note.format())
    return Spec(apis=apis, source=file, project_dir=project, notes=notes)


def validate_document(data: Any, smap: SourceMap, project: Path | None,
                      notes: list[Problem] | None = None) -> list[API]:
    """The validated APIs; raises SpecError with every problem. Warnings and notes go to `notes`."""
    problems: list[Problem] = []
    if isinstance(data, Mapping):
        items, prefix = [data], None
    elif isinstance(data, list):
        items, prefix = data, ()
    else:
        raise SpecError([Problem("", "a spec is a YAML list of APIs (or one API mapping)", smap.file,
                                 smap.line(()), data)])
    if not items:
        raise SpecError([Problem("", "the spec lists no APIs", smap.file, smap.line(()))])
    apis: list[tuple[int, API]] = []
    partial: list[tuple[int, API, frozenset[str]]] = []
    for i, item in enumerate(items):
        base = (i,) if prefix is not None else ()
        label = _label(i, item)
        report = _reporter(problems, smap, base, label)
        api, broken = _validate_item(item, report)
        if api is not None and not broken:
            apis.append((i, api))
        elif api is not None:
            partial.append((i, api, broken))
    realtime = {item["name"] for item in items if isinstance(item, Mapping) and item.get("kind") == "RealtimeAPI"
                and isinstance(item.get("name"), str)}
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        name = item.get("name") if isinstance(item, Mapping) else None
        if isinstance(name, str) and name in seen:
            _reporter(problems, smap, (i,) if prefix is not None else (), _label(i, item))(
                ("name",), f"duplicate API name (also apis[{seen[name]}])", name)
        elif isinstance(name, str):
            seen[name] = i
    for i, api, broken in [(i, api, frozenset()) for i, api in apis] + partial:
        report = _reporter(problems, smap, (i,) if prefix is not None else (), _label(i, items[i]))
        if isinstance(api, RealtimeAPI):
            check_realtime(api, project, report, broken)
            if not broken:
                resolve_paths(api, report)  # models:/ paths: MLflow's registry, only when the spec has one
            if project is not None and "predictor" not in broken:
                base = (i,) if prefix is not None else ()
                def line_of(loc: tuple, base: tuple = base) -> int | None:
                    return smap.line(base + loc)
                for found in check_predictor_file(api, project, smap.file, line_of, _label(i, items[i])):
                    (problems if found.level == "error" else notes if notes is not None else []).append(found)
        else:
            check_splitter(api, realtime, report, broken)
    if problems:
        raise SpecError(problems)
    return [api for _, api in apis]


def _label(i: int, item: Any) -> str:
    name = item.get("name") if isinstance(item, Mapping) else None
    return f"apis[{i}]" + (f"({name})" if isinstance(name, str) and 0 < len(name) <= 80 and name.isprintable() else "")


def _reporter(problems: list[Problem], smap: SourceMap, base: tuple, label: str):
    def report(loc: tuple, message: str, *value: Any) -> None:
        path = label + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)
        problems.append(Problem(path, message, smap.file, smap.line(base + tuple(loc)), *value[:1]))
    return report


def _validate_item(item: Any, report) -> tuple[API | None, frozenset[str]]:
    """The validated API and no broken sections; or, after reporting field errors, a partial API
    built from the sections that did validate plus the names of those that did not."""
    if not isinstance(item, Mapping):
        report((), "each API must be a mapping with name and kind", item)
        return None, frozenset()
    kind = item.get("kind")
    if isinstance(kind, str) and kind in UNSUPPORTED_KINDS:
        report(("kind",), f"{kind} is not supported on KServe, because {UNSUPPORTED_KINDS[kind]}", kind)
        return None, frozenset()
    model = API_MODELS.get(kind) if isinstance(kind, str) else None
    if model is None and "name" in item:
        check_name(item["name"], report)
    if model is None:
        hint = _did_you_mean(kind, list(API_MODELS) + list(UNSUPPORTED_KINDS))
        report(("kind",), ("kind is required" if kind is None else "unknown kind") + hint
               + f"; supported: {', '.join(API_MODELS)}", *(() if kind is None else (kind,)))
        return None, frozenset()
    try:
        return cast(RealtimeAPI | TrafficSplitter, model.model_validate(dict(item))), frozenset()  # API_MODELS' kinds
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        for err in errors:
            _report_pydantic(err, model, report)
    except (RecursionError, ValueError, TypeError) as exc:  # pathological input pydantic cannot walk
        report((), f"cannot validate this API: {type(exc).__name__}")
        return None, frozenset()
    broken = frozenset(str(e["loc"][0]) if e["loc"] else "" for e in errors)
    return _partial(model, item, broken)


def _partial(model: type[BaseModel], item: Mapping, broken: frozenset[str]) -> tuple[Any, frozenset[str]]:
    """An instance holding only the sections that validated (the rest at their defaults), for the
    cross-field rules, and the full set of sections left out."""
    if "" in broken:
        return None, broken
    api = model.model_construct()
    for name in model.model_fields:
        if name in item and name not in broken:
            try:
                model.__pydantic_validator__.validate_assignment(api, name, item[name])
            except (ValidationError, ValueError, TypeError, RecursionError):
                broken |= {name}
    return api, broken


def _report_pydantic(err: Mapping[str, Any], model: type[BaseModel], report) -> None:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(("function-", "json-or-python"))))
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden" and tuple(loc[-2:]) in UNSUPPORTED_FIELDS:
        report(loc, UNSUPPORTED_FIELDS[tuple(loc[-2:])])
    elif err["type"] == "extra_forbidden":
        known = _fields_at(model, loc[:-1])
        hint = _did_you_mean(loc[-1], known)
        message = "unknown field" + hint
        if known and not hint:
            message += f"; allowed: {', '.join(sorted(known))}"
        report(loc, message)
    elif loc and loc[-1] == "[key]":
        report(loc[:-1], "keys must be strings", loc[-2] if len(loc) > 1 else None)
    elif err["type"] == "missing":
        report(loc, "is required")
    else:
        if err["type"] == "literal_error":
            allowed = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected")))
            message += _did_you_mean(err.get("input"), allowed)
        report(loc, message[:1].lower() + message[1:], err.get("input"))


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """Names of the fields of the sub-model found at `loc` (for did-you-mean hints)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        info = getattr(current, "model_fields", {}).get(part)
        if info is None:
            return []
        current = _model_in(info.annotation)
    return list(getattr(current, "model_fields", {})) + list(getattr(current, "legacy_keys", ()))


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _did_you_mean(word: Any, options: list[str]) -> str:
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6) or \
        difflib.get_close_matches(word.lower(), [o.lower() for o in options], n=1, cutoff=0.6)
    if close:
        match = next((o for o in options if o.lower() == close[0].lower()), close[0])
        return f" (did you mean {match!r}?)"
    return ""


def spelling_notes(path: str | Path) -> list[Problem]:
    """Every older spelling in a spec file, at its line, naming the modern spelling (legacy.py).
    Notes, not problems: the spec stays valid."""
    data, smap = read_spec_file(find_spec_file(Path(path)))
    notes: list[Problem] = []
    items, listed = (data, True) if isinstance(data, list) else ([data], False)
    for i, item in enumerate(items):
        if isinstance(item, Mapping):
            report = _reporter(notes, smap, (i,) if listed else (), _label(i, item))
            for loc, message in spellings(item):
                report(loc, message)
    return notes
