"""Prometheus metrics, exported on /metrics: this process's (the default registry) or, with
processes_per_replica > 1 (PROMETHEUS_MULTIPROC_DIR set by the supervisor), the whole replica's."""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, exposition, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from kserve_bridge.contract import ALERTS_ENV, DEFAULT_ALERTS

REQUESTS = Counter("kserve_bridge_requests_total", "HTTP requests served", ["api", "route", "method", "code"])
ERRORS = Counter("kserve_bridge_request_errors_total", "HTTP requests answered with a 5xx status",
                 ["api", "route"])
LATENCY = Histogram("kserve_bridge_request_duration_seconds", "Request latency in seconds", ["api", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
# livesum: with processes_per_replica > 1 (prometheus_client multiprocess mode) the replica's total
IN_FLIGHT = Gauge("kserve_bridge_requests_in_flight", "Requests being served", ["api"], multiprocess_mode="livesum")
BATCH_SIZE = Histogram("kserve_bridge_batch_size", "Requests per server-side batch", ["api", "model"],
                       buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024))
# Gauges below: "live" modes, so a dead process's value leaves /metrics (the supervisor marks it dead).
MODEL_LOAD = Gauge("kserve_bridge_model_load_seconds", "Seconds the API took to load (predictor and models)",
                   ["api"], multiprocess_mode="livemax")
READY = Gauge("kserve_bridge_api_ready", "1 once the API is loaded and ready, else 0", ["api"],
              multiprocess_mode="livemax")
ALERT_THRESHOLD = Gauge("kserve_bridge_alert_threshold", "The API's alert thresholds (kserve.alerts), read by "
                        "manifests/monitoring's PrometheusRule", ["api", "threshold"], multiprocess_mode="livemax")
# Run when /metrics is scraped, before the exposition: drift's counts, kept in plain lists on the hot path,
# reach their counters here.
BEFORE_SCRAPE: list[Callable[[], None]] = []
# Drift (modelserver/drift.py): bins come from the spec (kserve.monitoring.drift), never from the traffic.
FEATURE_OBSERVATIONS = Counter("kserve_bridge_feature_observations", "Observed values of a feature per bin "
                               "(kserve.monitoring.drift)", ["api", "feature", "bin"])
FEATURE_REFERENCE = Gauge("kserve_bridge_feature_reference_ratio", "Share of the reference data in each bin of "
                          "a feature (kserve.monitoring.drift)", ["api", "feature", "bin"],
                          multiprocess_mode="livemax")

# Tracing (modelserver/tracing.py): spans that never reached the collector.
TRACE_SPANS_DROPPED = Counter("kserve_bridge_trace_spans_dropped", "Trace spans lost: export queue full or the "
                              "collector failing", ["api", "reason"])
TRACE_SPANS_EXPORTED = Counter("kserve_bridge_trace_spans_exported", "Trace spans the collector accepted", ["api"])


class Requests:
    """One API's request series (count, latency, 5xx), cached per route, method and status: every
    HTTP route (BridgeMiddleware) and every gRPC call (grpc_service, as an HTTP/2 POST) counts here."""

    def __init__(self, api: str):
        self.api = api
        self.series: dict[tuple[str, str, int], tuple] = {}

    def record(self, route: str, method: str, code: int, seconds: float) -> None:
        key = (route, method, code)
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = (REQUESTS.labels(self.api, route, method, str(code)),
                                         LATENCY.labels(self.api, route),
                                         ERRORS.labels(self.api, route) if code >= 500 else None)
        series[0].inc()
        series[1].observe(seconds)
        if series[2] is not None:
            series[2].inc()


def export_thresholds(api: str, environ: dict | None = None) -> None:
    """Publish the API's thresholds (KSERVE_BRIDGE_ALERTS, else the defaults) as gauges."""
    raw = (os.environ if environ is None else environ).get(ALERTS_ENV)
    for name, value in {**DEFAULT_ALERTS, **(json.loads(raw) if raw else {})}.items():
        ALERT_THRESHOLD.labels(api, name).set(value)


class Processes:
    """The replica's processes, read when /metrics is scraped (a replica's shared state, or this one
    process): configured, live with the predictor loaded, and restarts after a process exited. A rule
    alerts when fewer are ready than configured (manifests/monitoring, KServeBridgeReplicaDegraded)."""

    def __init__(self, api: str, read: Callable[[], tuple[int, int, int]]):
        self.api, self.read = api, read

    def collect(self) -> Iterator[Metric]:
        configured, ready, restarts = self.read()
        for family, value in ((GaugeMetricFamily("kserve_bridge_processes", "Server processes configured per "
                                                 "replica (processes_per_replica)", labels=["api"]), configured),
                              (GaugeMetricFamily("kserve_bridge_processes_ready", "Live server processes whose "
                                                 "predictor is loaded", labels=["api"]), ready),
                              (CounterMetricFamily("kserve_bridge_process_restarts", "Server processes restarted "
                                                   "after they exited", labels=["api"]), restarts)):
            family.add_metric([self.api], value)
            yield family


_registry: list[CollectorRegistry] = []  # what /metrics exposes, set by `export_processes`


def export_processes(processes: Processes) -> None:
    """Expose `processes` on /metrics, with, in a replica (PROMETHEUS_MULTIPROC_DIR set by the
    supervisor), every process's series instead of this process's."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    registry.register(processes)
    _registry[:] = [registry]


def exposition_for(accept: str) -> tuple[bytes, str]:
    """/metrics' body and content type for a request's Accept header."""
    for hook in BEFORE_SCRAPE:
        hook()
    encoder, content_type = exposition.choose_encoder(accept)
    return encoder(_registry[0] if _registry else REGISTRY), content_type
