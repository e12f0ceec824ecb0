"""The PrometheusRule and the dashboard as files: promtool check/test rules, kustomize, freshness."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.monitoring.conftest import ALERTS_TEST, MONITORING, alerts, dashboard, load_script, recorded, rule_groups


def promtool_test(promtool: str, tmp_path: Path, groups: dict) -> subprocess.CompletedProcess:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(groups, sort_keys=False))
    shutil.copy(ALERTS_TEST, tmp_path / "alerts_test.yaml")
    return subprocess.run([promtool, "test", "rules", str(tmp_path / "alerts_test.yaml")], capture_output=True,
                          text=True, timeout=120)


def test_promtool_check_rules(promtool, tmp_path):
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule_groups()))
    result = subprocess.run([promtool, "check", "rules", str(tmp_path / "rules.yaml")], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alerts()) + len(recorded())} rules found" in result.stdout


def test_promtool_unit_tests_pass(promtool, tmp_path):
    result = promtool_test(promtool, tmp_path, rule_groups())
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_unit_tested_firing_and_quiet():
    """Each alert has a case where it fires and one where it must not (an empty exp_alerts)."""
    cases = [case for test in yaml.safe_load(ALERTS_TEST.read_text())["tests"] for case in test["alert_rule_test"]]
    for name in alerts():
        mine = [c for c in cases if c["alertname"] == name]
        assert any(c["exp_alerts"] for c in mine), f"{name}: no firing case"
        assert any(not c["exp_alerts"] for c in mine), f"{name}: no quiet case"


@pytest.mark.parametrize("alert", ["KServeBridgeHighErrorRate", "KServeBridgeHighLatencyP99"])
def test_unit_tests_catch_a_rule_that_ignores_the_per_api_threshold(promtool, tmp_path, alert):
    """Guards the tests above: comparing against a fixed number instead of the API's threshold fails them."""
    groups = rule_groups()
    rule = next(r for g in groups["groups"] for r in g["rules"] if r.get("alert") == alert)
    rule["expr"] = rule["expr"].split(" > on (namespace, api)")[0] + " > 0.01"
    result = promtool_test(promtool, tmp_path, groups)
    assert result.returncode != 0 and alert in result.stdout + result.stderr


def test_the_rules_psi_matches_numpy_on_the_unit_tests_counts():
    """The PSI the promtool test expects of the recording rule is numpy's on the same counts and shares."""
    import numpy as np

    case = next(t for t in yaml.safe_load(ALERTS_TEST.read_text())["tests"] if t.get("promql_expr_test"))
    series = {s["series"]: s["values"] for s in case["input_series"]}

    def per_minute(feature: str, metric: str) -> np.ndarray:
        """Bin -> the series' step per minute (counters) or value (shares), for api a."""
        out = {}
        for name, values in series.items():
            if name.startswith(metric + "{") and 'api="a"' in name and f'feature="{feature}"' in name:
                step = values.split("x")[0]
                out[name.split('bin="')[1].split('"')[0]] = float(step.split("+")[-1])
        return np.array([out[b] for b in sorted(out)])

    expected = {s["labels"].split('feature="')[1][0]: s["value"] for s in case["promql_expr_test"][0]["exp_samples"]
                if 'api="a"' in s["labels"]}
    for feature in ("x", "y"):
        counts = per_minute(feature, "kserve_bridge_feature_observations_total")
        reference = per_minute(feature, "kserve_bridge_feature_reference_ratio")
        observed = np.maximum(counts / counts.sum(), 1e-4)
        reference = np.maximum(reference, 1e-4)
        psi = np.sum((observed - reference) * np.log(observed / reference))
        assert round(psi * 1e9) == expected[feature], (feature, psi)  # the test's expression: round(1e9 * PSI)
    assert expected["x"] > 0.2e9 > expected["y"]


def test_dashboard_json_is_generated_from_the_script():
    assert (MONITORING / "dashboard.json").read_text() == load_script("make_dashboard").text(), (
        "dashboard.json is stale: run python scripts/make_dashboard.py")


def test_dashboard_has_template_variables_and_unique_panels():
    board = dashboard()
    assert [v["name"] for v in board["templating"]["list"]] == ["datasource", "namespace", "api", "revision"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert panel["targets"], panel["title"]
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24


def kustomize_monitoring() -> str:
    if not shutil.which("kubectl"):
        pytest.skip("kubectl is not installed")
    return subprocess.run(["kubectl", "kustomize", str(MONITORING)], check=True, text=True, capture_output=True,
                          timeout=60).stdout


def test_monitoring_manifests_pass_strict_validation(shared_dir):
    """The PrometheusRule has no CRD in ../shared/schemas: names are checked, the rules by promtool above."""
    result = subprocess.run([str(shared_dir / "tools" / "k8s-strict-validate"), "-"], input=kustomize_monitoring(),
                            text=True, capture_output=True, timeout=60)
    assert result.returncode == 0 and "2 accepted, 0 rejected" in result.stdout, result.stdout + result.stderr


def test_kustomize_builds_dashboard_configmap_and_rule():
    out = kustomize_monitoring()
    objects = {o["kind"]: o for o in yaml.safe_load_all(out)}
    config_map = objects["ConfigMap"]
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert yaml.safe_load(config_map["data"]["kserve-bridge.json"])["uid"] == dashboard()["uid"]
    assert objects["PrometheusRule"]["spec"] == rule_groups()
