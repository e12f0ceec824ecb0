"""Drift against a REAL Prometheus scraping REAL model servers (examples/payload-logging, whose reference is
the iris training set): traffic drawn like the reference keeps every feature's PSI under 0.1; the same
traffic with sepal_width moved by half a standard deviation pushes that feature, and only it, above the
API's threshold (0.2) and raises KServeBridgeFeatureDrift. The two servers play the same API in two
namespaces, so the rules keep them apart."""
from __future__ import annotations

import math
import shutil

import pytest

from tests.monitoring.conftest import alerts, load_script

stack = load_script("monitoring_stack")
API, REQUESTS = "audited-iris", 400
FEATURES = {"sepal_length", "sepal_width", "petal_length", "petal_width", "prediction"}


@pytest.fixture(scope="module")
def prom(tmp_path_factory):
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus is not installed (apt-get install prometheus)")
    root = tmp_path_factory.mktemp("drift")
    project = stack.watched_project(root / "project")
    ports, servers = [stack.free_port(), stack.free_port()], []
    try:
        for port, name in zip(ports, ("calm", "shifted"), strict=True):
            servers.append(stack.serve(project, port, root / f"{name}.log"))
        prometheus = stack.Prometheus(root / "prometheus", [
            (port, {"namespace": name, "pod": f"{name}-1"}) for port, name in zip(ports, ("calm", "shifted"),
                                                                                   strict=True)])
        try:
            for port, shift in zip(ports, (None, {"sepal_width": 0.5}), strict=True):
                sent = stack.send(f"http://127.0.0.1:{port}/{API}", stack.reference_rows(project, REQUESTS, shift))
                assert sent == {200: REQUESTS}
            counted = (f'sum by (namespace) (kserve_bridge_feature_observations_total{{feature="prediction"}}) '
                       f'== {REQUESTS}')
            stack.wait_until(lambda: len(prometheus.query(counted)) == 2, 60, "Prometheus scraping every observation")
            scraped = max(float(r["value"][1]) for r in prometheus.query(
                "timestamp(kserve_bridge_feature_observations_total)"))
            stack.wait_until(lambda: drift_rules_evaluated(prometheus) > scraped, 60, "PSI of the final counts")
            yield prometheus
        finally:
            prometheus.stop()
    finally:
        for server in servers:
            stack.stop(server)


def drift_rules_evaluated(prom) -> float:
    """When Prometheus last evaluated the drift recording rules (seconds since the epoch)."""
    from datetime import datetime

    group = next(g for g in prom.api("rules")["groups"] if g["name"] == "kserve-bridge-drift")
    stamp = group["lastEvaluation"].rstrip("Z")
    whole, _, fraction = stamp.partition(".")
    return datetime.fromisoformat(whole + "+00:00").timestamp() + float("0." + (fraction or "0"))


def psi(prom, namespace: str) -> dict[str, float]:
    return {r["metric"]["feature"]: float(r["value"][1])
            for r in prom.query(f'kserve_bridge:feature_psi:10m{{namespace="{namespace}"}}')}


def test_reference_like_traffic_stays_under_0_1(prom):
    values = psi(prom, "calm")
    assert set(values) == FEATURES and all(math.isfinite(v) and v < 0.1 for v in values.values()), values


def test_the_shifted_feature_alone_rises_above_the_threshold(prom):
    values = psi(prom, "shifted")
    assert values["sepal_width"] > 0.2, values
    assert all(v < 0.1 for name, v in values.items() if name != "sepal_width"), values


def test_the_alert_names_the_shifted_feature_only(prom):
    firing = prom.query(alerts()["KServeBridgeFeatureDrift"])
    assert [(r["metric"]["namespace"], r["metric"]["feature"]) for r in firing] == [("shifted", "sepal_width")]
    pending = stack.wait_until(lambda: [a["labels"] for a in prom.api("alerts")["alerts"]
                                        if a["labels"]["alertname"] == "KServeBridgeFeatureDrift"], 60,
                               "the drift alert pending")
    assert [(a["namespace"], a["feature"]) for a in pending] == [("shifted", "sepal_width")]

