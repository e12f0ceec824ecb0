"""Deploy a spec: translate it, server-side apply the objects, wait for Ready."""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from ..errors import BridgeError, ClusterError, NotFoundError, StorageError
from .kube import ISVC_GROUP, Kube, Ref
from .status import ApiStatus, logs_hint, summarize

STORAGE_URI_ENV = "KSERVE_BRIDGE_STORAGE_URI"  # default storage URI for deploy and the client


def objects_for(spec_source: Any, project_dir: Path, *, namespace: str, storage_uri: str | None = None,
                image: str | None = None, upload: bool = False, stream: IO[str] | None = None) -> list[dict]:
    """Kubernetes objects for a spec (a path or parsed data) whose files live in `project_dir`;
    the translator derives each API's deployment id from the project's files and the API.

    With `upload`, each API's project is first uploaded to `<storage URI>/<deployment id>`
    (skipped when already there) and its InferenceService reads from that prefix; a storage
    error raises before anything is returned, so nothing is applied."""
    from ..spec import load_spec
    try:
        from ..translator import translate
    except ImportError as exc:  # a partial install: say so instead of a traceback
        raise BridgeError(f"this install cannot translate specs ({exc}); reinstall kserve-bridge") from exc

    spec = load_spec(spec_source, project_dir=project_dir)
    if not upload:
        return translate(spec, namespace=namespace, image=image, storage_uri=storage_uri)
    return _upload_and_translate(spec, namespace, image, storage_uri or os.environ.get(STORAGE_URI_ENV), stream)


def _upload_and_translate(spec: Any, namespace: str, image: str | None, storage_uri: str | None,
                          stream: IO[str] | None) -> list[dict]:
    from ..package import DIGEST_CHARS, deployment_id, project_digest
    from ..spec import Spec, resolve_api
    from ..spec.models import RealtimeAPI
    from ..storage import join, pvc_alternative
    from ..storage.upload import upload_project
    from ..translator import translate

    digest = project_digest(spec.project_dir)
    plans, objects = [], []
    for api in spec.apis:
        if not isinstance(api, RealtimeAPI):
            objects += translate(Spec([api], spec.source, None), namespace=namespace)  # graphs ship no code
            continue
        base = api.kserve.storage_uri or storage_uri
        if not base:
            raise StorageError(f"{api.name}: no storage URI to upload the project to: pass --storage-uri "
                               "s3://BUCKET/PREFIX (client: storage_uri=...), set kserve.storage_uri, or "
                               f"{STORAGE_URI_ENV}; --no-upload (upload=False) applies without uploading")
        resolved = resolve_api(api)
        dep_id = deployment_id(resolved, digest)
        prefix = join(base, dep_id)
        if base.startswith("pvc://"):
            bundle = f"{spec.project_dir.name}-{digest[:DIGEST_CHARS]}.tar.gz"  # what `package` names it
            raise StorageError(pvc_alternative(base, namespace, str(spec.project_dir), bundle, prefix))
        manifest = {"deployment_id": dep_id, "api": api.name, "predictor_path": api.predictor.path,
                    "spec": resolved}
        plans.append((prefix, manifest))
        pinned = api.model_copy(update={"kserve": api.kserve.model_copy(update={"storage_uri": prefix})})
        objects += translate(Spec([pinned], spec.source, spec.project_dir), namespace=namespace, image=image,
                             deployment_id=dep_id)
    for prefix, manifest in plans:
        upload_project(spec.project_dir, prefix, manifest, stream)
    return objects


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


def apply_release(kube: Kube, objects: list[dict], canary: int | None = None
                  ) -> tuple[list[tuple[dict, str]], list[str]]:
    """`apply_all`, where an InferenceService already serving gets the new version as a canary when
    `canary` (a percent) is given, or a share is pending (`canary start`) or a canary runs:
    Serverless: canaryTrafficPercent is set first, the new revision takes it; RawDeployment: the new
    predictor becomes the spec.canary entry (stable spec.predictor untouched) at that share, checked
    against KServe's admission rules (and its routing, for a share above 0) before anything is written.
    Returns apply_all's results and one note per canary."""
    from .rollout.raw import PENDING_ANNOTATION, staged_canary
    from .rollout.traffic import SERVERLESS, mode_of, set_share

    if canary is not None and not 0 <= canary <= 100:
        raise BridgeError(f"canary percent must be between 0 and 100 (got {canary})")
    staged, notes, serverless, pending = [], [], [], []
    for obj in objects:
        if not is_isvc(obj):
            staged.append(obj)
            continue
        ref, name = Ref.of(obj, kube.namespace), obj["metadata"]["name"]
        try:
            stored = kube.get(ref)
        except NotFoundError:
            if canary is not None:
                notes.append(f"{name}: first version, takes all traffic (no stable version for a canary)")
            staged.append(obj)
            continue
        if mode_of(stored) == SERVERLESS:
            spec_share = obj["spec"]["predictor"].get("canaryTrafficPercent")
            if canary is not None and spec_share not in (None, canary):
                raise BridgeError(f"{name}: kserve.canary_traffic_percent is {spec_share} in the spec and the "
                                  f"canary share asked for is {canary}: drop one")
            if canary is not None:
                serverless.append(name)
                notes.append(f"{name}: the new revision takes {canary}% (canaryTrafficPercent)")
            staged.append(obj)
            continue
        candidate = staged_canary(kube, stored, obj, canary)
        staged.append(candidate or obj)
        if candidate is None:
            continue
        pending += [ref] if PENDING_ANNOTATION in (stored["metadata"].get("annotations") or {}) else []
        entry = candidate["spec"]["canary"][0]
        cname = entry["predictor"]["name"]
        notes.append(f"{name}: the new version is canary {cname} ({ref.name}-{cname}-predictor) at "
                     f"{entry['trafficPercent']}%; the stable predictor keeps the rest (KServe routes to the "
                     "canary once it reports ready)")
    for name in serverless:
        set_share(kube, name, canary)
    results = apply_all(kube, staged)
    for ref in pending:  # the share now lives in the spec.canary entry
        kube.update(ref, lambda o: {"metadata": {"annotations": {PENDING_ANNOTATION: None}}}
                    if PENDING_ANNOTATION in ((o.get("metadata") or {}).get("annotations") or {}) else None)
    return results, notes


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
