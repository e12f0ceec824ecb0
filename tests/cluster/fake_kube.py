"""An in-process stand-in for the Kubernetes API server, over real HTTP.

The real `kubernetes` client talks to it through a generated kubeconfig. It
stores custom objects (and core ones such as Secrets, group "") per group/version/namespace/plural/name
and models:
resourceVersion (409 on a stale write), generation, the status subresource,
server-side apply (leaf-level field ownership per manager), JSON merge patch,
JSON patch, create/replace/delete, list with field/label selectors, and watch
(streamed JSON lines); core objects (pods, added with `add_pod`) under /api/v1; API discovery
(/apis/GROUP/VERSION) for the kinds registered in `served` (`install_gateway_api`).
Optionally it plays KServe's controller for InferenceServices: each predictor
change makes a new revision, and traffic follows spec.predictor.canaryTrafficPercent.

Not modelled: admission/validation against the CRD schemas, defaulting,
finalizers, RBAC (one bearer token), list chunking, bookmarks, 410 Gone,
strategic merge patch, conflicts between apply managers without force.
"""
from __future__ import annotations

import copy
import hashlib
import itertools
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml

from tests.cluster.patches import ApiError, drop_path, json_patch, leaves, merge_patch
from tests.cluster.patches import selected as _selected

TOKEN = "fake-kube-token"
Key = tuple[str, str, str, str, str]  # group, version, namespace, plural, name


