"""Spec -> Kubernetes objects: `translate(spec)` and `explain(spec)` share one mapping."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import TranslationError, describe_value
from ..package import deployment_id, project_digest
from ..spec import Spec, load_spec, resolve_api
from ..spec.kube_names import dns_1123_label, no_whitespace
from ..spec.models import RealtimeAPI
from .inference_service import inference_service
from .record import Record
from .secrets import env_secret_name, project_dotenv
from .traffic import inference_graph
from .vertical import vertical_pod_autoscaler


def _records(spec: Spec | str | Path | Mapping | list, namespace: str | None, image: str | None,
             storage_uri: str | None, deployment_id_override: str | None) -> list[tuple[Record, list[dict]]]:
    if namespace is not None and (why := dns_1123_label(namespace)):
        raise TranslationError(f"namespace {describe_value(namespace)}: {why}")
    if image is not None and (why := no_whitespace(image) if image else "must not be empty"):
        raise TranslationError(f"image {describe_value(image)}: {why}")
    spec = spec if isinstance(spec, Spec) else load_spec(spec)
    digest = project_digest(spec.project_dir) if spec.project_dir and deployment_id_override is None else None
    has_dotenv = project_dotenv(spec.project_dir) is not None
    out = []
    for api in spec.apis:
        rec = Record(api.name)
        if isinstance(api, RealtimeAPI):
            dep_id = deployment_id_override or deployment_id(resolve_api(api), digest)
            objects = [inference_service(api, rec, namespace=namespace, storage_uri=storage_uri,
                                         deployment_id=dep_id, image=image, project=spec.project_dir,
                                         env_secret=env_secret_name(api.name) if has_dotenv else None)]
            objects += vertical_pod_autoscaler(api, rec, namespace)
        else:
            objects = inference_graph(api, rec, namespace)
        out.append((rec, objects))
    return out


def translate(spec: Spec | str | Path | Mapping | list, *, namespace: str | None = None, image: str | None = None,
              storage_uri: str | None = None, deployment_id: str | None = None) -> list[dict[str, Any]]:
    """Kubernetes objects (plain dicts) for every API of the spec, in spec order.

    `storage_uri` is where the packaged project is uploaded; `deployment_id`
    overrides the content hash (default: hash of the project files and the API).
    """
    return [obj for _, objects in _records(spec, namespace, image, storage_uri, deployment_id) for obj in objects]


def explain(spec: Spec | str | Path | Mapping | list, **options: Any) -> str:
    """Per API: which Cortex fields mapped to what, and which were dropped and why."""
    return "\n\n".join(rec.text() for rec, _ in _records(spec, options.get("namespace"), options.get("image"),
                                                          options.get("storage_uri"),
                                                          options.get("deployment_id"))) + "\n"
