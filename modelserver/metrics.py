"""Prometheus metrics, exported on KServe's own /metrics (the default registry)."""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter("kserve_bridge_requests_total", "HTTP requests served", ["api", "route", "method", "code"])
ERRORS = Counter("kserve_bridge_request_errors_total", "HTTP requests answered with a 5xx status",
                 ["api", "route"])
LATENCY = Histogram("kserve_bridge_request_duration_seconds", "Request latency in seconds", ["api", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
# livesum: with processes_per_replica > 1 (prometheus_client multiprocess mode) the replica's total
IN_FLIGHT = Gauge("kserve_bridge_requests_in_flight", "Requests being served", ["api"], multiprocess_mode="livesum")
