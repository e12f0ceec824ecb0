"""The Python client Cortex users know: `kserve_bridge.client(...)` → `Client`."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ..errors import ClusterError, NotFoundError, SpecError, StorageError
from ..notebook.project import write_project
from ..storage.upload import Deployment, read_deployment
from ..translator.secrets import project_dotenv
from . import deploy as _deploy
from .kube import ISVC_GROUP, ISVC_LABEL, ISVC_PLURAL, ISVC_VERSION, Kube, Ref
from .quota import warn_quota
from .secrets import apply_env_secrets
from .status import ApiStatus, container_failure, summarize

log = logging.getLogger(__name__)


class Client:
    """Create, inspect, patch and delete APIs in one namespace of one cluster."""

    def __init__(self, namespace: str | None = None, kubeconfig: str | None = None,
                 context: str | None = None, storage_uri: str | None = None):
        self.kube = Kube(namespace=namespace, kubeconfig=kubeconfig, context=context)
        self.namespace = self.kube.namespace
        self.storage_uri = storage_uri

    def create_api(self, api_spec: dict, predictor: type | None = None, project_dir: str | Path | None = None,
                   requirements: Sequence[str] = (), wait: bool = False, timeout: float = 600,
                   upload: bool = True, canary: int | None = None) -> ApiStatus:
        """Deploy one API. With `predictor`, its source (recovered from the notebook session
        when it was defined there) is written to a deterministic temp project (predictor.py,
        requirements.txt, cortex.yaml); otherwise `project_dir` (default: the current
        directory) holds the files the spec names. The project is uploaded to
        `<storage_uri>/<deployment id>` first (skipped when already there) unless `upload=False`.
        With `canary` (a percent), an API already serving gets the new version as a canary taking that
        share (`kserve-bridge deploy --canary`); a share set by `canary start` is honoured without it."""
        if not isinstance(api_spec, dict) or not api_spec.get("name"):
            from ..errors import Problem
            raise SpecError([Problem("name", "api_spec must be a dict with a name", value=api_spec)])
        if predictor is not None:
            project = write_project(api_spec, predictor, list(requirements))
            source: object = project / "cortex.yaml"
        else:
            project = Path(project_dir or ".").resolve()
            source = [api_spec]
        objects = _deploy.objects_for(source, project, namespace=self.namespace, storage_uri=self.storage_uri,
                                      upload=upload)
        apply_env_secrets(self.kube, objects, project_dotenv(project))
        warn_quota(self.kube, objects)
        for note in _deploy.apply_release(self.kube, objects, canary)[1]:
            log.info(note)
        if wait:
            return _deploy.wait_ready(self.kube, api_spec["name"], timeout)
        return self.get_api(api_spec["name"])

    def patch_api(self, api_spec: dict, predictor: type | None = None, project_dir: str | Path | None = None,
                  requirements: Sequence[str] = (), upload: bool = True, canary: int | None = None) -> ApiStatus:
        """Re-apply an existing API's spec (server-side apply: only what changed is written)."""
        self.get_api(str(api_spec.get("name", "")))  # NotFoundError when there is nothing to patch
        return self.create_api(api_spec, predictor, project_dir, requirements, upload=upload, canary=canary)

    def get_api(self, name: str) -> ApiStatus:
        """The API's status; when it is not ready, also why its model server fails (from its pods)."""
        status = summarize(self.kube.get(Ref.isvc(name, self.namespace)))
        if status.ready:
            return status
        try:
            pods = self.kube.pods(f"{ISVC_LABEL}={name}", self.namespace)
        except ClusterError:  # e.g. no permission to list pods: the InferenceService status alone
            return status
        return replace(status, failure=container_failure(pods))

    def get_code(self, name: str) -> Deployment:
        """The predictor source and spec the API's current revision was deployed from,
        read from its deployment's prefix in storage."""
        isvc = self.kube.get(Ref.isvc(name, self.namespace))
        uri = storage_uri_of(isvc)
        if not uri:
            raise NotFoundError(f"InferenceService {name} names no storageUri")
        deployment = read_deployment(uri)
        label = summarize(isvc).deployment_id
        if label and deployment.deployment_id != label:
            raise StorageError(f"{uri} holds deployment {deployment.deployment_id}, but {name} runs {label}")
        return deployment

    def list_apis(self) -> list[ApiStatus]:
        """Every API's status; those not ready also say why their model server fails (one pod list)."""
        items = self.kube.list(ISVC_GROUP, ISVC_VERSION, ISVC_PLURAL, self.namespace)
        statuses = sorted((summarize(i) for i in items), key=lambda s: s.name)
        if all(s.ready for s in statuses):
            return statuses
        try:
            pods = self.kube.pods(ISVC_LABEL, self.namespace)
        except ClusterError:  # e.g. no permission to list pods: the InferenceService status alone
            return statuses
        by_api: dict[str, list[dict]] = {}
        for pod in pods:
            api = ((pod.get("metadata") or {}).get("labels") or {}).get(ISVC_LABEL, "")
            by_api.setdefault(api, []).append(pod)
        return [s if s.ready else replace(s, failure=container_failure(by_api.get(s.name, []))) for s in statuses]

    def delete_api(self, name: str) -> None:
        self.kube.delete(Ref.isvc(name, self.namespace))


def storage_uri_of(isvc: dict) -> str | None:
    """Where an InferenceService's predictor reads its project from."""
    predictor = (isvc.get("spec") or {}).get("predictor") or {}
    if (predictor.get("model") or {}).get("storageUri"):
        return predictor["model"]["storageUri"]
    for container in predictor.get("containers") or []:
        for env in container.get("env") or []:
            if env.get("name") == "STORAGE_URI":
                return env.get("value")
    return None


def client(namespace: str | None = None, kubeconfig: str | None = None, context: str | None = None,
           storage_uri: str | None = None) -> Client:
    """A `Client` for the given kubeconfig/context (default: the current context and its namespace)."""
    return Client(namespace=namespace, kubeconfig=kubeconfig, context=context, storage_uri=storage_uri)
