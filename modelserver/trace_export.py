"""The exporter of modelserver/tracing.py (imported only when tracing is on): finished request traces
wait in a bounded queue; one thread builds them into OTLP's own protobuf messages (`opentelemetry-proto`,
the `tracing` extra) and POSTs them to the collector's /v1/traces in batches (OTLP/HTTP): nothing of
protobuf runs on the request path. `add` never blocks a request; a full queue or a
failed export drops spans, counted in kserve_bridge_trace_spans_dropped_total{api,reason}."""
from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from . import metrics

if TYPE_CHECKING:
    from .tracing import RequestTrace

log = logging.getLogger("modelserver")
QUEUE_TRACES, BATCH_TRACES, FLUSH_S, TIMEOUT_S = 1024, 256, 1.0, 5.0
SCOPE_NAME = "kserve-bridge"
SERVER, INTERNAL = trace_pb2.Span.SPAN_KIND_SERVER, trace_pb2.Span.SPAN_KIND_INTERNAL


def resource_attributes(api: str, environ: Mapping[str, str]) -> dict[str, str]:
    """service.name (OTEL_SERVICE_NAME, else the API) and OTEL_RESOURCE_ATTRIBUTES (k=v,k=v)."""
    out = {"service.name": api, "telemetry.sdk.name": "kserve-bridge", "telemetry.sdk.language": "python"}
    for pair in environ.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        key, sep, value = pair.partition("=")
        if sep and key.strip():
            out[key.strip()] = urllib.parse.unquote(value.strip())
    if environ.get("OTEL_SERVICE_NAME"):
        out["service.name"] = environ["OTEL_SERVICE_NAME"]
    return out


def _value(value: Any) -> common_pb2.AnyValue:
    if isinstance(value, bool):
        return common_pb2.AnyValue(bool_value=value)
    if isinstance(value, int):
        return common_pb2.AnyValue(int_value=value)
    if isinstance(value, float):
        return common_pb2.AnyValue(double_value=value)
    return common_pb2.AnyValue(string_value=str(value))


def key_values(values: dict[str, Any]) -> list[common_pb2.KeyValue]:
    """Attributes as KeyValue messages. Most repeat from request to request (API, route, status): their
    messages are kept, up to CACHED of them (building them is most of an export's cost)."""
    out = []
    for key, value in values.items():
        known = (key, value, type(value))
        message = _key_values.get(known)
        if message is None:
            message = common_pb2.KeyValue(key=key, value=_value(value))
            if len(_key_values) < CACHED and not isinstance(value, float):
                _key_values[known] = message
        out.append(message)
    return out


CACHED = 4096
_key_values: dict[tuple, common_pb2.KeyValue] = {}


def encode(traces: list[RequestTrace], resource: resource_pb2.Resource) -> bytes:
    """ExportTraceServiceRequest (opentelemetry-proto's classes) for finished traces: each server span
    and its stages, one resource, one instrumentation scope."""
    request = trace_service_pb2.ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add(resource=resource)
    add = resource_spans.scope_spans.add(scope=common_pb2.InstrumentationScope(name=SCOPE_NAME)).spans.add
    for trace in traces:
        trace_id, server_id = trace.trace_id.to_bytes(16, "big"), trace.span_id.to_bytes(8, "big")
        parent = trace.parent_id.to_bytes(8, "big") if trace.parent_id else b""
        _fill(add(trace_id=trace_id, span_id=server_id, parent_span_id=parent, name=trace.name, kind=SERVER,
                  start_time_unix_nano=trace.start, end_time_unix_nano=trace.end_ns), trace.attributes, trace.error)
        for stage in trace.stages:
            _fill(add(trace_id=trace_id, span_id=stage.span_id.to_bytes(8, "big"), parent_span_id=server_id,
                      name=stage.name, kind=INTERNAL, start_time_unix_nano=stage.start,
                      end_time_unix_nano=stage.end_ns), stage.attributes, stage.error)
    return request.SerializeToString()


def _fill(span: trace_pb2.Span, attributes: dict[str, Any], error: str) -> None:
    if attributes:
        span.attributes.extend(key_values(attributes))
    if error:
        span.status.code, span.status.message = trace_pb2.Status.STATUS_CODE_ERROR, error


class Exporter:
    def __init__(self, url: str, api: str, resource: dict[str, str]):
        self.url, self.resource = url, resource_pb2.Resource(attributes=key_values(resource))
        self.traces: deque[RequestTrace] = deque()
        self.wake, self.stopping = threading.Event(), False
        self.dropped_full = metrics.TRACE_SPANS_DROPPED.labels(api, "queue_full")
        self.dropped_failed = metrics.TRACE_SPANS_DROPPED.labels(api, "export_failed")
        self.exported = metrics.TRACE_SPANS_EXPORTED.labels(api)
        self.failures = 0
        self.thread = threading.Thread(target=self._run, name="trace-export", daemon=True)
        self.thread.start()

    def add(self, trace: RequestTrace) -> None:
        """Queue a finished trace (on the event loop: never blocks)."""
        if len(self.traces) >= QUEUE_TRACES:
            self.dropped_full.inc(1 + len(trace.stages))
            return
        self.traces.append(trace)
        if len(self.traces) >= BATCH_TRACES:
            self.wake.set()

    def _run(self) -> None:
        while not self.stopping:
            self.wake.wait(FLUSH_S)
            self.wake.clear()
            self.flush()

    def flush(self) -> None:
        while self.traces:
            batch = [self.traces.popleft() for _ in range(min(BATCH_TRACES, len(self.traces)))]
            spans = sum(1 + len(t.stages) for t in batch)
            if self._post(encode(batch, self.resource)):
                self.exported.inc(spans)
            else:
                self.dropped_failed.inc(spans)

    def _post(self, body: bytes) -> bool:
        request = urllib.request.Request(self.url, data=body, method="POST",
                                         headers={"Content-Type": "application/x-protobuf"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                response.read()
            self.failures = 0
            return True
        except (urllib.error.URLError, OSError, ValueError) as exc:
            self.failures += 1
            if self.failures in (1, 10, 100) or self.failures % 1000 == 0:  # a dead collector: few lines
                log.warning("trace export to %s failed (%d in a row): %s", self.url, self.failures, exc)
            return False

    def shutdown(self) -> None:
        """Deliver what is queued (the POST timeout bounds it), then stop the thread."""
        self.stopping = True
        self.wake.set()
        self.thread.join(TIMEOUT_S * 2)
        self.flush()
