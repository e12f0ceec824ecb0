"""OpenTelemetry traces of the model server (kserve.tracing, or the standard OTEL_* variables).

Off unless OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT is set (`convert` sets
them from kserve.tracing); then, and only then, the exporter (modelserver/trace_export.py) is
imported. Sampling is decided from the W3C `traceparent` header alone: a request the caller sampled
is always traced, one it did not sample never is, others with probability OTEL_TRACES_SAMPLER_ARG
(parentbased_traceidratio; always_on/off as named); health, readiness and metrics probes never. An
unsampled request costs a header scan and a random number.

A traced request gets a SERVER span continuing the caller's trace (route, status, API, model, version =
the deployment id) and children for the stages around the predictor (`stage`: read body, decode,
predict with its batch, encode); a 5xx answer, or a stage that raises, has error status. Spans are
recorded as plain objects; the exporter's own thread builds them into opentelemetry-proto's messages (the
`tracing` extra; without it, tracing stays off with one warning): the OpenTelemetry SDK's span machinery
cost ~400 us per traced request here, eight times the budget (docs/monitoring.md).

gRPC calls (modelserver/grpc_service.py) get the same through `begin_rpc(service, method, model,
traceparent)` and `RequestTrace.end(code, error=message)`: span `service/method`, rpc.* attributes.
"""
from __future__ import annotations

import logging
import os
import random
import re
from collections.abc import Mapping
from contextvars import ContextVar
from time import time_ns
from typing import Any

log = logging.getLogger("modelserver")
TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
ZERO_TRACE, ZERO_SPAN = "0" * 32, "0" * 16  # invalid ids (W3C trace context)
HTTP_STATUS, RPC_STATUS = "http.response.status_code", "rpc.grpc.status_code"  # the server span's status attribute
PROBES = frozenset({"/healthz", "/readyz", "/metrics", "/v2/health/live", "/v2/health/ready", "/"})
CURRENT: ContextVar[RequestTrace | None] = ContextVar("kserve_bridge_trace", default=None)
_tracer: Tracer | None = None
_ids = random.Random()  # span and trace ids (not the sampling decision's stream)


class _Untraced:
    """What `stage` gives when the request is not traced: a context manager that does nothing."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NOTHING = _Untraced()


def endpoint_from_env(environ: Mapping[str, str]) -> str | None:
    """Where traces go (OTLP/HTTP), or None: tracing off."""
    if environ.get("OTEL_SDK_DISABLED", "").lower() == "true" or environ.get("OTEL_TRACES_EXPORTER") == "none":
        return None
    url = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if not url and environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        url = environ["OTEL_EXPORTER_OTLP_ENDPOINT"].rstrip("/") + "/v1/traces"
    return url or None


def ratio_from_env(environ: Mapping[str, str]) -> float:
    """The share of requests without a caller's decision that are traced (OTEL_TRACES_SAMPLER[_ARG])."""
    sampler = environ.get("OTEL_TRACES_SAMPLER", "parentbased_always_on")
    if sampler.endswith("always_off"):
        return 0.0
    if sampler.endswith("traceidratio"):
        try:
            return min(1.0, max(0.0, float(environ.get("OTEL_TRACES_SAMPLER_ARG", "1.0"))))
        except ValueError:
            log.warning("OTEL_TRACES_SAMPLER_ARG is not a number; tracing every request")
    return 1.0


def configure(api: str, version: str | None, environ: Mapping[str, str] | None = None) -> Tracer | None:
    """Set up tracing for this process from the environment; None (nothing imported) when off."""
    global _tracer
    env = os.environ if environ is None else environ
    url = endpoint_from_env(env)
    _tracer = None
    if url:
        try:
            _tracer = Tracer(api, version, url, ratio_from_env(env), env)
        except ImportError as exc:  # opentelemetry-proto (the `tracing` extra) is not installed
            log.warning("tracing is off: %s is set but %s (pip install 'kserve-bridge[tracing]')",
                        "OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT", exc)
    return _tracer


def tracer() -> Tracer | None:
    return _tracer


def begin_rpc(service: str, method: str, model: str, traceparent: str | None) -> RequestTrace | None:
    """The server span of one gRPC call, or None: tracing off or not sampled."""
    return _tracer.begin_rpc(service, method, model, traceparent) if _tracer is not None else None


def stage(name: str) -> Any:
    """A child span of the current request's trace around a stage (`with stage("decode") as span:`);
    `span` is None when the request is not traced (then nothing at all is recorded)."""
    trace = CURRENT.get()
    return _NOTHING if trace is None else Stage(trace, name)


