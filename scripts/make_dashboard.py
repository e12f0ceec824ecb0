"""Write manifests/monitoring/dashboard.json, the Grafana dashboard of every kserve-bridge API.

Run `python scripts/make_dashboard.py` after changing a panel; tests/monitoring checks the
file is up to date and runs every query against a real Prometheus. Series of the model
server carry `namespace`, `api`, `revision_name` (PodMonitor relabelling, manifests/base);
Knative's carry `namespace_name`, `configuration_name` (= `<api>-predictor`), `revision_name`.
"""
from __future__ import annotations

import json
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "manifests" / "monitoring" / "dashboard.json"
SEL = 'namespace="$namespace",api="$api",revision_name=~"$revision"'
KN = 'namespace_name="$namespace",configuration_name="$api-predictor",revision_name=~"$revision"'
RATE = "[$__rate_interval]"
POSTS = f"kserve_bridge_requests_total{{{SEL},method=\"POST\"}}"
SERVED = f'kserve_bridge_request_duration_seconds_bucket{{{SEL},route!~"/metrics|/healthz|/readyz"}}'


def quantile(q: float, by: str = "revision_name") -> str:
    return f"histogram_quantile({q}, sum by ({by}, le) (rate({SERVED}{RATE})))"


API = 'namespace="$namespace",api="$api"'
OBSERVED, REFERENCE = "kserve_bridge:feature_observed_ratio:10m", "kserve_bridge:feature_reference_ratio"
ERROR_RATIO = (f"(sum by (revision_name) (rate(kserve_bridge_requests_total{{{SEL},method=\"POST\",code=~\"5..\"}}"
               f"{RATE})) or sum by (revision_name) (rate({POSTS}{RATE})) * 0)"
               f" / sum by (revision_name) (rate({POSTS}{RATE}))")
