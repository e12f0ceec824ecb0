"""The exporter of modelserver/tracing.py (imported only when tracing is on): finished request traces
wait in a bounded queue; one thread encodes them as OTLP protobuf and POSTs them
to the collector's /v1/traces in batches (OTLP/HTTP). `add` never blocks a request; a full queue or a
failed export drops spans, counted in kserve_bridge_trace_spans_dropped_total{api,reason}."""
from __future__ import annotations

import logging
import struct
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import metrics

if TYPE_CHECKING:
    from .tracing import RequestTrace

log = logging.getLogger("modelserver")
QUEUE_TRACES, BATCH_TRACES, FLUSH_S, TIMEOUT_S = 1024, 256, 1.0, 5.0
SCOPE_NAME = b"kserve-bridge"


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


# OTLP's protobuf messages, written directly (opentelemetry-proto's classes cost ~10 us a span to build;
# tests/modelserver/test_tracing.py decodes every export with them). Field numbers from
# opentelemetry/proto/{collector/trace/v1/trace_service,trace/v1/trace,common/v1/common}.proto.
def _varint(value: int) -> bytes:
    if value < 0x80:
        return _BYTE[value]
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (bytes, string, message)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _any_value(value: Any) -> bytes:
    if isinstance(value, bool):
        return b"\x10" + _varint(int(value))  # bool_value = 2
    if isinstance(value, int):
        return b"\x18" + _varint(value & 0xFFFFFFFFFFFFFFFF)  # int_value = 3 (int64)
    if isinstance(value, float):
        return b"\x21" + _fixed64.pack(value)  # double_value = 4
    return _field(1, str(value).encode())  # string_value = 1


def attributes(values: dict[str, Any], number: int = 9) -> bytes:
    """Repeated KeyValue (Span.attributes = 9, Resource.attributes = 1). Most attributes repeat from request
    to request (API, route, status): their encoding is kept, up to CACHED of them."""
    out = []
    for key, value in values.items():
        known = (number, key, value, type(value))
        encoded = _encoded.get(known)
        if encoded is None:
            encoded = _field(number, _field(1, key.encode()) + _field(2, _any_value(value)))
            if len(_encoded) < CACHED and not isinstance(value, float):
                _encoded[known] = encoded
        out.append(encoded)
    return b"".join(out)


def _span(trace_id: bytes, span_id: int, parent: bytes, name: str, kind: bytes, start: int, end: int,
          attrs: bytes, error: str) -> bytes:
    body = (b"\x0a\x10" + trace_id + b"\x12\x08" + span_id.to_bytes(8, "big")
            + (b"\x22\x08" + parent if parent else b"") + _field(5, name.encode()) + kind
            + b"\x39" + _fixed64u.pack(start) + b"\x41" + _fixed64u.pack(end) + attrs)
    if error:  # Status: message = 2, code = 3 (STATUS_CODE_ERROR = 2)
        body += _field(15, _field(2, error.encode()) + b"\x18\x02")
    return _field(2, body)  # ScopeSpans.spans = 2


SERVER, INTERNAL = b"\x30\x02", b"\x30\x01"  # Span.kind = 6
_BYTE = [bytes((i,)) for i in range(0x80)]
CACHED = 4096
_encoded: dict[tuple, bytes] = {}
_fixed64, _fixed64u = struct.Struct("<d"), struct.Struct("<Q")


def encode(traces: list[RequestTrace], resource: bytes) -> bytes:
    """ExportTraceServiceRequest for finished traces (each server span and its stages); `resource`: the
    encoded Resource message."""
    spans = []
    for trace in traces:
        trace_id, server_id = trace.trace_id.to_bytes(16, "big"), trace.span_id.to_bytes(8, "big")
        parent = trace.parent_id.to_bytes(8, "big") if trace.parent_id else b""
        spans.append(_span(trace_id, trace.span_id, parent, trace.name, SERVER, trace.start, trace.end_ns,
                           attributes(trace.attributes), trace.error))
        for stage in trace.stages:
            spans.append(_span(trace_id, stage.span_id, server_id, stage.name, INTERNAL, stage.start, stage.end_ns,
                               attributes(stage.attributes) if stage.attributes else b"", stage.error))
    scoped = _field(1, _field(1, SCOPE_NAME)) + b"".join(spans)  # ScopeSpans: scope = 1 (name = 1), spans
    return _field(1, _field(1, resource) + _field(2, scoped))  # resource_spans = 1: resource = 1, scope_spans = 2


class Exporter:
    def __init__(self, url: str, api: str, resource: dict[str, str]):
        self.url, self.resource = url, attributes(resource, number=1)
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