class Tracer:
    def __init__(self, api: str, version: str | None, url: str, ratio: float, environ: Mapping[str, str]):
        from .trace_export import Exporter, resource_attributes

        self.api, self.version, self.ratio = api, version, ratio
        self.exporter = Exporter(url, api, resource_attributes(api, environ))
        log.info("tracing to %s (share of requests without a caller's decision traced: %g)", url, ratio)

    def sampled(self, traceparent: str | None) -> tuple[int, int] | bool | None:
        """(trace id, parent span id) of a sampled caller; True: a new trace; None: not traced."""
        if traceparent:
            match = TRACEPARENT.match(traceparent)
            if match:
                trace_id, parent, flags = match.groups()
                if trace_id != ZERO_TRACE and parent != ZERO_SPAN:
                    if flags[1] not in "13579bdf":  # the sampled bit is not set: the caller decided
                        return None
                    return int(trace_id, 16), int(parent, 16)
        return True if self.ratio >= 1.0 or random.random() < self.ratio else None

    def begin_http(self, scope: dict) -> RequestTrace | None:
        """The trace of one HTTP request (ASGI scope), or None: not sampled, or a probe."""
        path = scope["path"]
        if path in PROBES or scope["method"] != "POST":
            return None
        traceparent = None
        for key, value in scope["headers"]:
            if key == b"traceparent":
                traceparent = value.decode("latin-1")
                break
        decision = self.sampled(traceparent)
        if decision is None:
            return None
        return RequestTrace(self, decision, f"POST {path}", HTTP_STATUS, self.api,
                            {"http.request.method": "POST", "url.path": path})

    def begin_rpc(self, service: str, method: str, model: str, traceparent: str | None) -> RequestTrace | None:
        """The trace of one gRPC call (`traceparent` from its metadata), or None: not sampled."""
        decision = self.sampled(traceparent)
        if decision is None:
            return None
        return RequestTrace(self, decision, f"{service}/{method}", RPC_STATUS, model,
                            {"rpc.system": "grpc", "rpc.service": service, "rpc.method": method})


class RequestTrace:
    """The spans of one request: the server span (these fields) and its children (`stages`)."""

    __slots__ = ("tracer", "trace_id", "parent_id", "span_id", "name", "start", "end_ns", "attributes", "error",
                 "stages", "status_key")

    def __init__(self, tracer: Tracer, parent: tuple[int, int] | bool, name: str, status_key: str, model: str,
                 attributes: dict[str, Any]):
        self.tracer, self.status_key = tracer, status_key
        self.trace_id, self.parent_id = parent if isinstance(parent, tuple) else (_ids.getrandbits(128) or 1, 0)
        self.span_id = _ids.getrandbits(64) or 1
        self.name, self.start, self.end_ns, self.error = name, time_ns(), 0, ""
        self.attributes = attributes
        attributes["kserve_bridge.api"], attributes["kserve_bridge.model"] = tracer.api, model
        if tracer.version:
            attributes["kserve_bridge.version"] = tracer.version
        self.stages: list[Stage] = []

    def end(self, status: int, route: str | None = None, error: str | None = None) -> None:
        """Close the server span: the HTTP route served and status (5xx: error status), or a gRPC call's
        status code and `error`, the message of a failure that is the server's (error status)."""
        if route is not None:
            self.name = f"POST {route}"
            self.attributes["http.route"] = route
        self.attributes[self.status_key] = status
        if error is not None:
            self.error = error
        elif self.status_key == HTTP_STATUS and status >= 500:
            self.error = f"status {status}"
        self.end_ns = time_ns()
        self.tracer.exporter.add(self)


class Stage:
    """A child span of a request's server span, as a context manager."""

    __slots__ = ("trace", "name", "span_id", "start", "end_ns", "attributes", "error")

    def __init__(self, trace: RequestTrace, name: str):
        self.trace, self.name, self.error = trace, name, ""
        self.attributes: dict[str, Any] = {}

    def set_attribute(self, key: str, value: Any) -> None:
        self.attributes[key] = value

    def __enter__(self) -> Stage:
        self.start = time_ns()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        self.end_ns = time_ns()
        self.span_id = _ids.getrandbits(64) or 1
        if exc is not None:
            self.error = f"{kind.__name__ if kind else 'error'}: {exc}"
        self.trace.stages.append(self)
