"""`models:/NAME/VERSION` and `models:/NAME@ALIAS`: model paths in MLflow's model registry.

At validate/convert/deploy/serve time each such path is replaced by the registered version's
artifact location (s3://, gs://, https://), which the model server fetches like any remote model;
what it came from is kept on the API (`registered_models`) for annotations and the deployment id.
MLflow's client (`mlflow-skinny`, the `mlflow` extra) is imported only when a spec has such a path.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from .errors import BridgeError
from .interface import is_remote, remote_schemes_text

if TYPE_CHECKING:
    from .spec.models import ModelPath, Models, RealtimeAPI

PREFIX = "models:/"
ANNOTATION = "kserve-bridge.io/registered-models"
_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>[1-9][0-9]*)|@(?P<alias>[A-Za-z0-9_-]+))$")
FORMS = "models:/NAME/VERSION or models:/NAME@ALIAS"


class RegistryError(BridgeError):
    """MLflow's registry cannot be asked (client missing, no tracking URI, server unreachable)."""


@dataclass(frozen=True)
class RegisteredModel:
    """One resolved `models:/` path: where it points in the registry and where the artifacts are."""

    uri: str
    name: str
    version: str
    alias: str | None
    run_id: str | None
    source: str

    def describe(self) -> str:
        alias = f" (alias {self.alias})" if self.alias else ""
        return f"{self.name} version {self.version}{alias}, run {self.run_id or '-'}"

    def as_dict(self) -> dict:
        return asdict(self)


def registry_annotation(models: list[RegisteredModel]) -> str:
    """The InferenceService annotation: one JSON object per models:/ path (name, version, alias, run id)."""
    import json
    return json.dumps([{k: v for k, v in m.as_dict().items() if v is not None} for m in models],
                      sort_keys=True, separators=(",", ":"))


def described(annotation: str | None) -> list[str]:
    """What `get` prints for the annotation (an unreadable one is shown as it is)."""
    import json
    if not annotation:
        return []
    try:
        return [RegisteredModel(**{"alias": None, "run_id": None, **m}).describe() for m in json.loads(annotation)]
    except (ValueError, TypeError):
        return [annotation]


def is_registry_uri(path: str) -> bool:
    return path.startswith(PREFIX)


def syntax_problem(path: str) -> str | None:
    """Why `path` is not a registry path we resolve, or None."""
    return None if _URI.match(path) else f"a registry model is written {FORMS}"


def resolve(uri: str) -> RegisteredModel | str:
    """The registered version `uri` names, or why the registry has no such model, version or alias."""
    client, tracking = _client()
    parts = _URI.match(uri)
    assert parts is not None, uri  # the rules checked the syntax first
    name, version, alias = parts["name"], parts["version"], parts["alias"]
    from mlflow.exceptions import MlflowException
    try:
        model = client.get_registered_model(name)
    except MlflowException as exc:
        return _missing(exc, tracking, uri, f"registered model {name}")
    if alias is not None:
        version = dict(model.aliases or {}).get(alias)
        if version is None:
            return f"registered model {name} has no alias {alias} (aliases: {_listed(model.aliases)})"
    try:
        found = client.get_model_version(name, str(version))
        source = client.get_model_version_download_uri(name, str(version))
    except MlflowException as exc:
        return _missing(exc, tracking, uri, f"registered model {name} version {version}")
    if not is_remote(source):
        return (f"{name} version {version} stores its artifacts at {source}, which the model server cannot fetch; "
                f"supported: {remote_schemes_text()} (run MLflow with --default-artifact-root on an object store "
                "and --no-serve-artifacts)")
    return RegisteredModel(uri, name, str(version), alias, found.run_id or None, source)


def resolve_paths(api: RealtimeAPI, report: Callable[..., None]) -> None:
    """Replace every `models:/` path of a RealtimeAPI by its artifact location, or report why not."""
    models = api.predictor.models
    if models is None:
        return
    holders: list[tuple[tuple, Models | ModelPath]] = [(("predictor", "models"), models)] if models.path else []
    holders += [(("predictor", "models", "paths", i), m) for i, m in enumerate(models.paths or [])]
    found = []
    for loc, holder in holders:
        uri = holder.path
        if uri is None or not is_registry_uri(uri) or syntax_problem(uri):  # malformed: the rules said so
            continue
        resolved = resolve(uri)
        if isinstance(resolved, str):
            report((*loc, "path"), resolved, uri)
            continue
        holder.path = resolved.source
        found.append(resolved)
    api.registered_models = found


def _client():
    tracking = os.environ.get("MLFLOW_TRACKING_URI")
    if not tracking:
        raise RegistryError(f"{FORMS} paths are looked up in MLflow's model registry: set MLFLOW_TRACKING_URI "
                            "(e.g. http://mlflow.example.com:5000)")
    try:
        from mlflow import MlflowClient
    except ImportError:
        raise RegistryError("models:/ paths need MLflow's client: pip install 'kserve-bridge[mlflow]'") from None
    return MlflowClient(tracking_uri=tracking), tracking


def _missing(exc, tracking: str, uri: str, what: str) -> str:
    """A spec problem when the registry has no such thing; a `RegistryError` when it could not answer."""
    if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
        raise RegistryError(f"MLflow's registry at {tracking} could not resolve {uri}: {exc.message}") from None
    return f"{what} not found in MLflow's registry at {tracking}"


def _listed(aliases) -> str:
    return ", ".join(sorted(aliases or {})) or "none"
