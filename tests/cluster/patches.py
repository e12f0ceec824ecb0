"""The request semantics of the fake API server: JSON merge patch, JSON patch,
apply's leaf-field ownership, and list selectors."""
from __future__ import annotations

import copy
from typing import Any


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(doc: Any, ops: list[dict]) -> Any:
    """RFC 6902 JSON patch (add, remove, replace, test)."""
    doc = copy.deepcopy(doc)
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        parent = doc
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        last = parts[-1]
        if op["op"] == "test":
            actual = parent[int(last)] if isinstance(parent, list) else parent.get(last)
            if actual != op["value"]:
                raise ApiError(422, "Invalid", f"test failed at {op['path']}")
        elif op["op"] in ("add", "replace"):
            if isinstance(parent, list):
                parent.insert(len(parent) if last == "-" else int(last), op["value"]) if op["op"] == "add" \
                    else parent.__setitem__(int(last), op["value"])
            else:
                parent[last] = op["value"]
        elif op["op"] == "remove":
            del parent[int(last) if isinstance(parent, list) else last]
        else:
            raise ApiError(422, "Invalid", f"unsupported op {op['op']}")
    return doc


def leaves(obj: Any, prefix: tuple = ()) -> set[tuple]:
    """Leaf paths of a dict tree (lists are atomic), as server-side apply tracks ownership."""
    if isinstance(obj, dict) and obj:
        return set().union(*(leaves(v, prefix + (k,)) for k, v in obj.items()))
    return {prefix}


def drop_path(obj: dict, path: tuple) -> None:
    for part in path[:-1]:
        obj = obj.get(part)
        if not isinstance(obj, dict):
            return
    obj.pop(path[-1], None)


def selected(obj: dict, query: dict) -> bool:
    """fieldSelector metadata.name=X and labelSelector k=v[,k=v] (equality) or k (the label exists)."""
    meta = obj.get("metadata") or {}
    for term in filter(None, (query.get("fieldSelector") or "").split(",")):
        field, _, value = term.partition("=")
        if field == "metadata.name" and meta.get("name") != value.lstrip("="):
            return False
    labels = meta.get("labels") or {}
    for term in filter(None, (query.get("labelSelector") or "").split(",")):
        label, equals, value = term.partition("=")
        if (labels.get(label) != value.lstrip("=")) if equals else label not in labels:
            return False
    return True
