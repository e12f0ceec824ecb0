"""A thin, typed layer over the `kubernetes` client for the custom objects we manage.

Every call maps API failures onto the project's errors: 404 → `NotFoundError`,
an unreachable API server → `ClusterError`; 409 conflicts are retried on fresh
state by `update`. Writes go through `send_patch`, which names its Content-Type on every
`kubernetes` client the `cluster` extra allows (29 and up: before 36 the generated
methods take no `_content_type`).
"""
from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from ..errors import ClusterError, NotFoundError

Objects = list[dict]  # `list` inside Kube names its method
FIELD_MANAGER = "kserve-bridge"
CANARY_FIELD_MANAGER = "kserve-bridge-canary"
APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"
CONFLICT_RETRIES = 5
POD_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
ISVC_GROUP, ISVC_VERSION, ISVC_PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"
ISVC_LABEL = "serving.kserve.io/inferenceservice"  # KServe labels each predictor pod with its API
_PLURALS = {"InferenceService": "inferenceservices", "InferenceGraph": "inferencegraphs",
            "VirtualService": "virtualservices", "ServingRuntime": "servingruntimes",
            "AuthorizationPolicy": "authorizationpolicies"}
_CLUSTER_SCOPED = {"Namespace"}


@dataclass(frozen=True)
class Ref:
    """Where one object lives in the API."""

    group: str
    version: str
    plural: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: dict, namespace: str) -> Ref:
        """The object's REST location; the core group ("v1") is group ""; a Namespace has no namespace."""
        api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
        if not api_version or not kind or api_version.count("/") > 1:
            raise ClusterError(f"cannot apply {kind or 'object'} with apiVersion {api_version!r}: "
                               "need apiVersion GROUP/VERSION (or v1) and kind")
        group, version = api_version.split("/", 1) if "/" in api_version else ("", api_version)
        plural = _PLURALS.get(kind, kind.lower() + "s")
        meta = obj.get("metadata") or {}
        scope = "" if kind in _CLUSTER_SCOPED else meta.get("namespace") or namespace
        return cls(group, version, plural, scope, meta["name"])

    @property
    def path(self) -> str:
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        return f"{root}{f'/namespaces/{self.namespace}' if self.namespace else ''}/{self.plural}/{self.name}"

    @classmethod
    def isvc(cls, name: str, namespace: str) -> Ref:
        return cls(ISVC_GROUP, ISVC_VERSION, ISVC_PLURAL, namespace, name)

    def __str__(self) -> str:
        where = f" in namespace {self.namespace}" if self.namespace else ""
        return f"{self.plural}{f'.{self.group}' if self.group else ''}/{self.name}{where}"