class FakeKube:
    """The store plus the HTTP server; use as a context manager or call start()/stop()."""

    def __init__(self, simulate_kserve: bool = True):
        self.objects: dict[Key, dict] = {}
        self.owners: dict[Key, dict[str, set[tuple]]] = {}  # apply manager → owned leaf paths
        self.revisions: dict[Key, list[tuple[str, str]]] = {}  # (revision name, predictor hash)
        self.events: list[tuple[Key, str, dict]] = []
        self.requests: list[tuple[str, str, str]] = []  # method, path+query, content type
        self.simulate_kserve = simulate_kserve
        self.auto_ready = True
        self.raw_canary_ready = True
        self.served: dict[tuple[str, str], list[str]] = {}  # (group, version) → kinds, for discovery
        self._rv = itertools.count(1)
        self._changed = threading.Condition()
        self._before_write: list[Callable[[], None]] = []
        self._on_watch: list[Callable[[], None]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self.stopped = False

    # lifecycle -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeKube:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopped = True
        with self._changed:
            self._changed.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> FakeKube:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def write_kubeconfig(self, path: Path, namespace: str = "models") -> Path:
        """A kubeconfig with context `fake` (namespace `namespace`) and `other` (namespace other)."""
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {"token": TOKEN}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake", "namespace": namespace}},
                         {"name": "other", "context": {"cluster": "fake", "user": "fake", "namespace": "other"}}],
        }
        path.write_text(yaml.safe_dump(config))
        return path

    # helpers for tests -----------------------------------------------------------------------
    def isvc(self, name: str, namespace: str = "models") -> dict | None:
        obj = self.objects.get(("serving.kserve.io", "v1beta1", namespace, "inferenceservices", name))
        return copy.deepcopy(obj)

    def set_status(self, name: str, change: Callable[[dict], None], namespace: str = "models") -> None:
        """Mutate an InferenceService's status in place (as a controller would) and notify watchers."""
        key = ("serving.kserve.io", "v1beta1", namespace, "inferenceservices", name)
        with self._changed:
            obj = copy.deepcopy(self.objects[key])
            change(obj.setdefault("status", {}))
            self._store(key, obj, "MODIFIED")

    def set_condition(self, name: str, type_: str, status: str, reason: str = "",
                      namespace: str = "models") -> None:
        def change(st: dict) -> None:
            conds = [c for c in st.get("conditions", []) if c["type"] != type_]
            st["conditions"] = conds + [{"type": type_, "status": status, "reason": reason,
                                         "lastTransitionTime": "2026-11-22T00:00:00Z"}]
        self.set_status(name, change, namespace)

    def add_pod(self, name: str, labels: dict[str, str], status: dict, namespace: str = "models") -> None:
        """A pod as the kubelet reports it (core group: /api/v1/namespaces/NS/pods)."""
        self.write(("", "v1", namespace, "pods", name),
                   {"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": labels}, "status": status})

    def install_gateway_api(self, enabled: bool = True, crd: bool = True, **ingress: object) -> None:
        """KServe's `inferenceservice-config` (namespace kserve) with `enableGatewayApi` = `enabled` and
        further `ingress` keys, and, with `crd`, the Gateway API's HTTPRoute kind in discovery."""
        config = {"enableGatewayApi": enabled, "kserveIngressGateway": "kserve/kserve-ingress-gateway",
                  "ingressGateway": "knative-serving/knative-ingress-gateway", "ingressDomain": "example.com",
                  **ingress}
        self.write(("", "v1", "kserve", "configmaps", "inferenceservice-config"),
                   {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {},
                    "data": {"ingress": json.dumps(config, indent=2),
                             "deploy": '{"defaultDeploymentMode": "Knative"}'}})
        if crd:
            self.served[("gateway.networking.k8s.io", "v1")] = ["Gateway", "GatewayClass", "HTTPRoute", "GRPCRoute"]

    def before_next_write(self, fn: Callable[[], None]) -> None:
        """Run `fn` once just before the next write request is processed (a concurrent writer)."""
        self._before_write.append(fn)

    def once_watched(self, fn: Callable[[], None]) -> None:
        """Run `fn` once the next watch has sent its initial state: what `fn` changes reaches that
        watcher as events (a controller acting while a client watches, in that order on any machine)."""
        self._on_watch.append(fn)

    def touch(self, key: Key, label: str = "touched") -> None:
        """Another client's write: bump the object's resourceVersion."""
        with self._changed:
            obj = copy.deepcopy(self.objects[key])
            obj["metadata"].setdefault("labels", {})["other-writer"] = label
            self._store(key, obj, "MODIFIED")

    # store -----------------------------------------------------------------------------------
    def _store(self, key: Key, obj: dict, event: str) -> dict:
        obj["metadata"]["resourceVersion"] = str(next(self._rv))
        self.objects[key] = obj
        self.events.append((key, event, copy.deepcopy(obj)))
        self._changed.notify_all()
        return obj

    def write(self, key: Key, new: dict, manager: str | None = None) -> dict:
        """Store `new` for `key` unless nothing changed (then resourceVersion stays)."""
        with self._changed:
            return self._write(key, new, manager)

    def _write(self, key: Key, new: dict, manager: str | None) -> dict:
        old = self.objects.get(key)
        meta = new.setdefault("metadata", {})
        meta.update(name=key[4], namespace=key[2])
        if old is None:
            meta.update(uid=str(uuid.uuid4()), creationTimestamp="2026-11-22T00:00:00Z", generation=1)
        else:
            for field in ("uid", "creationTimestamp", "generation", "resourceVersion"):
                meta[field] = old["metadata"].get(field)
            if old.get("spec") != new.get("spec"):
                meta["generation"] = old["metadata"]["generation"] + 1
            if old == new:
                return old
        if manager:
            fields = meta.setdefault("managedFields", [])
            if manager not in [f["manager"] for f in fields]:
                fields.append({"manager": manager, "operation": "Update", "apiVersion": new.get("apiVersion")})
        obj = self._store(key, new, "ADDED" if old is None else "MODIFIED")
        if self.simulate_kserve and key[3] == "inferenceservices":
            self._reconcile_isvc(key)
        return obj

    def _reconcile_isvc(self, key: Key) -> None:
        """KServe's part, in short: revisions, traffic by canaryTrafficPercent, Ready."""
        obj = copy.deepcopy(self.objects[key])
        if _raw_mode(obj):
            return self._reconcile_raw(key, obj)
        predictor = dict((obj.get("spec") or {}).get("predictor") or {})
        canary = predictor.pop("canaryTrafficPercent", None)
        digest = hashlib.sha256(json.dumps(predictor, sort_keys=True).encode()).hexdigest()
        revs = self.revisions.setdefault(key, [])
        if not revs or revs[-1][1] != digest:
            revs.append((f"{key[4]}-predictor-{len(revs) + 1:05d}", digest))
        latest = revs[-1][0]
        if len(revs) == 1 or canary is None or canary == 100:
            traffic = [{"revisionName": latest, "percent": 100, "latestRevision": True}]
        else:
            traffic = [{"revisionName": latest, "percent": canary, "latestRevision": True, "tag": "latest",
                        "url": f"http://latest-{key[4]}-predictor.{key[2]}.example.com"},
                       {"revisionName": revs[-2][0], "percent": 100 - canary, "latestRevision": False,
                        "tag": "prev"}]
        status = obj.setdefault("status", {})
        status["components"] = {"predictor": {
            "latestCreatedRevision": latest, "latestReadyRevision": latest, "traffic": traffic,
            "url": f"http://{key[4]}-predictor.{key[2]}.example.com"}}
        if self.auto_ready:
            status["url"] = f"http://{key[4]}.{key[2]}.example.com"
            status["conditions"] = [{"type": t, "status": "True", "lastTransitionTime": "2026-11-22T00:00:00Z"}
                                    for t in ("IngressReady", "PredictorReady", "Ready")]
            status["modelStatus"] = {"copies": {"failedCopies": 0, "totalCopies": 1},
                                     "transitionStatus": "UpToDate", "states": {"activeModelState": "Loaded"}}
        if status != self.objects[key].get("status"):
            self._store(key, obj, "MODIFIED")


    def _reconcile_raw(self, key: Key, obj: dict) -> None:
        """RawDeployment: each spec.canary entry is a Deployment `{isvc}-{name}-predictor`, ready at once
        unless `raw_canary_ready` is False; status.canaryStatuses follows the spec (KServe's shape)."""
        status = obj.setdefault("status", {})
        status["deploymentMode"] = "RawDeployment"
        status["canaryStatuses"] = [{"name": c["predictor"].get("name", ""), "ready": self.raw_canary_ready,
                                     "trafficPercent": c.get("trafficPercent", 0)}
                                    for c in (obj.get("spec") or {}).get("canary") or []]
        if not status["canaryStatuses"]:
            del status["canaryStatuses"]
        status["components"] = {"predictor": {"url": f"http://{key[4]}-predictor.{key[2]}.svc.cluster.local"}}
        if self.auto_ready:
            status["url"] = f"http://{key[4]}.{key[2]}.example.com"
            status["conditions"] = [{"type": t, "status": "True", "lastTransitionTime": "2026-11-22T00:00:00Z"}
                                    for t in ("IngressReady", "PredictorReady", "Ready")]
        if status != self.objects[key].get("status"):
            self._store(key, obj, "MODIFIED")


