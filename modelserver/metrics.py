"""Prometheus metrics, exported on /metrics: this process's (the default registry) or, with
processes_per_replica > 1 (PROMETHEUS_MULTIPROC_DIR set by the supervisor), the whole replica's."""
from __future__ import annotations

import json
import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, exposition, multiprocess

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
MODEL_LOAD = Gauge("kserve_bridge_model_load_seconds", "Seconds the API took to load (predictor and models)",
                   ["api"])
READY = Gauge("kserve_bridge_api_ready", "1 once the API is loaded and ready, else 0", ["api"])
ALERT_THRESHOLD = Gauge("kserve_bridge_alert_threshold", "The API's alert thresholds (kserve.alerts), read by "
                        "manifests/monitoring's PrometheusRule", ["api", "threshold"])


def export_thresholds(api: str, environ: dict | None = None) -> None:
    """Publish the API's thresholds (KSERVE_BRIDGE_ALERTS, else the defaults) as gauges."""
    raw = (os.environ if environ is None else environ).get(ALERTS_ENV)
    for name, value in {**DEFAULT_ALERTS, **(json.loads(raw) if raw else {})}.items():
        ALERT_THRESHOLD.labels(api, name).set(value)


_replica: list[CollectorRegistry] = []  # built on first use, in a replica's process


def exposition_for(accept: str) -> tuple[bytes, str]:
    """/metrics' body and content type for a request's Accept header."""
    registry = REGISTRY
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        if not _replica:
            _replica.append(CollectorRegistry())
            multiprocess.MultiProcessCollector(_replica[0])
        registry = _replica[0]
    encoder, content_type = exposition.choose_encoder(accept)
    return encoder(registry), content_type
