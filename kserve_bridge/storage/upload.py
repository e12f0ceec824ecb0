"""Upload a project to `<storage URI>/<deployment id>/` and read back what a deployment ran.

The prefix is content-addressed: the deployment id hashes the project's files and the
API's resolved spec. The manifest, written last after every file, lists each file's size and
sha256. A prefix that already holds a manifest is trusted only once every file in it has been
read back and matches the project: one that differs or is missing is uploaded again (and named),
so a prefix changed in storage is repaired, not deployed. The model server checks the same
sha256s against what the storage initializer downloaded (modelserver/bundle.py).
"""
from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..contract import BUNDLE_MANIFEST as MANIFEST
from ..contract import file_sha256
from ..errors import StorageError
from ..package import project_files
from . import ObjectMissing, Store, join, open_store

PROGRESS_FROM_BYTES = 8 << 20  # smaller bundles upload in a blink: one line, no percentages


@dataclass
class Deployment:
    """What one deployment id was deployed from, as read back from storage."""

    uri: str
    deployment_id: str
    api: str
    predictor_path: str
    spec: dict[str, Any]
    files: dict[str, int]
    predictor_source: str = field(default="", repr=False)


class ProgressPrinter:
    """Prints an upload's size, then every 10% for bundles of 8 MiB or more."""

    def __init__(self, total: int, count: int, uri: str, stream: IO[str]):
        self.total, self.done, self.shown, self.stream = total, 0, 0, stream
        self.lock = threading.Lock()  # boto3 reports multipart chunks from several threads
        self.say(f"uploading {count} file{'s' * (count != 1)} ({_size(total)}) to {uri}")

    def say(self, line: str) -> None:
        print(line, file=self.stream, flush=True)

    def __call__(self, nbytes: int) -> None:
        with self.lock:
            self.done += nbytes
            step = self.done * 10 // self.total if self.total >= PROGRESS_FROM_BYTES else 0
            if step > self.shown:
                self.shown = step
                self.say(f"  {step * 10}% ({_size(self.done)} of {_size(self.total)})")


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n / 1024:.1f} KiB" if n >= 1024 else f"{n} B"


def upload_project(project_dir: str | Path, uri: str, manifest: dict[str, Any],
                   stream: IO[str] | None = None) -> bool:
    """Upload the project's files then the manifest to `uri` (a deployment's prefix), reporting
    to `stream` (default: stderr). Returns False when the prefix already held all of it, verified."""
    stream = stream or sys.stderr
    store = open_store(uri)
    store.check()
    files = list(project_files(project_dir))
    sizes = {name: path.stat().st_size for name, path in files}
    if MANIFEST in sizes:
        raise StorageError(f"the project has a file named {MANIFEST}, a name the upload reserves; rename it")
    hashes = {name: file_sha256(path) for name, path in files}
    body = json.dumps(dict(manifest, files=sizes, sha256=hashes), sort_keys=True, indent=1).encode()
    if store.exists(MANIFEST):
        return _repair(store, files, hashes, body, manifest["deployment_id"], stream)
    progress = ProgressPrinter(sum(sizes.values()), len(files), uri, stream)
    for name, path in files:
        store.put_file(name, str(path), progress)
    store.put_bytes(MANIFEST, body)
    return True


def _repair(store: Store, files: list[tuple[str, Path]], hashes: dict[str, str], body: bytes, deployment: str,
            stream: IO[str]) -> bool:
    """Read back every file of a complete prefix; upload again each one that differs from the project (or
    is gone), then the manifest when it differs. True when anything was written."""
    changed = [(name, path) for name, path in files if store.sha256(name) != hashes[name]]
    for name, path in changed:
        print(f"{join(store.uri, name)} does not match the project's {name} (sha256 differs, or it is gone): "
              "uploading it again", file=stream)
        store.put_file(name, str(path))
    if changed or store.get_bytes(MANIFEST) != body:
        if not changed:
            print(f"{store.uri}: every file matches; writing its manifest again (it differed)", file=stream)
        store.put_bytes(MANIFEST, body)
        return True
    print(f"{store.uri} already holds deployment {deployment} ({len(files)} files verified by sha256): "
          "nothing to upload", file=stream)
    return False


def read_deployment(uri: str) -> Deployment:
    """The manifest and predictor source stored at a deployment's prefix."""
    store = open_store(uri)
    try:
        data = json.loads(store.get_bytes(MANIFEST))
        deployment = Deployment(uri=uri, deployment_id=data["deployment_id"], api=data["api"],
                                predictor_path=data["predictor_path"], spec=data["spec"],
                                files=data.get("files", {}))
    except ObjectMissing as exc:
        raise StorageError(f"no kserve-bridge deployment at {uri} ({exc}); was it deployed with --no-upload?") \
            from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise StorageError(f"{join(uri, MANIFEST)} is not a kserve-bridge manifest: {exc!r}") from exc
    deployment.predictor_source = store.get_bytes(deployment.predictor_path).decode("utf-8", "replace")
    return deployment
