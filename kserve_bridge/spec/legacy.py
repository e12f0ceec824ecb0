"""Older spellings the loader still accepts (Cortex v0.19-v0.25 and early kserve-bridge).

This one table drives the models (aliases and rewrites before validation), the JSON schema
(schema.py) and the notes `validate` prints naming the modern spelling.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import AliasChoices


@dataclass(frozen=True)
class Renamed:
    """A key spelt `old` in spec model `model` that is now `modern` (a dotted path from that model)."""

    model: str
    old: str
    modern: str
    era: str


@dataclass(frozen=True)
class Reshaped:
    """A value of `model.field` written in an older form; `convert` gives the modern value."""

    model: str
    field: str
    convert: Callable[[Any], Any]
    modern: str  # how the note names the modern form ("": the converted value)
    era: str  # what the older form is, for the note
    json_schema: dict  # the older form, accepted by the JSON schema besides the modern one


DEPLOYMENT_MODES = {"serverless": "Serverless", "knative": "Serverless", "raw": "RawDeployment",
                    "rawdeployment": "RawDeployment", "standard": "RawDeployment"}

RENAMED = (
    Renamed("Predictor", "multi_model_reloading", "models", "Cortex v0.25"),
    Renamed("Predictor", "model_path", "models.path", "Cortex <= v0.24"),
    Renamed("Predictor", "signature_key", "models.signature_key", "Cortex <= v0.24"),
    Renamed("ModelPath", "model_path", "path", "Cortex <= v0.24"),
    Renamed("KServeOptions", "timeout", "request_timeout", "older"),
)
RESHAPED = (
    Reshaped("Predictor", "models", lambda v: {"paths": v} if isinstance(v, list) else v, "models.paths",
             "a list here is the Cortex <= v0.24 form",
             {"type": "array", "items": {"$ref": "#/$defs/ModelPath"}, "minItems": 1}),
    Reshaped("KServeOptions", "deployment_mode",
             lambda v: DEPLOYMENT_MODES.get(v.lower(), v) if isinstance(v, str) else v, "",
             "an alias", {"enum": sorted({s for alias in DEPLOYMENT_MODES for s in (alias, alias.capitalize())})}),
)
# Where each spec model sits in one API's data ("*": every item of a list).
WHERE = {
    "Predictor": (("predictor",),),
    "KServeOptions": (("kserve",),),
    "ModelPath": tuple(("predictor", key, *items) for key in ("models", "multi_model_reloading")
                       for items in (("paths", "*"), ("*",))),
}


def old_keys(model: str) -> tuple[str, ...]:
    """Older keys accepted on `model` (for did-you-mean hints)."""
    return tuple(r.old for r in RENAMED if r.model == model)


def aliases(model: str, field: str) -> AliasChoices:
    """`field` and its older same-level spellings: validation reports the spelling the user wrote."""
    return AliasChoices(field, *(r.old for r in RENAMED if r.model == model and r.modern == field))


def modernise(model: str, data: Any) -> Any:
    """`data` for spec model `model` with older forms rewritten (run before validation). Same-level
    renames are the fields' aliases; here they only must not meet their modern spelling."""
    if not isinstance(data, dict):
        return data
    data = dict(data)
    renamed = [r for r in RENAMED if r.model == model and r.old in data]
    for r in renamed:
        if "." not in r.modern and r.modern in data:
            raise ValueError(f"set {r.modern} only ({r.old} is its {r.era} spelling)")
    for shape in (s for s in RESHAPED if s.model == model):
        for key in (shape.field, *(r.old for r in renamed if r.modern == shape.field)):
            if key in data:
                data[key] = shape.convert(data[key])
    for r in (r for r in renamed if "." in r.modern):
        _move_into(data, r)
    return data


def _move_into(data: dict, r: Renamed) -> None:
    parent, leaf = r.modern.split(".")
    key = next((k for k in (parent, *(o.old for o in RENAMED if o.model == r.model and o.modern == parent))
                if k in data), parent)
    child = data.get(key)
    value = data.pop(r.old)
    if child is not None and not isinstance(child, dict):
        return  # the parent's own error is reported
    child = dict(child or {})
    if leaf in child:
        raise ValueError(f"set {r.modern} only ({r.old} is its {r.era} spelling)")
    child[leaf] = value
    data[key] = child


def spellings(item: Mapping) -> Iterator[tuple[tuple, str]]:
    """(location, message) of every older spelling in one API's data."""
    for model, patterns in WHERE.items():
        for pattern in patterns:
            for loc, node in _find(item, (), pattern):
                for r in RENAMED:
                    if r.model == model and r.old in node:
                        yield loc + (r.old,), f"{r.old} is the {r.era} spelling; use {r.modern}"
                for s in RESHAPED:
                    keys = (s.field, *(r.old for r in RENAMED if r.model == model and r.modern == s.field))
                    for key in (k for k in keys if s.model == model and k in node):
                        value = node[key]
                        modern = s.convert(value)
                        if modern != value:
                            what = f"{value!r} is {s.era}" if isinstance(value, str) else s.era
                            yield loc + (key,), f"{what}; use {s.modern or modern}"


def _find(node: Any, loc: tuple, pattern: tuple) -> Iterator[tuple[tuple, Mapping]]:
    if not pattern:
        if isinstance(node, Mapping):
            yield loc, node
        return
    head, rest = pattern[0], pattern[1:]
    if head == "*" and isinstance(node, list):
        for i, item in enumerate(node):
            yield from _find(item, loc + (i,), rest)
    elif head != "*" and isinstance(node, Mapping) and head in node:
        yield from _find(node[head], loc + (head,), rest)


def add_to_schema(defs: dict[str, Any]) -> None:
    """The older forms in the JSON schema (the loader accepts them; so must the schema)."""
    for s in RESHAPED:
        prop = defs[s.model]["properties"][s.field]
        if "anyOf" not in prop:
            core = {k: prop.pop(k) for k in list(prop) if k not in ("default", "description", "title")}
            prop["anyOf"] = [core]
        prop["anyOf"].insert(1, s.json_schema)
    for r in RENAMED:
        model = defs[r.model]
        modern = {k: v for k, v in _property(defs, r.model, r.modern).items() if k not in ("default", "title")}
        model["properties"][r.old] = {**modern, "description": f"{r.era} spelling of {r.modern}"}
        if "." in r.modern:
            continue
        if r.modern in model.get("required", []):
            model["required"].remove(r.modern)
            model.setdefault("allOf", []).append({"oneOf": [{"required": [r.modern]}, {"required": [r.old]}]})
        else:
            model.setdefault("allOf", []).append({"not": {"required": [r.old, r.modern]}})


def _property(defs: dict, model: str, dotted: str) -> dict:
    schema = defs[model]
    *parents, leaf = dotted.split(".")
    for part in parents:
        prop = schema["properties"][part]
        ref = next(s["$ref"] for s in [prop, *prop.get("anyOf", ())] if "$ref" in s)
        schema = defs[ref.rsplit("/", 1)[-1]]
    return schema["properties"][leaf]
