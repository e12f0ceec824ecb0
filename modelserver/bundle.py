"""Check the project the storage initializer downloaded against its upload manifest, before loading it.

`kserve-bridge deploy` writes kserve-bridge.json last into the deployment's prefix, with every
file's sha256; KServe's storage initializer downloads the whole prefix into the model dir. A
listed file that is missing or differs, or a file the manifest does not list (Python's caches
aside), means the prefix changed after the upload: the server stops before importing anything
from it, naming the files. An empty file may be missing: KServe's S3 download skips empty objects
(kserve_storage 0.21, `_download_s3`). A model dir without a manifest (`--no-upload`, a local
project) or with one written before sha256s were recorded is not checked.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from kserve_bridge.contract import BUNDLE_MANIFEST, file_sha256

EMPTY = hashlib.sha256(b"").hexdigest()


def _present(model_dir: Path) -> set[str]:
    found = set()
    for dirpath, dirnames, filenames in os.walk(model_dir):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        found |= {(Path(dirpath) / n).relative_to(model_dir).as_posix() for n in filenames
                  if not n.endswith((".pyc", ".pyo"))}
    return found - {BUNDLE_MANIFEST}


def bundle_problem(model_dir: Path) -> str | None:
    """What in `model_dir` does not match its manifest, or None (no manifest, no sha256s: nothing to check)."""
    manifest = model_dir / BUNDLE_MANIFEST
    if not manifest.is_file():
        return None
    try:
        expected = json.loads(manifest.read_bytes()).get("sha256")
    except (OSError, ValueError, AttributeError) as exc:
        return f"{BUNDLE_MANIFEST} in {model_dir} cannot be read ({exc}): the bundle cannot be verified"
    if not isinstance(expected, dict):
        return None
    present = _present(model_dir)
    wrong = [f"{name} (missing)" if name not in present else f"{name} (sha256 differs)"
             for name, digest in sorted(expected.items())
             if (name in present and file_sha256(model_dir / name) != digest)
             or (name not in present and digest != EMPTY)]
    wrong += [f"{name} (not in the manifest)" for name in sorted(present - set(expected))]
    if not wrong:
        return None
    return (f"the project in {model_dir} does not match the {BUNDLE_MANIFEST} it was uploaded with: "
            f"{', '.join(wrong)}; the storage prefix was changed after upload: deploy again to restore it")
