"""Monitoring and audit: `kserve.logger` -> `spec.predictor.logger` (KServe's agent sidecar logs payloads);
`kserve.alerts` -> the thresholds the model server exports for the PrometheusRule;
`kserve.monitoring.drift` -> bins and reference shares in the server settings (kserve_bridge/drift.py).

The deployment id rides along as an annotation listed in `metadataAnnotations`, so that
every record names the deployment that answered (the `ce-annotations` attribute).
"""
from __future__ import annotations

import json
from pathlib import Path

from ..contract import DEPLOYMENT_ID_LABEL, ServerSettings, canonical_header
from ..spec.models import Alerts, PayloadLogger, RealtimeAPI
from ..spec.units import format_duration
from .record import Record

DEPLOYMENT_ID_ANNOTATION = DEPLOYMENT_ID_LABEL


def alert_thresholds(alerts: Alerts) -> str:
    """The value of KSERVE_BRIDGE_ALERTS (contract.py) for one API."""
    return json.dumps({"latency_p99_seconds": alerts.latency_p99, "error_ratio": alerts.error_rate,
                       "drift_psi": alerts.drift_psi}, sort_keys=True, separators=(",", ":"))


def tracing_env(api: RealtimeAPI, deployment_id: str | None) -> dict[str, str]:
    """kserve.tracing as the standard OpenTelemetry variables the model server reads (modelserver/tracing.py)."""
    tracing = api.kserve.tracing
    if tracing is None:
        return {}
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": tracing.endpoint.rstrip("/"), "OTEL_SERVICE_NAME": api.name,
           "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": f"{tracing.sample_ratio:g}"}
    if deployment_id:
        env["OTEL_RESOURCE_ATTRIBUTES"] = f"service.version={deployment_id}"
    return env


def drift_record(api: RealtimeAPI, settings: ServerSettings, project: Path | None, rec: Record) -> None:
    """What kserve.monitoring.drift became (`convert --explain`)."""
    drift = api.kserve.monitoring.drift if api.kserve.monitoring else None
    if drift is None:
        return
    if project is None:
        rec.warn("kserve.monitoring.drift: no project folder to read the reference from; drift is not measured")
        return
    bins = sum(len(f.bins) for f in settings.drift)
    rec.map("kserve.monitoring.drift", f"{len(settings.drift)} features, {bins} bins in KSERVE_BRIDGE_SETTINGS "
            f"(from {drift.reference}; the data stays out of the pod's settings): the model server counts "
            "kserve_bridge_feature_observations_total, manifests/monitoring computes PSI per feature")


def logger_field(logger: PayloadLogger, rec: Record) -> dict:
    """The CRD's LoggerSpec for one API."""
    out: dict = {"mode": logger.mode, "url": logger.url}
    sink = "CloudEvents over HTTP" if logger.url.startswith("http") else "objects in the bucket"
    rec.map("kserve.logger.url/mode", f"spec.predictor.logger: {logger.mode} payloads as {sink} to {logger.url}")
    headers = list(dict.fromkeys(canonical_header(h) for h in logger.metadata_headers))
    if headers:
        out["metadataHeaders"] = headers
        rec.map("kserve.logger.metadata_headers", f"logger.metadataHeaders {', '.join(headers)} (Go's "
                "canonical header spelling, as KServe's agent matches them)")
    out["metadataAnnotations"] = list(dict.fromkeys([*logger.metadata_annotations, DEPLOYMENT_ID_ANNOTATION]))
    rec.map("(deployment id on records)", f"annotation {DEPLOYMENT_ID_ANNOTATION} in logger.metadataAnnotations "
            "(ce-annotations of every record)")
    if logger.storage is not None:
        storage = logger.storage
        params = dict(storage.parameters)
        if storage.format:
            params["format"] = storage.format
        out["storage"] = {k: v for k, v in (("path", storage.path), ("key", storage.key),
                                            ("serviceAccountName", storage.service_account),
                                            ("parameters", params or None)) if v is not None}
        rec.map("kserve.logger.storage", "logger.storage (objects under <url>/<namespace>/<api>/predictor/"
                f"{storage.path or ''}, format {storage.format or params.get('format', 'json')})")
    if logger.batch_size is not None:
        out["batchSize"] = logger.batch_size
    if logger.batch_interval is not None:
        out["batchInterval"] = format_duration(logger.batch_interval)
    if logger.batch_size is not None or logger.batch_interval is not None:
        rec.map("kserve.logger.batch_size/batch_interval", "logger.batchSize/batchInterval")
    if logger.marshaller_url:
        out["marshallerUrl"] = logger.marshaller_url
        rec.map("kserve.logger.marshaller_url", "logger.marshallerUrl")
    return out
