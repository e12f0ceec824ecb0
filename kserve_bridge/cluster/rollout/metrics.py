"""Revision health from Prometheus: request count, error rate and p99 latency.

A `MetricsSource` is three PromQL templates; `{revision}`, `{namespace}` and
`{window}` are filled in per query. Two presets: `KNATIVE` (queue-proxy
metrics, present for every Serverless revision) and `MODELSERVER` (the
model server's own kserve_bridge_* metrics; needs a scrape config that copies
the pod label serving.knative.dev/revision to `revision_name`).
"""
from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from ...errors import ClusterError


class MetricsUnavailable(ClusterError):
    """Prometheus could not be queried, so no decision can be made."""


@dataclass(frozen=True)
class MetricsSource:
    """PromQL templates for one revision over a window; latency converted to ms by `latency_to_ms`."""

    name: str
    requests: str
    errors: str
    p99_latency: str
    latency_to_ms: float = 1.0

    def render(self, template: str, revision: str, namespace: str, window: str) -> str:
        return template.format(revision=revision, namespace=namespace, window=window)


_KN = 'revision_name="{revision}",namespace_name="{namespace}"'
KNATIVE = MetricsSource(
    name="knative",
    requests=f"sum(increase(revision_app_request_count{{{{{_KN}}}}}[{{window}}]))",
    errors=f'sum(increase(revision_app_request_count{{{{{_KN},response_code_class="5xx"}}}}[{{window}}]))',
    p99_latency=("histogram_quantile(0.99, sum by (le) "
                 f"(rate(revision_app_request_latencies_bucket{{{{{_KN}}}}}[{{window}}])))"),
    latency_to_ms=1.0)

_MS = 'revision_name="{revision}",namespace="{namespace}"'
MODELSERVER = MetricsSource(
    name="modelserver",
    requests=f'sum(increase(kserve_bridge_requests_total{{{{{_MS},method="POST"}}}}[{{window}}]))',
    errors=f"sum(increase(kserve_bridge_request_errors_total{{{{{_MS}}}}}[{{window}}]))",
    p99_latency=("histogram_quantile(0.99, sum by (le) "
                 f'(rate(kserve_bridge_request_duration_seconds_bucket{{{{{_MS},route!="/metrics"}}}}[{{window}}])))'),
    latency_to_ms=1000.0)

SOURCES = {s.name: s for s in (KNATIVE, MODELSERVER)}


@dataclass(frozen=True)
class RevisionHealth:
    """Figures for one revision over the window; `requests` is None when Prometheus has
    no series for the revision at all (as opposed to a series that counted 0)."""

    revision: str
    requests: float | None
    errors: float
    p99_ms: float | None
    queries: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def has_data(self) -> bool:
        return self.requests is not None

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def describe(self) -> str:
        if self.requests is None:
            return f"{self.revision}: no metrics in the window"
        p99 = "n/a" if self.p99_ms is None else f"{self.p99_ms:.0f}ms"
        return (f"{self.revision}: {self.requests:.0f} req, {self.errors:.0f} errors "
                f"({self.error_rate:.2%}), p99 {p99}")

    def to_dict(self) -> dict:
        return {"revision": self.revision, "requests": self.requests, "errors": self.errors,
                "error_rate": None if self.requests is None else self.error_rate,
                "p99_ms": self.p99_ms, "queries": dict(self.queries)}


class Prometheus:
    """Instant queries over Prometheus' HTTP API (/api/v1/query)."""

    def __init__(self, url: str, timeout: float = 10.0):
        self.url, self.timeout = url.rstrip("/"), timeout

    def query(self, promql: str, at: float | None = None) -> float | None:
        """The single value of an instant query (evaluated at unix time `at`, default now),
        or None when it has no (finite) value."""
        params = {"query": promql} if at is None else {"query": promql, "time": f"{at:.3f}"}
        address = f"{self.url}/api/v1/query?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(address, timeout=self.timeout) as response:
                body = json.load(response)
        except urllib.error.HTTPError as exc:
            raise MetricsUnavailable(f"Prometheus at {self.url} refused {promql!r}: HTTP {exc.code} "
                                     f"{exc.read(300).decode(errors='replace')}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise MetricsUnavailable(f"cannot query Prometheus at {self.url}: {exc}") from exc
        if body.get("status") != "success":
            raise MetricsUnavailable(f"Prometheus query {promql!r} failed: {body.get('error')}")
        result = body["data"]["result"]
        if not result:
            return None
        value = float(result[0]["value"][1])
        return value if math.isfinite(value) else None

    def health(self, source: MetricsSource, revision: str, namespace: str, window: str,
               at: float | None = None) -> RevisionHealth:
        """Requests, errors and p99 latency of one revision over `window` (e.g. `60s`) ending at `at`."""
        queries = {what: source.render(template, revision, namespace, window) for what, template in
                   (("requests", source.requests), ("errors", source.errors), ("p99", source.p99_latency))}
        values = {what: self.query(promql, at) for what, promql in queries.items()}
        p99 = values["p99"]
        return RevisionHealth(revision=revision, requests=values["requests"], errors=values["errors"] or 0.0,
                              p99_ms=None if p99 is None else p99 * source.latency_to_ms, queries=queries)
