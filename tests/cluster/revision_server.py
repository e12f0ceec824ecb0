"""One stand-in Knative revision for the rollout tests: a real HTTP server running a
tiny predictor, exporting the metrics Knative's queue-proxy exports for a revision
(revision_app_request_count, revision_app_request_latencies in ms) with
prometheus_client. Prometheus adds revision_name/namespace_name at scrape time.

    python tests/cluster/revision_server.py [--fail-every N] [--delay-ms MS]

prints its port on stdout once it listens.
"""
from __future__ import annotations

import argparse
import json
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import UnknownMetricFamily

BUCKETS_MS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)


class Predictor:
    """Sums the inputs; a faulty build raises on every `fail_every`-th value."""

    def __init__(self, fail_every: int, delay_ms: float):
        self.fail_every, self.delay_ms = fail_every, delay_ms

    def predict(self, payload: dict) -> dict:
        time.sleep(self.delay_ms / 1000)
        x = int(payload["x"])
        if self.fail_every and x % self.fail_every == 0:
            raise RuntimeError(f"cannot handle {x}")
        return {"y": x * 2}


class RequestCounts:
    """Counter without the `_total` suffix, as queue-proxy names it."""

    def __init__(self):
        self.counts: Counter = Counter({("200", "2xx"): 0, ("500", "5xx"): 0})
        self.lock = threading.Lock()

    def add(self, code: int) -> None:
        with self.lock:
            self.counts[(str(code), f"{code // 100}xx")] += 1

    def collect(self):
        family = UnknownMetricFamily("revision_app_request_count", "requests by response code",
                                     labels=["response_code", "response_code_class"])
        with self.lock:
            for labels, value in sorted(self.counts.items()):
                family.add_metric(list(labels), value)
        yield family


def serve(fail_every: int, delay_ms: float) -> ThreadingHTTPServer:
    registry = CollectorRegistry()
    counts = RequestCounts()
    registry.register(counts)
    latency = Histogram("revision_app_request_latencies", "request latency in ms",
                        buckets=BUCKETS_MS, registry=registry)
    predictor = Predictor(fail_every, delay_ms)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle/delayed-ACK stalls

        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._reply(200, generate_latest(registry), "text/plain; version=0.0.4")
            else:
                self._reply(404, b"{}")

        def do_POST(self) -> None:
            start = time.perf_counter()
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                code, data = 200, json.dumps(predictor.predict(json.loads(body))).encode()
            except Exception as exc:  # the predictor's failure becomes a 500, as in the model server
                code, data = 500, json.dumps({"error": str(exc)}).encode()
            counts.add(code)
            latency.observe((time.perf_counter() - start) * 1000)
            self._reply(code, data)

        def _reply(self, code: int, data: bytes, ctype: str = "application/json") -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    return server


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--fail-every", type=int, default=0)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    httpd = serve(args.fail_every, args.delay_ms)
    print(httpd.server_address[1], flush=True)
    httpd.serve_forever()