class Kube:
    """Custom-object operations against one cluster and default namespace."""

    def __init__(self, namespace: str | None = None, kubeconfig: str | None = None,
                 context: str | None = None):
        import yaml
        from kubernetes import client, config
        try:
            if kubeconfig is None and context is None and _in_pod_without_kubeconfig():
                settings = client.Configuration()  # a pipeline step in a pod: its service account
                config.load_incluster_config(client_configuration=settings)
                api_client = client.ApiClient(settings)
                active = {"context": {"namespace": Path(POD_NAMESPACE_FILE).read_text().strip()}}
            else:
                api_client = config.new_client_from_config(config_file=kubeconfig, context=context)
                _, active = config.list_kube_config_contexts(config_file=kubeconfig)
                if context:
                    contexts, _ = config.list_kube_config_contexts(config_file=kubeconfig)
                    active = next((c for c in contexts if c["name"] == context), active)
        except (config.ConfigException, OSError, TypeError, ValueError, KeyError, AttributeError,
                yaml.YAMLError) as exc:
            raise ClusterError(f"cannot load kubeconfig{f' {kubeconfig}' if kubeconfig else ''}: {exc}") from exc
        self.host = api_client.configuration.host
        self.namespace = namespace or (active or {}).get("context", {}).get("namespace") or "default"
        self.api = client.CustomObjectsApi(api_client)
        self.core = client.CoreV1Api(api_client)

    def _call(self, what: str, ref: Ref | None, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with self._errors(what, ref):
            return fn(*args, **kwargs)

    @contextmanager
    def _errors(self, what: str, ref: Ref | None) -> Iterator[None]:
        """Turn client exceptions into `NotFoundError` / `ClusterError`."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError
        try:
            yield
        except ApiException as exc:
            if exc.status == 404 and ref is not None:
                raise NotFoundError(f"{ref} not found") from exc
            raise ClusterError(f"{what} failed: HTTP {exc.status} {exc.reason}: {_message(exc)}") from exc
        except (HTTPError, OSError) as exc:
            raise ClusterError(f"cannot reach the Kubernetes API at {self.host}: {exc}") from exc

    def get(self, ref: Ref) -> dict:
        return self._call(f"GET {ref}", ref, self.api.get_namespaced_custom_object,
                          ref.group, ref.version, ref.namespace, ref.plural, ref.name)

    def list(self, group: str, version: str, plural: str, namespace: str | None = None) -> Objects:
        result = self._call(f"LIST {plural}", None, self.api.list_namespaced_custom_object,
                            group, version, namespace or self.namespace, plural)
        return result.get("items", [])

    def pods(self, label_selector: str, namespace: str | None = None) -> Objects:
        """Pods matching `label_selector`, as plain dicts (their status holds container states)."""
        import json
        response = self._call("LIST pods", None, self.core.list_namespaced_pod, namespace or self.namespace,
                              label_selector=label_selector, _preload_content=False)
        return json.loads(response.data).get("items", [])

    def config_map(self, name: str, namespace: str) -> dict:
        """A ConfigMap as a plain dict (NotFoundError when absent)."""
        import json
        ref = Ref("", "v1", "configmaps", namespace, name)
        response = self._call(f"GET ConfigMap {name} in namespace {namespace}", ref,
                              self.core.read_namespaced_config_map, name, namespace, _preload_content=False)
        return json.loads(response.data)

    def served_kinds(self, group: str, version: str) -> set[str]:
        """The kinds the API server serves under /apis/GROUP/VERSION (empty: that API is not installed)."""
        import json
        try:
            response = self._call(f"GET /apis/{group}/{version}", Ref(group, version, "", "", ""),
                                  self.api.get_api_resources, group, version, _preload_content=False)
        except NotFoundError:
            return set()
        return {r.get("kind", "") for r in json.loads(response.data).get("resources") or []}

    def apply(self, obj: dict) -> dict:
        """Server-side apply of any object (force, field manager `kserve-bridge`); returns it as stored."""
        ref = Ref.of(obj, self.namespace)
        body = copy.deepcopy(obj)
        if ref.namespace:
            body.setdefault("metadata", {})["namespace"] = ref.namespace
        with self._errors(f"apply {ref}", None):
            return send_patch(self.api.api_client, ref.path, body, APPLY_PATCH,
                          [("fieldManager", FIELD_MANAGER), ("force", "true")])

    def delete_config_map(self, name: str, namespace: str | None = None) -> bool:
        """Delete a ConfigMap; False when it was already gone."""
        namespace = namespace or self.namespace
        try:
            with self._errors(f"DELETE ConfigMap {name}", Ref("", "v1", "configmaps", namespace, name)):
                self.core.delete_namespaced_config_map(name, namespace)
        except NotFoundError:
            return False
        return True

    def delete(self, ref: Ref) -> None:
        self._call(f"DELETE {ref}", ref, self.api.delete_namespaced_custom_object,
                   ref.group, ref.version, ref.namespace, ref.plural, ref.name)

    def update(self, ref: Ref, change: Callable[[dict], dict | None]) -> tuple[dict, bool]:
        """Apply `change(current) -> merge patch | None` with optimistic locking.

        `None` means the object is already as wanted (nothing is written). The
        patch carries the resourceVersion it was computed from; a 409 means
        someone else wrote in between, so the change is recomputed on fresh state.
        """
        from kubernetes.client.exceptions import ApiException
        for _ in range(CONFLICT_RETRIES):
            current = self.get(ref)
            patch = change(copy.deepcopy(current))
            if patch is None:
                return current, False
            patch.setdefault("metadata", {})["resourceVersion"] = current["metadata"]["resourceVersion"]
            with self._errors(f"PATCH {ref}", ref):
                try:
                    stored = send_patch(self.api.api_client, ref.path, patch, MERGE_PATCH,
                                    [("fieldManager", CANARY_FIELD_MANAGER)])
                    return stored, True
                except ApiException as exc:
                    if exc.status != 409:
                        raise
        raise ClusterError(f"{ref} kept changing under us: gave up after {CONFLICT_RETRIES} conflicts")

    def watch(self, ref: Ref, timeout: float) -> Iterator[dict]:
        """Yield the object each time it changes (first its current state) until `timeout`."""
        from kubernetes import watch
        stream = watch.Watch().stream(
            self.api.list_namespaced_custom_object, ref.group, ref.version, ref.namespace, ref.plural,
            field_selector=f"metadata.name={ref.name}", timeout_seconds=max(1, int(timeout)),
            _request_timeout=timeout + 10)
        with self._errors(f"WATCH {ref}", ref):
            for event in stream:
                if event["type"] == "DELETED":
                    raise NotFoundError(f"{ref} was deleted")
                yield event["raw_object"]


def _in_pod_without_kubeconfig() -> bool:
    """Running in a pod (KUBERNETES_SERVICE_HOST) with no kubeconfig: use the service account."""
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and not os.environ.get("KUBECONFIG") and \
        not Path("~/.kube/config").expanduser().exists()


def send_patch(api_client: Any, path: str, body: Any, content_type: str, query: list[tuple[str, str]]) -> dict:
    """PATCH `path` with `content_type`; the answer as decoded JSON.

    kubernetes >= 36 (the regenerated client) serializes with `param_serialize`; 29-35 take the
    headers in `call_api`. Both raise `ApiException` for an error status.
    """
    headers = {"Accept": "application/json", "Content-Type": content_type}
    if hasattr(api_client, "param_serialize"):
        request = api_client.param_serialize("PATCH", path, query_params=query, header_params=headers, body=body,
                                             auth_settings=["BearerToken"])
        response = api_client.call_api(*request)
        response.read()
        return cast(dict, api_client.response_deserialize(response, {"200": "object", "201": "object"}).data)
    return cast(dict, api_client.call_api(path, "PATCH", query_params=query, header_params=headers, body=body,
                                          response_type="object", auth_settings=["BearerToken"],
                                          _return_http_data_only=True))


def _message(exc: Exception) -> str:
    import json
    try:
        return json.loads(getattr(exc, "body", "") or "{}").get("message", "")
    except (ValueError, AttributeError):
        return str(getattr(exc, "body", ""))[:200]
