"""Deterministic project bundles and the content-derived deployment id.

The bundle is a tar.gz of the project directory with sorted entries, zeroed
times and owners and normalised modes, so the same files always give the same
bytes; its sha256 prefix names it and feeds every API's deployment id.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import BridgeError

EXCLUDED_DIRS = {".git", "__pycache__", ".venv", "venv", ".pytest_cache", ".hypothesis", "expected",
                 ".ipynb_checkpoints"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo")
SECRET_FILES = {".env"}  # never bundled: the root one reaches the pod as a Kubernetes Secret (translator/secrets.py)
DIGEST_CHARS = 12


def project_files(project_dir: str | Path) -> Iterator[tuple[str, Path]]:
    """(archive name, path) of every file to ship, sorted; refuses links leaving the project."""
    root = Path(project_dir).resolve()
    if not root.is_dir():
        raise BridgeError(f"project directory not found: {project_dir}")
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in EXCLUDED_DIRS)
        for name in sorted(filenames):  # sorted: the same link is reported whatever the file system's order
            path = Path(dirpath) / name
            if name.endswith(EXCLUDED_SUFFIXES) or name in SECRET_FILES:
                continue
            try:
                real = path.resolve()
            except (RuntimeError, OSError) as exc:  # RuntimeError: "Symlink loop" (Python < 3.13)
                raise BridgeError(f"{path.relative_to(root)} is a symbolic link that cannot be followed "
                                  f"({_reason(exc)}); remove it or point it at a file in the project") from None
            if real != root and root not in real.parents:
                raise BridgeError(f"{path.relative_to(root)} is a link that leaves the project directory")
            if real.is_file():
                found.append((path.relative_to(root).as_posix(), real))
    return iter(sorted(found))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == 40:  # ELOOP
        return "it loops back on itself"
    return getattr(exc, "strerror", None) or str(exc)


def left_out_secrets(project_dir: str | Path) -> list[str]:
    """Project-relative names of the secret files (`.env`) that bundles leave out."""
    root = Path(project_dir).resolve()
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = [d for d in dirnames if d not in EXCLUDED_DIRS]
        found += [(Path(dirpath) / n).relative_to(root).as_posix() for n in filenames if n in SECRET_FILES]
    return sorted(found)


def project_digest(project_dir: str | Path) -> str:
    """sha256 over every shipped file's name, executable bit and content."""
    digest = hashlib.sha256()
    for name, path in project_files(project_dir):
        digest.update(f"{name}\0{int(os.access(path, os.X_OK))}\0{path.stat().st_size}\0".encode())
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def deployment_id(resolved_api: dict[str, Any], project_digest_hex: str | None) -> str:
    """Short content hash of the project and one API's resolved spec."""
    payload = json.dumps(resolved_api, sort_keys=True, separators=(",", ":")) + "\0" + (project_digest_hex or "")
    return hashlib.sha256(payload.encode()).hexdigest()[:DIGEST_CHARS]


def package_project(project_dir: str | Path, out_dir: str | Path) -> Path:
    """Write `<project>-<digest>.tar.gz` under out_dir and return its path (same files -> same bytes)."""
    root = Path(project_dir).resolve()
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=6, filename="") as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name, path in project_files(root):
                info = tarfile.TarInfo(name)
                info.size = path.stat().st_size
                info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
                info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                with path.open("rb") as f:
                    tar.addfile(info, f)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{root.name}-{project_digest(root)[:DIGEST_CHARS]}.tar.gz"
    target.write_bytes(buffer.getvalue())
    return target
