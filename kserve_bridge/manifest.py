"""Objects -> deterministic multi-document YAML for `kubectl apply -f`."""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from yaml import SafeDumper as _SafeDumper
else:  # libyaml when present: same text, ~6x faster
    _SafeDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_SafeDumper):
    """Safe dumper that never emits anchors/aliases (kubectl-friendly)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render(objects: Iterable[dict[str, Any]]) -> str:
    """Multi-document YAML; the same objects always give byte-identical text."""
    return "".join("---\n" + yaml.dump(obj, Dumper=_Dumper, sort_keys=True, default_flow_style=False,
                                       allow_unicode=True, width=120) for obj in objects)


def file_name(obj: dict[str, Any]) -> str:
    """`<kind>-<name>.yaml`, the file convert -o writes for one object."""
    return f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"
