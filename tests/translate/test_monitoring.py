"""kserve.logger and kserve.alerts: validation (every problem, with path and line), translation, --explain."""
from __future__ import annotations

import json

import pytest

from kserve_bridge.translator import explain, translate
from tests.spec.helpers import api, problems, project, run_cli

HTTP = "http://broker-ingress.knative-eventing/team-a/default"
P = "apis[0](iris).kserve."


def predictor_of(spec: list) -> dict:
    return translate(spec, deployment_id="d1")[0]["spec"]["predictor"]


def test_logger_becomes_the_crd_logger_with_go_header_spelling_and_the_deployment_id():
    obj = translate([api(kserve={"logger": {"url": HTTP, "metadata_headers": ["x-request-id", "X-REQUEST-ID",
                                                                              "traceparent"]}})],
                    deployment_id="d1")[0]
    assert obj["spec"]["predictor"]["logger"] == {
        "mode": "all", "url": HTTP, "metadataHeaders": ["X-Request-Id", "Traceparent"],
        "metadataAnnotations": ["kserve-bridge.io/deployment-id"]}
    assert obj["metadata"]["annotations"]["kserve-bridge.io/deployment-id"] == "d1"


def test_bucket_logger_carries_storage_and_batching():
    logger = predictor_of([api(kserve={"logger": {
        "url": "gs://audit/records", "mode": "request", "storage": {"path": "iris", "format": "csv"},
        "batch_size": 50, "batch_interval": "1m30s", "metadata_annotations": ["example.com/team"]}})])["logger"]
    assert logger["storage"] == {"path": "iris", "parameters": {"format": "csv"}}
    assert (logger["batchSize"], logger["batchInterval"], logger["mode"]) == (50, "90s", "request")  # a Go duration
    assert logger["metadataAnnotations"] == ["example.com/team", "kserve-bridge.io/deployment-id"]


def test_no_logger_no_change():
    obj = translate([api()], deployment_id="d1")[0]
    assert "logger" not in obj["spec"]["predictor"]
    assert "kserve-bridge.io/deployment-id" not in obj["metadata"]["annotations"]


def test_alert_thresholds_reach_the_model_server_env():
    env = {e["name"]: e["value"] for e in predictor_of([api(kserve={"alerts": {"latency_p99": "300ms"}})])
           ["model"]["env"]}
    assert json.loads(env["KSERVE_BRIDGE_ALERTS"]) == {"latency_p99_seconds": 0.3, "error_ratio": 0.05,
                                                       "drift_psi": 0.2}
    assert "KSERVE_BRIDGE_ALERTS" not in {e["name"] for e in predictor_of([api()])["model"]["env"]}


def test_explain_names_what_logger_alerts_and_monitoring_became():
    text = explain([api(kserve={"logger": {"url": HTTP, "metadata_headers": ["x-caller"]},
                                "alerts": {"error_rate": 0.02}},
                        monitoring={"model_type": "classification", "key": "label"})], deployment_id="d1")
    assert "kserve.logger.url/mode" in text and f"all payloads as CloudEvents over HTTP to {HTTP}" in text
    assert "logger.metadataHeaders X-Caller" in text
    assert "kserve.alerts" in text and "kserve_bridge_alert_threshold" in text
    assert "monitoring" in text.split("not carried over:")[1] and "kserve.logger" in text.split("not carried")[1]


@pytest.mark.parametrize("logger,path,message", [
    ({"url": "ftp://x/y"}, "logger.url", "http(s):// CloudEvents receiver"),
    ({"url": "broker.local"}, "logger.url", "http(s):// CloudEvents receiver"),
    ({"url": HTTP, "storage": {"path": "p"}}, "logger.storage", "applies to a bucket url"),
    ({"url": HTTP, "batch_size": 10}, "logger.batch_size", "applies to a bucket url"),
    ({"url": "s3://b/p", "batch_interval": "5s"}, "logger.batch_interval", "needs batch_size > 1"),
    ({"url": HTTP, "mode": "both"}, "logger.mode", "input should be"),
    ({"url": HTTP, "metadata_headers": ["bad header"]}, "logger.metadata_headers[0]", "pattern"),
    ({"url": "s3://b", "storage": {"format": "xml"}}, "logger.storage.format", "input should be"),
    ({"mode": "all"}, "logger.url", "required"),
])
def test_invalid_logger_is_reported_with_its_path(logger, path, message):
    found = problems([api(kserve={"logger": logger})])
    assert any(P + path in p and message.lower() in p.lower() for p in found), found


@pytest.mark.parametrize("alerts,path", [({"error_rate": 1.5}, "alerts.error_rate"),
                                          ({"latency_p99": "soon"}, "alerts.latency_p99"),
                                          ({"p99": "1s"}, "alerts.p99")])
def test_invalid_alerts_are_reported(alerts, path):
    assert any(P + path in p for p in problems([api(kserve={"alerts": alerts})]))


def test_logger_on_a_splitter_is_rejected():
    found = problems([api(name="a"), {"name": "s", "kind": "TrafficSplitter", "kserve": {"logger": {"url": HTTP}},
                                      "apis": [{"name": "a", "weight": 100}]}])
    assert any("apis[1](s).kserve.logger" in p and "per RealtimeAPI" in p for p in found), found


def test_cli_lists_every_logger_problem_with_its_line(tmp_path):
    root = project(tmp_path, f"""- name: iris
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
  kserve:
    logger:
      url: {HTTP}
      storage:
        path: records
      batch_size: 5
""")
    code, out = run_cli(["validate", str(root)])
    assert code == 2 and "Traceback" not in out
    assert "cortex.yaml:9: apis[0](iris).kserve.logger.storage: applies to a bucket url" in out
    assert "cortex.yaml:11: apis[0](iris).kserve.logger.batch_size: applies to a bucket url" in out