# (title, unit, [(expr, legend)], width); Knative panels are empty for RawDeployment APIs.
PANELS: list[tuple[str, str, list[tuple[str, str]], int]] = [
    ("Requests/s by status", "reqps",
     [(f"sum by (revision_name, code) (rate({POSTS}{RATE}))", "{{revision_name}} {{code}}")], 8),
    ("Error rate (5xx share)", "percentunit",
     [(ERROR_RATIO, "{{revision_name}}"),
      ('max(kserve_bridge_alert_threshold{namespace="$namespace",api="$api",threshold="error_ratio"})',
       "alert threshold")], 8),
    ("Latency p50 / p90 / p99", "s",
     [(quantile(0.5), "p50 {{revision_name}}"), (quantile(0.9), "p90 {{revision_name}}"),
      (quantile(0.99), "p99 {{revision_name}}"),
      ('max(kserve_bridge_alert_threshold{namespace="$namespace",api="$api",threshold="latency_p99_seconds"})',
       "p99 threshold")], 8),
    ("In-flight requests and 503s (max concurrency)", "short",
     [(f"sum by (revision_name) (kserve_bridge_requests_in_flight{{{SEL}}})", "in flight {{revision_name}}"),
      (f"sum by (revision_name) (rate(kserve_bridge_requests_total{{{SEL},code=\"503\"}}{RATE}))",
       "503/s {{revision_name}}")], 8),
    ("Batch size", "short",
     [(f"sum by (revision_name) (rate(kserve_bridge_batch_size_sum{{{SEL}}}{RATE})) / sum by (revision_name) "
       f"(rate(kserve_bridge_batch_size_count{{{SEL}}}{RATE}))", "mean {{revision_name}}"),
      (f"histogram_quantile(0.99, sum by (revision_name, le) (rate(kserve_bridge_batch_size_bucket{{{SEL}}}"
       f"{RATE})))", "p99 {{revision_name}}")], 8),
    ("Model load time", "s",
     [(f"max by (revision_name, pod) (kserve_bridge_model_load_seconds{{{SEL}}})", "{{revision_name}} {{pod}}")],
     8),
    ("Replicas (ready model servers; Knative actual and desired)", "short",
     [(f"sum by (revision_name) (kserve_bridge_api_ready{{{SEL}}})", "ready {{revision_name}}"),
      (f"sum by (revision_name) (autoscaler_actual_pods{{{KN}}})", "actual {{revision_name}}"),
      (f"sum by (revision_name) (autoscaler_desired_pods{{{KN}}})", "desired {{revision_name}}")], 8),
    ("Scale from zero (Knative)", "short",
     [(f"sum by (revision_name) (count_over_time(((autoscaler_actual_pods{{{KN}}} > 0) and "
       f"(autoscaler_actual_pods{{{KN}}} offset 1m == 0))[1h:1m]))", "scale-ups from zero, 1h {{revision_name}}"),
      (f"sum by (revision_name) (rate(activator_request_count{{{KN}}}{RATE}))",
       "requests via activator/s {{revision_name}}")], 8),
    ("Knative queue-proxy p99 (includes queueing)", "ms",
     [(f"histogram_quantile(0.99, sum by (revision_name, le) "
       f"(rate(revision_app_request_latencies_bucket{{{KN}}}{RATE})))", "p99 {{revision_name}}")], 8),
    ("Canary vs stable: traffic share", "percentunit",
     [(f"sum by (revision_name) (rate({POSTS}{RATE})) / ignoring (revision_name) group_left "
       f"sum(rate({POSTS}{RATE}))", "{{revision_name}}")], 12),
    ("Payload log: records sent and dropped", "short",
     [(f"sum by (revision_name) (rate(kserve_bridge_payload_log_records_total{{{SEL}}}{RATE}))",
       "sent/s {{revision_name}}"),
      (f"sum by (revision_name, reason) (rate(kserve_bridge_payload_log_dropped_total{{{SEL}}}{RATE}))",
       "dropped/s {{revision_name}} {{reason}}")], 12),
    ("Server processes: ready vs configured (processes_per_replica), restarts", "short",
     [(f"sum by (revision_name) (kserve_bridge_processes_ready{{{SEL}}})", "ready {{revision_name}}"),
      (f"sum by (revision_name) (kserve_bridge_processes{{{SEL}}})", "configured {{revision_name}}"),
      (f"sum by (revision_name) (increase(kserve_bridge_process_restarts_total{{{SEL}}}[15m]))",
       "restarts in 15m {{revision_name}}")], 12),
    # Drift (kserve.monitoring.drift): recording rules of manifests/monitoring, over 10 minutes, all revisions.
    ("Drift: PSI per feature (10m)", "short",
     [(f"max by (feature) (kserve_bridge:feature_psi:10m{{{API}}})", "{{feature}}"),
      (f'max(kserve_bridge_alert_threshold{{{API},threshold="drift_psi"}})', "alert threshold")], 8),
    ("Drift: observed minus reference share, per bin (10m)", "percentunit",
     [(f"{OBSERVED}{{{API}}} - on (namespace, api, feature, bin) {REFERENCE}{{{API}}}", "{{feature}} {{bin}}")],
     8),
    ("Drift: predictions, observed vs reference share (10m)", "percentunit",
     [(f'{OBSERVED}{{{API},feature="prediction"}}', "observed {{bin}}"),
      (f'{REFERENCE}{{{API},feature="prediction"}}', "reference {{bin}}")], 8),
]


def variable(name: str, query: str, multi: bool = False) -> dict:
    return {"name": name, "label": name, "type": "query", "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "query": {"query": query, "refId": name}, "definition": query, "refresh": 2, "sort": 1,
            "multi": multi, "includeAll": multi, **({"allValue": ".*"} if multi else {}),
            "current": {"text": "All", "value": "$__all"} if multi else {}}


def dashboard() -> dict:
    panels, x, y = [], 0, 0
    for number, (title, unit, targets, width) in enumerate(PANELS, start=1):
        if x + width > 24:
            x, y = 0, y + 8
        panels.append({
            "id": number, "type": "timeseries", "title": title, "gridPos": {"h": 8, "w": width, "x": x, "y": y},
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
            "targets": [{"refId": chr(65 + i), "expr": expr, "legendFormat": legend}
                        for i, (expr, legend) in enumerate(targets)]})
        x += width
    return {
        "uid": "kserve-bridge-apis", "title": "kserve-bridge APIs", "tags": ["kserve", "kserve-bridge"],
        "schemaVersion": 39, "version": 1, "editable": True, "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"}, "timezone": "utc", "panels": panels,
        "templating": {"list": [
            {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
             "current": {}},
            variable("namespace", "label_values(kserve_bridge_requests_total, namespace)"),
            variable("api", 'label_values(kserve_bridge_requests_total{namespace="$namespace"}, api)'),
            variable("revision", 'label_values(kserve_bridge_requests_total{namespace="$namespace",api="$api"}, '
                                 "revision_name)", multi=True)]},
        "annotations": {"list": []},
    }


def text() -> str:
    return json.dumps(dashboard(), indent=2) + "\n"


if __name__ == "__main__":
    OUT.write_text(text())
    print(f"wrote {OUT}")
