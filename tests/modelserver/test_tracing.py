"""Tracing on a real model server: its OTLP/HTTP exports are received by a real HTTP server on loopback
and decoded with opentelemetry-proto. Continuity of the caller's trace, parent/child links, attributes,
error status, over HTTP and over gRPC (kserve's InferenceGRPCClient), sampling (the caller's decision,
probes never), a dead collector costing only spans, and a missing `tracing` extra turning tracing off."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import httpx
import pytest
from kserve import InferenceGRPCClient, InferInput, InferRequest

from tests.modelserver.conftest import REPO, free_port, make_project, metric, wait_for

trace_service = pytest.importorskip("opentelemetry.proto.collector.trace.v1.trace_service_pb2")

SPEC = """
- name: traced
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    server_side_batching: {max_batch_size: 4, batch_interval: 5ms}
"""
PREDICTOR = """
class PythonPredictor:
    def __init__(self, config):
        pass

    def predict(self, payload):
        if any(p.get("fail") for p in payload):
            raise ValueError("asked to fail")
        return [{"y": 2 * p.get("x", 0)} for p in payload]
"""
TRACE, PARENT = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


class Collector:
    """An OTLP/HTTP trace receiver: every span it was sent, decoded."""

    def __init__(self):
        self.spans: list = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = trace_service.ExportTraceServiceRequest.FromString(body)
                collector.spans += [(r.resource, s) for r in request.resource_spans for ss in r.scope_spans
                                    for s in ss.spans]
                out = trace_service.ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def of_trace(self, trace_id: str) -> dict[str, object]:
        return {s.name: s for _, s in self.spans if s.trace_id.hex() == trace_id}


def attributes(span) -> dict:
    return {a.key: getattr(a.value, a.value.WhichOneof("value")) for a in span.attributes}


def server_env(collector_url: str, **extra: str) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)  # opentelemetry-proto
    return {"PYTHONPATH": path, "OTEL_EXPORTER_OTLP_ENDPOINT": collector_url, "OTEL_TRACES_SAMPLER":
            "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0", "KSERVE_BRIDGE_DEPLOYMENT_ID": "dep-7", **extra}


def traceparent(trace: str, flags: str = "01") -> dict[str, str]:
    return {"traceparent": f"00-{trace}-{PARENT}-{flags}"}


@pytest.fixture(scope="module")
def traced(tmp_path_factory, module_servers):
    """A server (HTTP, and gRPC at the third item's address) tracing to a collector."""
    collector, port = Collector(), free_port()
    project = make_project(tmp_path_factory.mktemp("tracing") / "p", SPEC, PREDICTOR)
    yield module_servers(project, env=server_env(collector.url), args=["--grpc_port", str(port)]), collector, \
        f"127.0.0.1:{port}"
    collector.server.shutdown()


def grpc_infer(url: str, trace: str, model: str = "traced", **inputs: float):
    """One ModelInfer call with kserve's InferenceGRPCClient, the caller's traceparent in its metadata."""
    request = InferRequest(model_name=model, infer_inputs=[InferInput(k, [1], "FP32", [v]) for k, v in inputs.items()])

    async def run():
        async with InferenceGRPCClient(url, timeout=120) as client:
            return await client.infer(request, headers=list(traceparent(trace).items()))
    return asyncio.run(run())


def test_a_sampled_request_continues_the_callers_trace_with_stage_spans(traced):
    server, collector, _ = traced
    answer = httpx.post(f"{server.url}/traced", json={"x": 3}, headers=traceparent(TRACE))
    assert answer.json() == {"y": 6}
    spans = wait_for(lambda: len(collector.of_trace(TRACE)) >= 5 and collector.of_trace(TRACE), "5 spans")
    root = spans["POST /traced"]
    assert root.parent_span_id.hex() == PARENT and root.kind == root.SPAN_KIND_SERVER
    assert {name: s.parent_span_id for name, s in spans.items() if s is not root} == {
        name: root.span_id for name in ("read body", "decode", "predict", "encode")}
    assert attributes(root) == {"http.request.method": "POST", "url.path": "/traced", "http.route": "/traced",
                                "http.response.status_code": 200, "kserve_bridge.api": "traced",
                                "kserve_bridge.model": "traced", "kserve_bridge.version": "dep-7"}
    batch = attributes(spans["predict"])
    assert batch["kserve_bridge.batch.size"] == 1 and 0 <= batch["kserve_bridge.batch.wait_s"] < 60
    assert root.status.code != root.status.STATUS_CODE_ERROR
    assert all(root.start_time_unix_nano <= s.start_time_unix_nano <= s.end_time_unix_nano <= root.end_time_unix_nano
               for s in spans.values())
    resource = next(r for r, s in collector.spans if s.trace_id.hex() == TRACE)
    assert {a.key: a.value.string_value for a in resource.attributes}["service.name"] == "traced"


def test_a_failure_has_error_status(traced):
    server, collector, _ = traced
    trace = "1" * 32
    assert httpx.post(f"{server.url}/v1/models/traced:predict", json={"fail": True},
                      headers=traceparent(trace)).status_code == 500
    spans = wait_for(lambda: "predict" in collector.of_trace(trace) and collector.of_trace(trace), "error spans")
    root = spans["POST /v1/models/{model_name}:predict"]
    assert attributes(root)["http.response.status_code"] == 500 and root.status.code == root.status.STATUS_CODE_ERROR
    assert spans["predict"].status.code == root.status.STATUS_CODE_ERROR
    assert "asked to fail" in spans["predict"].status.message


def test_a_grpc_call_continues_the_callers_trace_with_rpc_attributes(traced):
    _, collector, url = traced
    trace = "5" * 32
    assert grpc_infer(url, trace, x=3.0).outputs[0].as_numpy().tolist() == [6.0]
    spans = wait_for(lambda: len(collector.of_trace(trace)) >= 4 and collector.of_trace(trace), "4 spans")
    root = spans["inference.GRPCInferenceService/ModelInfer"]
    assert root.parent_span_id.hex() == PARENT and root.kind == root.SPAN_KIND_SERVER
    assert {name: s.parent_span_id for name, s in spans.items() if s is not root} == {
        name: root.span_id for name in ("decode", "predict", "encode")}
    assert attributes(root) == {"rpc.system": "grpc", "rpc.service": "inference.GRPCInferenceService",
                                "rpc.method": "ModelInfer", "rpc.grpc.status_code": grpc.StatusCode.OK.value[0],
                                "kserve_bridge.api": "traced", "kserve_bridge.model": "traced",
                                "kserve_bridge.version": "dep-7"}
    assert root.status.code != root.status.STATUS_CODE_ERROR
    assert attributes(spans["predict"])["kserve_bridge.batch.size"] == 1
    assert all(root.start_time_unix_nano <= s.start_time_unix_nano <= s.end_time_unix_nano <= root.end_time_unix_nano
               for s in spans.values())


def test_a_failing_grpc_call_has_error_status_and_a_client_error_does_not(traced):
    _, collector, url = traced
    failed, unknown = "6" * 32, "7" * 32
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        grpc_infer(url, failed, x=1.0, fail=1.0)
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        grpc_infer(url, unknown, model="nope", x=1.0)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    name = "inference.GRPCInferenceService/ModelInfer"
    spans = wait_for(lambda: {"predict", name} <= set(collector.of_trace(failed)) and collector.of_trace(failed),
                     "the failed call's spans")
    root = spans[name]
    assert attributes(root)["rpc.grpc.status_code"] == grpc.StatusCode.INTERNAL.value[0]
    assert root.status.code == root.status.STATUS_CODE_ERROR and root.status.message.startswith("INTERNAL")
    assert spans["predict"].status.code == root.status.STATUS_CODE_ERROR
    assert "asked to fail" in spans["predict"].status.message and "asked to fail" in root.status.message
    root = wait_for(lambda: collector.of_trace(unknown).get(name), "the unknown model's server span")
    assert attributes(root)["rpc.grpc.status_code"] == grpc.StatusCode.NOT_FOUND.value[0]
    assert attributes(root)["kserve_bridge.model"] == "nope"
    assert root.status.code != root.status.STATUS_CODE_ERROR  # the caller's mistake, as a 4xx over HTTP


def test_unsampled_requests_and_probes_are_not_traced(traced):
    server, collector, _ = traced
    sampled, unsampled, none = "2" * 32, "3" * 32, "4" * 32
    for path in ("/healthz", "/readyz", "/metrics"):
        assert httpx.get(server.url + path, headers=traceparent(none)).status_code == 200
    assert httpx.post(f"{server.url}/traced", json={"x": 1}, headers=traceparent(unsampled, "00")).status_code == 200
    assert httpx.post(f"{server.url}/traced", json={"x": 1}).status_code == 200  # ratio 0: no new traces
    assert httpx.post(f"{server.url}/traced", json={"x": 1}, headers=traceparent(sampled)).status_code == 200
    wait_for(lambda: collector.of_trace(sampled), "the sampled request's spans")  # exported after the others
    traces = {s.trace_id.hex() for _, s in collector.spans}
    assert none not in traces and unsampled not in traces
    assert len({s.trace_id.hex() for _, s in collector.spans if s.parent_span_id.hex() != PARENT
                and s.name.startswith("POST")}) == 0  # no root span of its own: ratio 0


def test_a_dead_collector_drops_counted_spans_and_requests_still_answer(tmp_path, serve):
    dead = Collector()
    dead.server.shutdown()
    dead.server.server_close()  # nothing listens there any more
    project = make_project(tmp_path / "p", SPEC, PREDICTOR)
    server = serve(project, env=server_env(dead.url))
    for i in range(20):
        answer = httpx.post(f"{server.url}/traced", json={"x": i}, headers=traceparent(f"{i + 1:032x}"))
        assert answer.status_code == 200
    wait_for(lambda: metric(server.url, "kserve_bridge_trace_spans_dropped_total", reason="export_failed") >= 100,
             "the spans of 20 requests counted as dropped")


def test_tracing_off_imports_nothing_of_opentelemetry():
    code = ("import sys\nfrom modelserver import tracing\n"
            "print(tracing.configure('a', None, {'OTEL_TRACES_SAMPLER': 'always_on'}), "
            "'opentelemetry.proto' in sys.modules or 'modelserver.trace_export' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, check=True).stdout
    assert out.split() == ["None", "False"]


def test_without_opentelemetry_proto_tracing_is_off_with_one_line():
    code = ("import logging, sys\nsys.modules['opentelemetry.proto'] = None  # as if the extra were not installed\n"
            "logging.basicConfig(format='%(levelname)s %(message)s')\nfrom modelserver import tracing\n"
            "print(tracing.configure('a', None, {'OTEL_EXPORTER_OTLP_ENDPOINT': 'http://127.0.0.1:9'}))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, check=True)
    assert run.stdout.split() == ["None"]
    warnings = [line for line in run.stderr.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1 and "tracing is off" in warnings[0] and "kserve-bridge[tracing]" in warnings[0]
