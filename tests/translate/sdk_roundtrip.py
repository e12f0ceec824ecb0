"""Read a plain-dict object into the kserve SDK's typed models and back, refusing unknown fields.

kserve's v1beta1 models are openapi-generator classes (`openapi_types`/`attribute_map`);
the kubernetes client's own models they reference expose `from_dict`. Both are walked here.
"""
from __future__ import annotations

import re
from typing import Any

import kserve.models
import kubernetes.client
from kubernetes.client import ApiClient

_LIST = re.compile(r"^(?:list|List)\[(.+)\]$")
_DICT = re.compile(r"^(?:dict\(str, (.+)\)|Dict\[str, (.+)\])$")
_PRIMITIVES = {"str": str, "int": int, "float": float, "bool": bool, "object": object}


class UnknownField(AssertionError):
    pass


_K8S_ALIAS = re.compile(r"^K8sIoApi[A-Z][a-z]*(V\d+(?:alpha\d+|beta\d+)?)([A-Z]\w+)$")


def _klass(name: str) -> type:
    if m := _K8S_ALIAS.match(name):  # e.g. K8sIoApiAppsV1DeploymentStrategy -> V1DeploymentStrategy
        name = m.group(1) + m.group(2)
    klass = getattr(kserve.models, name, None) or getattr(kubernetes.client, name, None)
    if klass is None:
        raise AssertionError(f"no SDK model named {name}")
    return klass


def to_model(data: Any, type_name: str, where: str = "") -> Any:
    """`data` as an instance of the SDK type `type_name`; raises UnknownField for a field the SDK lacks."""
    if data is None:
        return None
    if m := _LIST.match(type_name):
        return [to_model(v, m.group(1), f"{where}[{i}]") for i, v in enumerate(data)]
    if m := _DICT.match(type_name):
        return {k: to_model(v, m.group(1) or m.group(2), f"{where}.{k}") for k, v in data.items()}
    if type_name in _PRIMITIVES:
        return data
    klass = _klass(type_name)
    json_to_attr = {v: k for k, v in klass.attribute_map.items()}
    unknown = sorted(set(data) - set(json_to_attr))
    if unknown:
        raise UnknownField(f"{where or type_name}: {type_name} has no field(s) {unknown}")
    if hasattr(klass, "from_dict") and klass.__module__.startswith("kubernetes"):
        for key, value in data.items():  # walk nested fields only to detect unknown keys
            to_model(value, klass.openapi_types[json_to_attr[key]], f"{where}.{key}")
        return klass.from_dict(data)
    kwargs = {json_to_attr[k]: to_model(v, klass.openapi_types[json_to_attr[k]], f"{where}.{k}")
              for k, v in data.items()}
    return klass(**kwargs)


def to_data(model: Any) -> Any:
    """JSON data of an SDK model (wire names); unset (None) and SDK-default empty values are left out."""
    if isinstance(model, list):
        return [to_data(v) for v in model]
    if isinstance(model, dict):
        return {k: to_data(v) for k, v in model.items()}
    if hasattr(model, "attribute_map") and not hasattr(model, "from_dict"):
        return {model.attribute_map[a]: to_data(getattr(model, a)) for a in model.openapi_types
                if getattr(model, a) not in (None, "")}
    return ApiClient().sanitize_for_serialization(model)


def round_trip(obj: dict, type_name: str = "V1beta1InferenceService") -> Any:
    """SDK model built from `obj`, serialised back to plain JSON data."""
    return to_data(to_model(obj, type_name))
