"""Where models live and which are loaded: names, numeric versions, an LRU cache.

A model path is a local folder/file relative to the project, or a remote URI
(contract.REMOTE_SCHEMES: s3://, gs://, https://, ...) fetched once with `kserve_storage.Storage.download`
the first time it is loaded. Models load at startup unless a cache (`cache_size`)
is set, then on first use. A folder whose sub-folders are all numbers holds
versions; the highest is "latest". An unversioned model has one version, "1".
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kserve_bridge.contract import ServerSettings, is_remote

from .errors import ModelNotFoundError

log = logging.getLogger("modelserver")


class ModelRepository:
    def __init__(self, settings: ServerSettings, project_dir: Path, loader: Callable[[Path, str | None], Any]):
        self.loader = loader
        self.default_name = settings.api_name if settings.single_model else None
        self.sources: dict[str, tuple[str, str | None]] = {
            m.name: (m.path, m.signature_key or settings.signature_key) for m in settings.models}
        if settings.models_dir:
            root = self.localise(settings.models_dir, project_dir)
            for sub in sorted(p for p in root.iterdir() if p.is_dir()):
                self.sources[sub.name] = (str(sub), settings.signature_key)
        self.project_dir = project_dir
        self.cached = bool(settings.cache_size)
        self.capacity = settings.cache_size or max(1, len(self.sources) * 64)
        self.loaded: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self.local: dict[str, Path] = {}
        self.lock = threading.RLock()

    @staticmethod
    def localise(path: str, project_dir: Path) -> Path:
        if is_remote(path):
            from kserve_storage import Storage
            log.info("downloading %s", path)
            return Path(Storage.download(path))
        return (project_dir / path).resolve()

    def names(self) -> list[str]:
        return list(self.sources)

    def versions(self, name: str) -> dict[str, Path]:
        """Version -> folder, in ascending order ("1" for an unversioned model)."""
        if name not in self.sources:
            raise ModelNotFoundError(f"model {name!r} not found; available: {', '.join(self.sources) or 'none'}")
        with self.lock:
            if name not in self.local:
                self.local[name] = self.localise(self.sources[name][0], self.project_dir)
        root = self.local[name]
        subs = [p for p in root.iterdir() if p.is_dir()] if root.is_dir() else []
        if subs and all(p.name.isascii() and p.name.isdigit() for p in subs):
            return {p.name: p for p in sorted(subs, key=lambda p: int(p.name))}
        return {"1": root}

    def get(self, name: str | None = None, version: str | int = "latest") -> Any:
        """The loaded model `name` at `version`, loading it (and evicting the least recently used) if needed."""
        # Cortex: with models.path (one unnamed model) model_name is ignored
        name = self.default_name or name or (self.names()[0] if len(self.sources) == 1 else None)
        if name is None:
            raise ModelNotFoundError(f"this API serves several models; name one of: {', '.join(self.sources)}")
        versions = self.versions(name)
        version = list(versions)[-1] if str(version) == "latest" else str(version)
        if version not in versions:
            raise ModelNotFoundError(f"model {name!r} has no version {version!r}; versions: {', '.join(versions)}")
        key = (name, version)
        with self.lock:
            if key in self.loaded:
                self.loaded.move_to_end(key)
                return self.loaded[key]
            log.info("loading model %s version %s from %s", name, version, versions[version])
            model = self.loader(versions[version], self.sources[name][1])
            self.loaded[key] = model
            while len(self.loaded) > self.capacity:
                evicted, _ = self.loaded.popitem(last=False)
                log.info("evicted model %s version %s (cache_size %d)", *evicted, self.capacity)
            return model

    def preload(self) -> None:
        """Without a cache, load the latest version of every model now, as Cortex does before an API is
        ready, so that no request (or new replica) pays for it; with `cache_size`, models load on first use."""
        if not self.cached:
            for name in self.sources:
                self.get(name)

    def describe(self) -> dict:
        """Models, their versions and which are loaded (for GET /predict)."""
        out = {}
        for name in self.sources:
            try:
                versions = list(self.versions(name))
            except Exception as exc:  # noqa: BLE001 - reported, not raised
                versions = [f"unavailable: {exc}"]
            out[name] = {"versions": versions, "loaded": [v for n, v in self.loaded if n == name]}
        return out
