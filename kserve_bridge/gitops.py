"""`convert -o DIR --kustomize`: one file per object plus a kustomization.yaml, for Argo CD or Flux.

`kubectl kustomize DIR` builds exactly the objects `convert` prints, in the same order
(`sortOptions: fifo`). `resources` and `sortOptions` are convert's; every other key of an existing
kustomization.yaml (patches, labels, ...) is kept, so a canary patch made in Git survives the next
convert. Files of objects convert no longer produces are left in place, named on stderr.
"""
from __future__ import annotations

import sys
from pathlib import Path

import yaml

from .errors import BridgeError
from .manifest import file_name, render

KUSTOMIZATION = "kustomization.yaml"
_HEAD = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}


def write_kustomize(objects: list[dict], out: Path) -> list[Path]:
    """Write each object and kustomization.yaml under `out`; returns the files written."""
    path = out / KUSTOMIZATION
    existing = _read(path)
    files = [file_name(obj) for obj in objects]
    out.mkdir(parents=True, exist_ok=True)
    for obj, name in zip(objects, files, strict=True):
        (out / name).write_text(render([obj]))
    kept = {k: v for k, v in existing.items() if k not in ("resources", "sortOptions", *_HEAD)}
    path.write_text(render([{**_HEAD, "resources": files, "sortOptions": {"order": "fifo"}, **kept}])[4:])
    for stale in [r for r in existing.get("resources") or [] if isinstance(r, str) and r not in files]:
        sys.stderr.write(f"note: {out / stale} is no longer produced and left out of {KUSTOMIZATION}; "
                         "delete it from the repository\n")
    return [*(out / name for name in files), path]


def _read(path: Path) -> dict:
    """The current kustomization.yaml ({} when there is none); refuses one it cannot merge into."""
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BridgeError(f"cannot read {path}: {exc}; fix or remove it (nothing was written)") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or data.get("kind", "Kustomization") != "Kustomization":
        raise BridgeError(f"{path} is not a Kustomization; fix or remove it (nothing was written)")
    return data
