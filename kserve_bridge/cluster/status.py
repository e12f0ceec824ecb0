"""Read an InferenceService's status: readiness, URL, traffic split, deployment id."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..contract import DEPLOYMENT_ID_LABEL, SERVER_CONTAINER
from ..registry import ANNOTATION as REGISTRY_ANNOTATION
from ..registry import described
from .kube import ISVC_LABEL


@dataclass(frozen=True)
class TrafficTarget:
    """One entry of status.components.predictor.traffic."""

    revision: str
    percent: int
    tag: str | None = None
    latest: bool = False

    def describe(self) -> str:
        tag = f" ({self.tag})" if self.tag else ""
        return f"{self.revision}{tag} {self.percent}%"


@dataclass(frozen=True)
class ApiStatus:
    """What `kserve-bridge get` shows for one API."""

    name: str
    namespace: str
    ready: bool | None
    reason: str
    url: str | None
    traffic: list[TrafficTarget] = field(default_factory=list)
    canary_percent: int | None = None
    copies: int | None = None
    deployment_id: str | None = None
    conditions: dict[str, str] = field(default_factory=dict)
    failure: str | None = None  # why the model server's container fails (from its pods), if it does
    registered_models: list[str] = field(default_factory=list)  # models:/ paths it serves (MLflow's registry)

    @property
    def state(self) -> str:
        return {True: "Ready", False: "NotReady", None: "Unknown"}[self.ready]

    @property
    def canary(self) -> TrafficTarget | None:
        """The revision on trial: tagged `latest` while a `prev` revision still takes traffic."""
        latest = next((t for t in self.traffic if t.tag == "latest" or t.latest), None)
        return latest if latest is not None and self.stable is not None else None

    @property
    def stable(self) -> TrafficTarget | None:
        return next((t for t in self.traffic if t.tag == "prev"), None)

    def split(self) -> str:
        return ", ".join(t.describe() for t in self.traffic) or "-"


def summarize(isvc: dict) -> ApiStatus:
    """An `ApiStatus` from an InferenceService object as the API returns it."""
    meta, status = isvc.get("metadata") or {}, isvc.get("status") or {}
    conditions = {c.get("type", "?"): c for c in status.get("conditions") or []}
    ready_cond = conditions.get("Ready", {})
    ready = {"True": True, "False": False}.get(ready_cond.get("status"))
    reason = ready_cond.get("reason") or ready_cond.get("message") or ("" if ready else "waiting for status")
    predictor = (status.get("components") or {}).get("predictor") or {}
    traffic = [TrafficTarget(revision=t.get("revisionName", "?"), percent=int(t.get("percent") or 0),
                             tag=t.get("tag"), latest=bool(t.get("latestRevision")))
               for t in predictor.get("traffic") or []]
    copies = ((status.get("modelStatus") or {}).get("copies") or {}).get("totalCopies")
    return ApiStatus(
        name=meta.get("name", "?"), namespace=meta.get("namespace", ""), ready=ready, reason=reason,
        url=status.get("url") or predictor.get("url"), traffic=traffic,
        canary_percent=((isvc.get("spec") or {}).get("predictor") or {}).get("canaryTrafficPercent"),
        copies=copies, deployment_id=(meta.get("labels") or {}).get(DEPLOYMENT_ID_LABEL),
        registered_models=described((meta.get("annotations") or {}).get(REGISTRY_ANNOTATION)),
        conditions={k: f"{c.get('status')}{' ' + c['reason'] if c.get('reason') else ''}"
                    for k, c in conditions.items()})


def container_failure(pods: list[dict], container: str = SERVER_CONTAINER) -> str | None:
    """Why the model server container of these pods fails: its state (CrashLoopBackOff, restarts) and the
    termination message the server wrote (modelserver/server.py), or None when none is failing."""
    for pod in pods:
        for c in (pod.get("status") or {}).get("containerStatuses") or []:
            if c.get("name") != container:
                continue
            state, last = c.get("state") or {}, c.get("lastState") or {}
            ended = state.get("terminated") or last.get("terminated") or {}
            waiting = (state.get("waiting") or {}).get("reason")
            if not ended or ended.get("exitCode") == 0:
                continue
            how = waiting or ended.get("reason") or "Error"
            restarts = c.get("restartCount") or 0
            detail = (ended.get("message") or "").strip() or f"exit code {ended.get('exitCode')}"
            return f"{how}{f' (restarted {restarts} times)' if restarts else ''}: {detail}"
    return None


def logs_hint(name: str, namespace: str) -> str:
    """The kubectl command that shows the model server's logs."""
    return f"kubectl logs -n {namespace} -l {ISVC_LABEL}={name} -c {SERVER_CONTAINER} --tail=100"