def _raw_mode(obj: dict) -> bool:
    mode = ((obj.get("metadata") or {}).get("annotations") or {}).get("serving.kserve.io/deploymentMode")
    return mode in ("RawDeployment", "Standard")


def _flag(value: str | None) -> bool:
    """A boolean query parameter as the API server reads it (apimachinery's Convert_Slice_string_To_bool:
    only absent, "0" and "false" in any case are false). kubernetes clients before 36 send True."""
    return value is not None and value != "0" and value.lower() != "false"


def _route(path: str) -> tuple[str, str, str, str, str | None, str | None]:
    """group, version, namespace, plural, name, subresource of a REST path. The core group is "" under
    /api/v1; cluster-scoped objects (namespaces) are stored under namespace ""."""
    parts = path.strip("/").split("/")
    if parts[0] == "api" and len(parts) >= 3:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[0] == "apis" and len(parts) >= 4:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise ApiError(404, "NotFound", f"no such path {path}")
    if rest[0] == "namespaces" and len(rest) >= 3:
        ns, rest = rest[1], rest[2:]
    else:
        ns = ""
    return group, version, ns, rest[0], (rest[1] if len(rest) > 1 else None), (rest[2] if len(rest) > 2 else None)


def _handler(kube: FakeKube) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def setup(self) -> None:
            super().setup()
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle/delayed-ACK stalls

        def do_GET(self) -> None:
            self._serve()

        do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

        def _serve(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            ctype = (self.headers.get("Content-Type") or "").split(";")[0]
            kube.requests.append((self.command, self.path, ctype))
            try:
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    raise ApiError(401, "Unauthorized", "missing or wrong bearer token")
                if self.command == "GET" and url.path.count("/") == 3 and url.path.startswith("/apis/"):
                    return self._reply(200, self._discovery(*url.path.split("/")[2:]))
                group, version, ns, plural, name, sub = _route(url.path)
                if self.command == "GET" and name is None and _flag(query.get("watch")):
                    return self._watch(group, version, ns, plural, query)
                if self.command in ("PUT", "PATCH", "POST", "DELETE"):
                    if kube._before_write:
                        kube._before_write.pop(0)()
                with kube._changed:
                    code, result = self._handle(group, version, ns, plural, name, sub, query, body, ctype)
                self._reply(code, result)
            except ApiError as exc:
                self._reply(exc.code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                       "message": exc.message, "reason": exc.reason, "code": exc.code})
            except (ValueError, KeyError, TypeError, IndexError, yaml.YAMLError) as exc:
                self._reply(400, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                  "message": f"bad request: {exc}", "reason": "BadRequest", "code": 400})

        def _discovery(self, group: str, version: str) -> dict:
            kinds = kube.served.get((group, version))
            if kinds is None:
                raise ApiError(404, "NotFound", f"the server could not find the requested resource ({group}/{version})")
            return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}",
                    "resources": [{"name": k.lower() + "s", "singularName": k.lower(), "namespaced": True,
                                   "kind": k, "verbs": ["get", "list", "watch"]} for k in kinds]}

        def _handle(self, group: str, version: str, ns: str, plural: str, name: str | None, sub: str | None,
                    query: dict, body: bytes, ctype: str) -> tuple[int, dict]:
            key = (group, version, ns, plural, name or "")
            existing = kube.objects.get(key)
            what = f'{plural}.{group} "{name}"'
            if self.command == "GET" and name is None:
                items = [copy.deepcopy(o) for k, o in sorted(kube.objects.items())
                         if k[:4] == key[:4] and _selected(o, query)]
                return 200, {"apiVersion": f"{group}/{version}".lstrip("/"), "kind": "List", "items": items,
                             "metadata": {"resourceVersion": str(next(kube._rv))}}
            if self.command == "POST" and name is None:
                obj = json.loads(body)
                key = key[:4] + (obj["metadata"]["name"],)
                if key in kube.objects:
                    raise ApiError(409, "AlreadyExists", f'{plural}.{group} "{key[4]}" already exists')
                obj.pop("status", None)
                return 201, kube.write(key, obj, query.get("fieldManager"))
            if name is None:
                raise ApiError(405, "MethodNotAllowed", f"{self.command} needs a name")
            if self.command == "PATCH" and ctype == "application/apply-patch+yaml":
                return 200, self._apply(key, existing, yaml.safe_load(body), query)
            if existing is None:
                raise ApiError(404, "NotFound", f"{what} not found")
            if self.command == "GET":
                return 200, copy.deepcopy(existing)
            if self.command == "DELETE":
                del kube.objects[key]
                kube.owners.pop(key, None)
                kube.revisions.pop(key, None)
                kube.events.append((key, "DELETED", copy.deepcopy(existing)))
                kube._changed.notify_all()
                return 200, {"kind": "Status", "apiVersion": "v1", "status": "Success", "details": {"name": name}}
            if self.command == "PUT":
                new = json.loads(body)
            elif ctype == "application/merge-patch+json":
                new = merge_patch(existing, json.loads(body))
            elif ctype == "application/json-patch+json":
                new = json_patch(existing, json.loads(body))
            else:
                raise ApiError(415, "UnsupportedMediaType", f"content type {ctype!r} is not supported")
            sent_rv = (new.get("metadata") or {}).get("resourceVersion")
            if sent_rv and sent_rv != existing["metadata"]["resourceVersion"]:
                raise ApiError(409, "Conflict", f"Operation cannot be fulfilled on {what}: the object has been "
                                                "modified; please apply your changes to the latest version")
            if sub == "status":
                new = dict(copy.deepcopy(existing), status=new.get("status"))
            else:
                new["status"] = copy.deepcopy(existing.get("status"))
                if new["status"] is None:
                    new.pop("status")
            return 200, kube.write(key, new, query.get("fieldManager"))

        def _apply(self, key: Key, existing: dict | None, applied: dict, query: dict) -> dict:
            manager = query.get("fieldManager")
            if not manager:
                raise ApiError(400, "BadRequest", "fieldManager is required for apply patch")
            applied = copy.deepcopy(applied)
            applied.setdefault("metadata", {}).pop("resourceVersion", None)
            applied.pop("status", None)
            owned = kube.owners.setdefault(key, {})
            new = merge_patch(existing or {}, applied)
            mine = leaves({k: v for k, v in applied.items() if k != "metadata"}) | {
                ("metadata", part) + p for part in ("labels", "annotations")
                for p in leaves(applied["metadata"].get(part) or {}) if p}
            for path in owned.get(manager, set()) - mine:
                drop_path(new, path)
            owned[manager] = mine
            obj = kube.write(key, new)
            fields = obj["metadata"].setdefault("managedFields", [])
            if not any(f["manager"] == manager and f["operation"] == "Apply" for f in fields):
                fields.append({"manager": manager, "operation": "Apply", "apiVersion": applied.get("apiVersion"),
                               "force": _flag(query.get("force"))})
            return copy.deepcopy(kube.objects[key])

        def _watch(self, group: str, version: str, ns: str, plural: str, query: dict) -> None:
            deadline = time.monotonic() + float(query.get("timeoutSeconds") or 30)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            with kube._changed:
                start = len(kube.events)
                initial = [] if query.get("resourceVersion") not in (None, "", "0") else [
                    ("ADDED", copy.deepcopy(o)) for k, o in sorted(kube.objects.items())
                    if k[:4] == (group, version, ns, plural) and _selected(o, query)]
            try:
                for event, obj in initial:
                    self._send_event(event, obj)
                if kube._on_watch:
                    kube._on_watch.pop(0)()
                while not kube.stopped and (remaining := deadline - time.monotonic()) > 0:
                    with kube._changed:
                        if len(kube.events) == start:
                            kube._changed.wait(min(remaining, 0.5))
                        fresh, start = kube.events[start:], len(kube.events)
                    for key, event, obj in fresh:
                        if key[:4] == (group, version, ns, plural) and _selected(obj, query):
                            self._send_event(event, obj)
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _send_event(self, event: str, obj: dict) -> None:
            line = json.dumps({"type": event, "object": obj}).encode() + b"\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.flush()

        def _reply(self, code: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
