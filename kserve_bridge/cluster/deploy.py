"""Deploy a spec: translate it, server-side apply the objects, wait for Ready."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from ..errors import BridgeError, ClusterError, NotFoundError
from .kube import ISVC_GROUP, Kube, Ref
from .status import ApiStatus, logs_hint, summarize


def objects_for(spec_source: Any, project_dir: Path, *, namespace: str, storage_uri: str | None = None,
                image: str | None = None) -> list[dict]:
    """Kubernetes objects for a spec (a path or parsed data) whose files live in `project_dir`;
    the translator derives each API's deployment id from the project's files and the API."""
    from ..spec import load_spec
    try:
        from ..translator import translate
    except ImportError as exc:  # a partial install: say so instead of a traceback
        raise BridgeError(f"this install cannot translate specs ({exc}); reinstall kserve-bridge") from exc

    spec = load_spec(spec_source, project_dir=project_dir)
    return translate(spec, namespace=namespace, image=image, storage_uri=storage_uri)


def apply_all(kube: Kube, objects: list[dict]) -> list[tuple[dict, str]]:
    """Server-side apply every object, InferenceServices first (graphs route to them).
    Returns each object as stored with what happened: created, configured or unchanged."""
    ordered = sorted(objects, key=lambda o: (o.get("kind") != "InferenceService", o.get("kind", "")))
    results = []
    for obj in ordered:
        try:
            before = kube.get(Ref.of(obj, kube.namespace))["metadata"].get("resourceVersion")
        except NotFoundError:
            before = None
        stored = kube.apply(obj)
        after = stored["metadata"].get("resourceVersion")
        results.append((stored, "created" if before is None else "unchanged" if before == after else "configured"))
    return results


def is_isvc(obj: dict) -> bool:
    return obj.get("kind") == "InferenceService" and obj.get("apiVersion", "").startswith(ISVC_GROUP + "/")


def wait_ready(kube: Kube, name: str, timeout: float, namespace: str | None = None,
               on_progress: Callable[[ApiStatus], None] | None = None) -> ApiStatus:
    """Watch an InferenceService until its Ready condition is True; report each change."""
    ref = Ref.isvc(name, namespace or kube.namespace)
    deadline = time.monotonic() + timeout
    last: ApiStatus | None = None
    seen: tuple | None = None
    while (remaining := deadline - time.monotonic()) > 0:
        for obj in kube.watch(ref, remaining):
            last = summarize(obj)
            key = (tuple(sorted(last.conditions.items())), last.url, last.split())
            if key != seen and on_progress:
                on_progress(last)
            seen = key
            if last.ready:
                return last
            if time.monotonic() >= deadline:
                break
    detail = ", ".join(f"{k}={v}" for k, v in (last.conditions if last else {}).items()) or "no status yet"
    raise ClusterError(f"{name} not Ready after {timeout:g}s ({detail}); see the model server's logs: "
                       f"{logs_hint(name, ref.namespace)}")
